"""Figures for a campaign's lead: who labelled how much, how fast, how well, and when.

>>> frames = campaign_frames(store.campaign("fr"))   # doctest: +SKIP
>>> frames["annotators"]                              # doctest: +SKIP
>>> campaign_report(store.campaign("fr"))["per_annotator"]["alice"]   # doctest: +SKIP

All figures come from live (not retracted) annotations and the campaign's item table:

``annotators`` (one row per annotator)
    ``n_annotations`` (gold ones included), ``first``/``last`` (UTC times of their first
    and last annotation), ``median_seconds`` (median of ``ended - started`` over their
    annotations that have both times; NaN if none do), ``n_gold``/``gold_correct``/
    ``gold_accuracy`` (their answers to the class question on gold items and the fraction
    equal to the gold answer; NaN without any), ``n_compared``/``agreement`` (on ordinary
    items with at least two annotations: the fraction of their class-question answers equal
    to the majority consensus of that item, their own vote included; NaN without any).
``days`` (one row per UTC day with activity)
    ``annotations`` made that day, ``retirements`` (ordinary items whose retirement count
    was reached that day: the time of an item's ``retire_at``-th live annotation),
    ``annotators`` active, and the running totals ``total_annotations``/``total_retired``.
``timeline`` (one row per event, in time order)
    ``time``, ``kind`` (``annotation``/``retirement``), running ``annotations`` and
    ``retired``: the campaign's progress over time.
``items`` (one row per annotated ordinary item)
    ``n_annotations``, ``agreement`` (the majority answer's share of the class-question
    votes), ``label`` and ``retired``.

Agreement figures need an item-level choice class question (RGZ's morphology is asked per
source): for other schemes they are NaN/empty. Gold items are measured by gold accuracy and
left out of agreement, retirements and ``items``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from workbench.labeling import consensus as C

__all__ = ["campaign_frames", "campaign_report", "annotator_table", "daily_table",
           "timeline_table", "item_table", "ANNOTATOR_COLUMNS", "DAY_COLUMNS"]

ANNOTATOR_COLUMNS = {
    "annotator": "string", "n_annotations": "int64", "first": "datetime64[us, UTC]",
    "last": "datetime64[us, UTC]", "median_seconds": "float64", "n_gold": "int64",
    "gold_correct": "int64", "gold_accuracy": "float64", "n_compared": "int64",
    "agreement": "float64",
}
DAY_COLUMNS = {
    "date": "string", "annotations": "int64", "retirements": "int64", "annotators": "int64",
    "total_annotations": "int64", "total_retired": "int64",
}
TIMELINE_COLUMNS = {"time": "datetime64[us, UTC]", "kind": "string", "annotations": "int64",
                    "retired": "int64"}
ITEM_COLUMNS = {"item_id": "string", "n_annotations": "int64", "agreement": "float64",
                "label": "string", "retired": "bool"}


def _class_question(scheme):
    qid = scheme.class_question
    if qid is None:
        return None
    q = scheme.question(qid)
    return qid if q.type == "choice" and q.scope == "item" else None


def _answer_of(answers, qid):
    return answers.get(qid) if qid is not None and isinstance(answers, Mapping) else None


def item_table(ann: pd.DataFrame, scheme, items: pd.DataFrame) -> pd.DataFrame:
    """Majority consensus of the class question per annotated ordinary item (see the
    module docstring)."""
    qid = _class_question(scheme)
    ordinary = items.loc[~items["gold"], ["item_id", "retired"]]
    ann = ann[ann["item_id"].isin(set(ordinary["item_id"]))]
    if qid is None or not len(ann):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ITEM_COLUMNS.items()})
    cons = C.majority(ann, scheme, item_ids=list(ordinary["item_id"]), questions=[qid])
    out = cons[["item_id", "n_annotations"]].copy()
    out["agreement"] = cons[f"{qid}_agreement"].to_numpy()
    out["label"] = cons[qid].to_numpy()
    out["retired"] = out["item_id"].map(ordinary.set_index("item_id")["retired"]) \
        .fillna(False).to_numpy(dtype=bool)
    return out.astype(ITEM_COLUMNS).reset_index(drop=True)


def annotator_table(ann: pd.DataFrame, scheme, *, gold: Mapping,
                    items_consensus: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-annotator figures (columns :data:`ANNOTATOR_COLUMNS`); see the module docstring.

    ``items_consensus`` is :func:`item_table`'s result (computed when not given).
    """
    if not len(ann):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ANNOTATOR_COLUMNS.items()})
    qid = _class_question(scheme)
    gold = {str(k): v for k, v in gold.items()}
    df = ann[["item_id", "annotator", "answers", "started", "ended", "created"]].copy()
    df["item_id"] = df["item_id"].astype(str)
    df["answer"] = [_answer_of(a, qid) for a in df["answers"]]
    secs = (df["ended"] - df["started"]).dt.total_seconds()
    df["seconds"] = secs.where(secs >= 0)
    is_gold = df["item_id"].isin(list(gold))
    df["gold_answered"] = is_gold & df["answer"].notna()
    right = np.array([gold.get(i) == a for i, a in zip(df["item_id"], df["answer"])], bool)
    df["gold_right"] = df["gold_answered"].to_numpy() & right
    if items_consensus is None and qid is not None:
        items_consensus = item_table(ann, scheme, pd.DataFrame(
            {"item_id": df["item_id"].unique(), "retired": False,
             "gold": pd.Series(df["item_id"].unique()).isin(list(gold)).to_numpy()}))
    if qid is not None and items_consensus is not None and len(items_consensus):
        ic = items_consensus[items_consensus["n_annotations"] >= 2].set_index("item_id")
        label = df["item_id"].map(ic["label"].astype(object))
        df["compared"] = (~is_gold) & label.notna() & df["answer"].notna()
        same = np.array([x == y for x, y in zip(df["answer"], label)], bool)
        df["agrees"] = df["compared"].to_numpy() & same
    else:
        df["compared"] = False
        df["agrees"] = False
    g = df.groupby("annotator", sort=True)
    out = pd.DataFrame({
        "n_annotations": g.size(), "first": g["created"].min(), "last": g["created"].max(),
        "median_seconds": g["seconds"].median(), "n_gold": g["gold_answered"].sum(),
        "gold_correct": g["gold_right"].sum(), "n_compared": g["compared"].sum(),
        "n_agree": g["agrees"].sum()})
    out["gold_accuracy"] = (out["gold_correct"] / out["n_gold"]).where(out["n_gold"] > 0)
    out["agreement"] = (out["n_agree"] / out["n_compared"]).where(out["n_compared"] > 0)
    out = out.reset_index()
    return out[list(ANNOTATOR_COLUMNS)].astype(ANNOTATOR_COLUMNS)


def _retirement_times(ann: pd.DataFrame, items: pd.DataFrame) -> pd.Series:
    """UTC time each retired ordinary item reached its retirement count."""
    retired = items.loc[items["retired"] & ~items["gold"]].set_index("item_id")["retire_at"]
    if not len(retired) or not len(ann):
        return pd.Series(dtype="datetime64[us, UTC]")
    a = ann.loc[ann["item_id"].isin(set(retired.index)), ["item_id", "created", "id"]]
    a = a.sort_values(["created", "id"], kind="stable")
    a["k"] = a.groupby("item_id").cumcount() + 1
    a["need"] = a["item_id"].map(retired).to_numpy()
    hit = a[a["k"] == a["need"]].set_index("item_id")["created"]
    return hit.sort_values()


def timeline_table(ann: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Progress over time (columns ``time``, ``kind``, running ``annotations`` and
    ``retired``), one row per annotation or retirement, in time order."""
    t_ann = pd.DataFrame({"time": ann["created"], "kind": "annotation"}) if len(ann) else \
        pd.DataFrame({"time": pd.Series(dtype="datetime64[us, UTC]"), "kind": []})
    ret = _retirement_times(ann, items)
    t_ret = pd.DataFrame({"time": ret.to_numpy(), "kind": "retirement"})
    ev = pd.concat([t_ann, t_ret], ignore_index=True)
    ev["time"] = pd.to_datetime(ev["time"], utc=True)
    # a retirement happens with the annotation that causes it: annotations sort first
    ev["_o"] = (ev["kind"] == "retirement").astype(int)
    ev = ev.sort_values(["time", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    ev["annotations"] = (ev["kind"] == "annotation").cumsum()
    ev["retired"] = (ev["kind"] == "retirement").cumsum()
    return ev.astype(TIMELINE_COLUMNS)


def daily_table(ann: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day with activity (columns :data:`DAY_COLUMNS`)."""
    ret = _retirement_times(ann, items)
    day_a = ann["created"].dt.strftime("%Y-%m-%d") if len(ann) else pd.Series(dtype=str)
    day_r = ret.dt.strftime("%Y-%m-%d") if len(ret) else pd.Series(dtype=str)
    days = sorted(set(day_a) | set(day_r))
    n_a = day_a.value_counts()
    n_r = day_r.value_counts()
    who = ann.groupby(day_a)["annotator"].nunique() if len(ann) else pd.Series(dtype="int64")
    out = pd.DataFrame({"date": days})
    out["annotations"] = [int(n_a.get(d, 0)) for d in days]
    out["retirements"] = [int(n_r.get(d, 0)) for d in days]
    out["annotators"] = [int(who.get(d, 0)) for d in days]
    out["total_annotations"] = np.cumsum(out["annotations"].to_numpy(dtype=np.int64))
    out["total_retired"] = np.cumsum(out["retirements"].to_numpy(dtype=np.int64))
    return out.astype(DAY_COLUMNS)


def campaign_frames(campaign) -> dict:
    """The campaign's figures as DataFrames: ``annotators``, ``days``, ``timeline``,
    ``items`` (see the module docstring)."""
    ann = campaign.annotations()
    ann["item_id"] = ann["item_id"].astype(str)
    items = campaign.items()
    items["item_id"] = items["item_id"].astype(str)
    scheme = campaign.scheme
    it = item_table(ann, scheme, items)
    return {"annotators": annotator_table(ann, scheme, gold=campaign.gold, items_consensus=it),
            "days": daily_table(ann, items), "timeline": timeline_table(ann, items),
            "items": it}


def _num(v):
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.tz_convert("UTC").tz_localize(None).isoformat() + "Z"
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if not np.isfinite(v) else float(v)
    return v


def campaign_report(campaign) -> dict:
    """:meth:`Campaign.status` plus ``per_annotator`` (name -> n_annotations, first, last,
    median_seconds, n_gold, gold_accuracy, agreement) and ``per_day`` (a list of date,
    annotations, retirements, annotators, total_annotations, total_retired) and
    ``agreement`` (median and item count of the per-item agreement); JSON-safe, NaN as
    null, times as ISO UTC strings."""
    out = campaign.status()
    fr = campaign_frames(campaign)
    per = {}
    for r in fr["annotators"].itertuples(index=False):
        per[str(r.annotator)] = {k: _num(getattr(r, k)) for k in (
            "n_annotations", "first", "last", "median_seconds", "n_gold", "gold_accuracy",
            "n_compared", "agreement")}
    out["per_annotator"] = per
    out["per_day"] = [{k: _num(v) for k, v in row.items()}
                      for row in fr["days"].to_dict("records")]
    multi = fr["items"][fr["items"]["n_annotations"] >= 2]["agreement"]
    out["agreement"] = {"n_items": int(len(multi)),
                        "median": _num(float(multi.median())) if len(multi) else None}
    return out
