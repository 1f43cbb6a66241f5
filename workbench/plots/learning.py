"""Active-learning charts: the learning curve, per-class metrics and the confusion matrix.

>>> from workbench.plots import learning_curve, per_class, confusion    # doctest: +SKIP
>>> learning_curve(loop) + confusion(loop)                              # doctest: +SKIP

Each function reads what :class:`workbench.active.loop.ActiveLoop` records for its rounds
(``loop.history()`` and ``loop.record(k)``: ``metrics`` with ``accuracy``,
``balanced_accuracy``, ``per_class`` and ``confusion``, rows true and columns predicted, see
:func:`workbench.learn.evaluate.evaluate`) and never writes anything.
:func:`learning_curve` also takes the result dict of
:func:`workbench.active.oracle.simulate_strategies` (mean curve per strategy, shaded by
its 95% bootstrap band). :func:`per_class` and :func:`confusion` take a loop (every round,
with a slider over rounds; ``round=k`` for one) or one round record (a dict).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.core.errors import InputError
from workbench.plots._style import bokeh_backend

__all__ = ["learning_curve", "per_class", "confusion", "learning_data", "confusion_data",
           "per_class_data"]

_METRICS = ("precision", "recall", "f1")


# --------------------------------------------------------------------------- data
def learning_data(loop) -> pd.DataFrame:
    """The learning curve as a long table: ``series``, ``n_labels``, ``accuracy``, ``lo``,
    ``hi`` (the band; equal to ``accuracy`` where there is none), ``round`` and
    ``strategy`` (a loop's rounds; NaN / the series name for a simulation)."""
    if isinstance(loop, dict):
        if "mean" not in loop:
            raise InputError("a learning-curve dict must be a simulate_strategies result "
                             "(with 'mean')", hint="or pass an ActiveLoop")
        parts = []
        for s, m in loop["mean"].items():
            a = np.asarray(m["accuracy"], float)
            if "accuracy_ci" in m:
                lo, hi = (np.asarray(v, float) for v in m["accuracy_ci"])
            else:
                sd = np.asarray(m.get("accuracy_std", np.zeros_like(a)), float)
                lo, hi = a - sd, a + sd
            parts.append(pd.DataFrame({"series": s, "n_labels": np.asarray(m["n_labels"]),
                                       "accuracy": a, "lo": lo, "hi": hi,
                                       "round": np.nan, "strategy": s}))
        return (pd.concat(parts, ignore_index=True) if parts else
                pd.DataFrame(columns=["series", "n_labels", "accuracy", "lo", "hi", "round",
                                      "strategy"]))
    hist = loop.history() if hasattr(loop, "history") else pd.DataFrame(loop)
    parts = []
    for col, name in (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy")):
        if col not in hist or not hist[col].notna().any():
            continue
        v = hist[col].astype(float).to_numpy()
        parts.append(pd.DataFrame({"series": name, "n_labels": hist["n_train"].to_numpy(),
                                   "accuracy": v, "lo": v, "hi": v,
                                   "round": hist["round"].to_numpy(),
                                   "strategy": hist["strategy"].astype(str).to_numpy()}))
    return (pd.concat(parts, ignore_index=True) if parts else
            pd.DataFrame(columns=["series", "n_labels", "accuracy", "lo", "hi", "round",
                                  "strategy"]))


def _records(loop, round_: int | None) -> dict:
    """{round: record} of a loop (every round, or one), or of one record dict."""
    if isinstance(loop, dict):
        if "metrics" not in loop:
            raise InputError("a round record must hold 'metrics' (ActiveLoop.record(k))")
        return {int(loop.get("round", 0)): loop}
    ks = [round_] if round_ is not None else loop.rounds()
    if round_ is not None and round_ not in loop.rounds():
        raise InputError(f"there is no round {round_}", hint=f"rounds: {loop.rounds()}")
    return {int(k): loop.record(k) for k in ks}


def confusion_data(record: dict, *, normalize: bool = False) -> pd.DataFrame:
    """One round's confusion matrix as a long table: ``true``, ``predicted``, ``count``,
    ``fraction`` (of the true class's items; NaN for a class with none)."""
    m = record["metrics"]
    classes = [str(c) for c in (m.get("classes") or record.get("classes") or [])]
    conf = np.asarray(m.get("confusion", []), dtype=np.int64).reshape(len(classes),
                                                                      len(classes))
    tot = conf.sum(1, keepdims=True)
    frac = np.where(tot > 0, conf / np.maximum(tot, 1), np.nan)
    t, p = np.meshgrid(np.arange(len(classes)), np.arange(len(classes)), indexing="ij")
    return pd.DataFrame({"true": np.asarray(classes, object)[t.ravel()] if classes else [],
                         "predicted": np.asarray(classes, object)[p.ravel()] if classes else [],
                         "count": conf.ravel(), "fraction": frac.ravel()})


def per_class_data(record: dict) -> pd.DataFrame:
    """One round's per-class metrics as a long table: ``class``, ``metric``, ``value``,
    ``support``."""
    rows = [{"class": str(c), "metric": k, "value": float(v[k]), "support": int(v["support"])}
            for c, v in record["metrics"].get("per_class", {}).items() for k in _METRICS]
    return pd.DataFrame(rows, columns=["class", "metric", "value", "support"])


# --------------------------------------------------------------------------- views
def learning_curve(loop, *, width: int = 520, height: int = 320):
    """Held-out accuracy against the number of training labels.

    ``loop``: an :class:`~workbench.active.loop.ActiveLoop` (one point per round, accuracy
    and balanced accuracy; hover shows the round and its strategy), its ``history()`` frame,
    or a :func:`~workbench.active.oracle.simulate_strategies` result (the mean curve of
    each strategy with its 95% band over seeds, and the target accuracy of its
    ``labels_needed`` as a dotted line). Returns a HoloViews Overlay (see
    :func:`learning_data` for the numbers it draws).
    """
    hv = bokeh_backend()
    d = learning_data(loop)
    layers = []
    for name, g in d.groupby("series", sort=False):
        g = g.sort_values("n_labels")
        if (g["hi"] > g["lo"]).any():
            layers.append(hv.Area(g, "n_labels", ["lo", "hi"], label=str(name)).opts(
                alpha=0.18, line_alpha=0))
        vd = ["accuracy", "round", "strategy"]
        layers.append(hv.Curve(g, "n_labels", vd, label=str(name)))
        layers.append(hv.Scatter(g, "n_labels", vd, label=str(name)).opts(size=6,
                                                                         tools=["hover"]))
    tgt = loop.get("labels_needed", {}).get("target_accuracy") if isinstance(loop, dict) \
        else None
    if tgt is not None:
        layers.append(hv.HLine(float(tgt)).opts(line_dash="dotted", color="grey"))
    if not layers:
        layers = [hv.Curve([], "n_labels", "accuracy")]
    return hv.Overlay(layers).opts(
        hv.opts.Overlay(title="learning curve", width=width, height=height,
                        xlabel="training labels", ylabel="held-out accuracy",
                        legend_position="bottom_right", ylim=(0, 1.02)))


def confusion(loop, *, round: int | None = None, normalize: bool = True,  # noqa: A002
              width: int = 380, height: int = 340):
    """The confusion matrix (true class down, predicted across) of an active-learning round.

    Cells are coloured by the share of the true class (``normalize=True``) or by count,
    and labelled with the count; hover shows both. ``loop``: an ActiveLoop (a HoloMap over
    its rounds, a slider over round numbers; ``round=k`` gives one round) or one round record.
    """
    hv = bokeh_backend()
    recs = _records(loop, round)

    def one(rec):
        d = confusion_data(rec)
        classes = list(dict.fromkeys(d["true"]))
        val = "fraction" if normalize else "count"
        heat = hv.HeatMap(d, ["predicted", "true"], [val, "count" if normalize else "fraction"])
        text = hv.Labels(d, ["predicted", "true"], "count")
        return (heat * text).opts(
            hv.opts.HeatMap(cmap="Blues", tools=["hover"], colorbar=True, width=width,
                            height=height, title=f"confusion, round {rec.get('round', '')}",
                            xlabel="predicted", ylabel="true", invert_yaxis=True,
                            clim=(0, 1) if normalize else (None, None), xrotation=30),
            hv.opts.Labels(text_font_size="9pt", text_color="black"),
            hv.opts.Overlay(default_span=1)) if classes else hv.HeatMap([]).opts(
                title="confusion (no round yet)", width=width, height=height)

    if round is not None or isinstance(loop, dict):
        return one(next(iter(recs.values())))
    if not recs:
        return hv.HeatMap([]).opts(title="confusion (no round yet)", width=width,
                                   height=height)
    return hv.HoloMap({k: one(r) for k, r in recs.items()}, kdims=["round"])


def per_class(loop, *, round: int | None = None, width: int = 520,  # noqa: A002
              height: int = 320):
    """Precision, recall and F1 of each class (grouped bars; hover shows the support) of an
    active-learning round. ``loop`` as in :func:`confusion`."""
    hv = bokeh_backend()
    recs = _records(loop, round)

    def one(rec):
        d = per_class_data(rec)
        return hv.Bars(d, ["class", "metric"], ["value", "support"]).opts(
            width=width, height=height, ylim=(0, 1.02), tools=["hover"], multi_level=True,
            title=f"per class, round {rec.get('round', '')}", ylabel="held-out value",
            xlabel="", color=hv.dim("metric"), cmap="Category10")

    if round is not None or isinstance(loop, dict):
        return one(next(iter(recs.values())))
    if not recs:
        return hv.Bars([], ["class", "metric"], "value").opts(
            title="per class (no round yet)", width=width, height=height)
    return hv.HoloMap({k: one(r) for k, r in recs.items()}, kdims=["round"])
