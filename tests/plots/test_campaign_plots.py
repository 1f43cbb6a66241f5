"""The campaign dashboard: the data behind each panel, and that Bokeh draws it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest

from workbench.io.labels import LabelStore
from workbench.io.labels import schema as S

T0 = dt.datetime(2025, 3, 1, 9, 0, 0)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = LabelStore(tmp_path_factory.mktemp("plots") / "l.sqlite")
    camp = s.create_campaign("r", "transient", ["a", "b", "c", "g"], retire=2,
                             gold={"g": "frb"}, gold_rate=0.2)
    plan = [("ada", "a", "frb", 0), ("ada", "b", "frb", 0), ("ada", "g", "frb", 0),
            ("bo", "a", "frb", 1), ("bo", "b", "pulsar", 1), ("bo", "g", "noise", 1),
            ("cy", "b", "frb", 2)]
    ids = [camp.annotate(item, {"class": cls}, annotator=who,
                         started=T0 + dt.timedelta(days=day, minutes=k),
                         ended=T0 + dt.timedelta(days=day, minutes=k, seconds=5 + k))
           for k, (who, item, cls, day) in enumerate(plan)]
    with s.engine.connect().execution_options(wb_write=True) as conn, conn.begin():
        for k, aid in enumerate(ids):
            conn.execute(S.annotations.update().where(S.annotations.c.id == aid).values(
                created=T0 + dt.timedelta(days=plan[k][3], minutes=k)))
    return s


def test_dashboard_data(store):
    from workbench.plots.campaign import campaign_data

    d = campaign_data(store, "r")
    prog = d["progress"]
    assert list(prog["annotations"])[-1] == 7 and list(prog["retired"])[-1] == 2
    assert prog["time"].is_monotonic_increasing and prog["time"].dt.tz is None
    assert list(d["retired"]["retirements"]) == [0, 2, 0]
    assert list(d["retired"]["date"]) == ["2025-03-01", "2025-03-02", "2025-03-03"]
    ag = d["agreement"]
    assert ag["items"].sum() == 2  # a (2 of 2 agree) and b (2 of 3); gold g left out
    assert ag.loc[ag["left"].round(1) == 0.9, "items"].item() == 1  # 1.0 in the last bin
    assert ag.loc[ag["left"].round(1) == 0.6, "items"].item() == 1  # 2/3
    t = d["annotators"].set_index("annotator")
    assert list(t.index) == ["ada", "bo", "cy"]
    assert list(t["annotations"]) == [3, 3, 1]
    assert t.loc["ada", "gold accuracy"] == 100 and t.loc["bo", "gold accuracy"] == 0
    assert np.isnan(t.loc["cy", "gold accuracy"])
    assert list(t["agreement"]) == [100, 50, 100]
    assert t.loc["ada", "median s"] == 6.0  # 5, 6 and 7 seconds


def test_dashboard_layout_holds_that_data_and_renders(store):
    import holoviews as hv

    from workbench.plots.campaign import campaign, campaign_data

    d = campaign_data(store, "r")
    lay = campaign(store, "r")
    assert isinstance(lay, hv.Layout) and len(lay) == 4
    progress, retired, agreement, table = lay
    curves = {c.label: c for c in progress}
    assert list(curves["annotations"].dimension_values("annotations")) == \
        list(d["progress"]["annotations"])
    assert list(curves["retired items"].dimension_values("retired")) == \
        list(d["progress"]["retired"])
    assert progress.opts.get().kwargs["title"].startswith("r: 2/3 retired, 7 annotations")
    assert list(retired.dimension_values("retirements")) == [0, 2, 0]
    assert list(agreement.dimension_values("items")) == list(d["agreement"]["items"])
    assert list(table.dimension_values("annotator")) == ["ada", "bo", "cy"]
    model = hv.render(lay, backend="bokeh")
    from bokeh.embed import json_item

    text = json.dumps(json_item(model))
    assert "annotations" in text and "agreement per item" in text


def test_dashboard_of_an_empty_campaign(store):
    from workbench.plots.campaign import campaign, campaign_data

    store.create_campaign("empty", "transient", ["x"])
    d = campaign_data(store.campaign("empty"))
    assert len(d["progress"]) == 0 and d["agreement"]["items"].sum() == 0
    assert len(d["annotators"]) == 0
    import holoviews as hv

    hv.render(campaign(store, "empty"), backend="bokeh")


def test_plots_import_neither_torch_nor_widgets():
    code = ("import json, sys, workbench.plots.campaign\n"
            "print(json.dumps([m for m in ('torch', 'ipywidgets', 'anywidget') "
            "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
