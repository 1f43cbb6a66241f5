"""Campaign figures for the lead, on a hand-worked campaign (times set in the database)."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import sqlalchemy as sa

from workbench.io.labels import LabelStore
from workbench.io.labels import schema as S
from workbench.labeling.report import campaign_frames, campaign_report

T0 = dt.datetime(2025, 3, 1, 9, 0, 0)


def _campaign(url):
    s = LabelStore(url)
    camp = s.create_campaign("r", "transient", ["a", "b", "c", "g"], retire=2,
                             gold={"g": "frb"}, gold_rate=0.2)
    plan = [  # who, item, class, seconds spent, day
        ("ada", "a", "frb", 4, 0), ("ada", "b", "frb", 10, 0), ("ada", "g", "frb", 2, 0),
        ("bo", "a", "frb", 6, 1), ("bo", "b", "pulsar", 8, 1), ("bo", "g", "noise", 20, 1),
        ("cy", "b", "frb", None, 2),
    ]
    ids = []
    for k, (who, item, cls, secs, day) in enumerate(plan):
        end = T0 + dt.timedelta(days=day, minutes=k)
        start = None if secs is None else end - dt.timedelta(seconds=secs)
        ids.append(camp.annotate(item, {"class": cls}, annotator=who, started=start,
                                 ended=end))
    with s.engine.connect().execution_options(wb_write=True) as conn, conn.begin():
        for k, aid in enumerate(ids):
            conn.execute(S.annotations.update().where(S.annotations.c.id == aid).values(
                created=T0 + dt.timedelta(days=plan[k][4], minutes=k)))
    return s, camp


def test_per_annotator_figures(store_url):
    _, camp = _campaign(store_url)
    ann = campaign_frames(camp)["annotators"].set_index("annotator")
    assert list(ann.index) == ["ada", "bo", "cy"]
    assert list(ann["n_annotations"]) == [3, 3, 1]
    assert ann.loc["ada", "median_seconds"] == 4.0 and ann.loc["bo", "median_seconds"] == 8.0
    assert math.isnan(ann.loc["cy", "median_seconds"])
    assert ann.loc["ada", "gold_accuracy"] == 1.0 and ann.loc["bo", "gold_accuracy"] == 0.0
    assert ann.loc["cy", "n_gold"] == 0 and math.isnan(ann.loc["cy", "gold_accuracy"])
    # majority: a -> frb (2 of 2), b -> frb (2 of 3); gold g is left out of agreement
    assert list(ann["n_compared"]) == [2, 2, 1]
    assert list(ann["agreement"]) == [1.0, 0.5, 1.0]
    assert ann.loc["ada", "first"] == pd.Timestamp(T0, tz="UTC")
    assert ann.loc["bo", "last"] == pd.Timestamp(T0 + dt.timedelta(days=1, minutes=5), tz="UTC")


def test_per_day_timeline_and_items(store_url):
    _, camp = _campaign(store_url)
    fr = campaign_frames(camp)
    days = fr["days"]
    assert list(days["date"]) == ["2025-03-01", "2025-03-02", "2025-03-03"]
    assert list(days["annotations"]) == [3, 3, 1]
    assert list(days["retirements"]) == [0, 2, 0]  # a and b reach 2 votes with bo's
    assert list(days["annotators"]) == [1, 1, 1]
    assert list(days["total_retired"]) == [0, 2, 2]
    tl = fr["timeline"]
    assert list(tl["kind"]).count("retirement") == 2 and len(tl) == 9
    assert tl["annotations"].iloc[-1] == 7 and tl["retired"].iloc[-1] == 2
    first_ret = tl.index[tl["kind"] == "retirement"][0]
    assert tl.loc[first_ret, "annotations"] == 4  # a retired with the 4th annotation
    items = fr["items"].set_index("item_id")
    assert list(items.index) == ["a", "b"]  # ordinary, annotated; gold g left out
    assert items.loc["a", "agreement"] == 1.0 and items.loc["b", "agreement"] == 2 / 3
    assert items["retired"].all() and list(items["label"]) == ["frb", "frb"]


def test_report_is_json_safe(store_url):
    _, camp = _campaign(store_url)
    rep = json.loads(json.dumps(campaign_report(camp)))
    assert rep["n_items"] == 3 and rep["n_gold"] == 1 and rep["n_retired"] == 2
    assert rep["per_annotator"]["bo"]["gold_accuracy"] == 0.0
    assert rep["per_annotator"]["cy"]["median_seconds"] is None
    assert rep["per_annotator"]["ada"]["first"] == "2025-03-01T09:00:00Z"
    assert [d["retirements"] for d in rep["per_day"]] == [0, 2, 0]
    assert rep["agreement"] == {"n_items": 2, "median": (1.0 + 2 / 3) / 2}


def test_empty_campaign_and_rgz(tmp_path):
    s = LabelStore(tmp_path / "l.sqlite")
    camp = s.create_campaign("e", "fr-morphology", ["a"])
    fr = campaign_frames(camp)
    assert all(len(v) == 0 for v in fr.values())
    rep = campaign_report(camp)
    assert rep["per_annotator"] == {} and rep["per_day"] == []
    rgz = s.create_campaign("z", "rgz", ["x"], retire=1)
    rgz.annotate("x", {"no_contours": True}, annotator="ada", started=T0, ended=T0)
    ann = campaign_frames(rgz)["annotators"]
    assert ann["n_annotations"].tolist() == [1] and math.isnan(ann["agreement"].iloc[0])
    assert sa is not None
