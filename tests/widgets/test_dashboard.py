"""The AL dashboard's Python side, headless."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("ipywidgets")

from tests.active.conftest import campaign_stand_ins, make_blobs_collection  # noqa: E402, F401
from workbench.active.loop import ActiveLoop  # noqa: E402
from workbench.widgets.dashboard import Dashboard, dashboard_state  # noqa: E402


@pytest.mark.usefixtures("campaign_stand_ins")  # Camp below gives its consensus itself
def test_dashboard_follows_rounds(tmp_path):
    coll = make_blobs_collection(tmp_path / "b", n=60)
    labels = coll.catalog.set_index("id")["truth"]

    class Camp:
        n = 20

        def consensus(self):
            return labels.iloc[: self.n]

    camp = Camp()
    loop = ActiveLoop(coll, campaign=camp, store=object(), queue_size=6, epochs=20)
    dash = Dashboard(loop)
    assert dash.state["round"] is None and "no round" in dash.metrics.value
    loop.run_round()
    camp.n = 40
    job = dash.retrain()
    job.result(timeout=60)
    for _ in range(100):  # the job's on_done listener redraws, from the round's thread
        if dash.state["round"] == 2:
            break
        import time

        time.sleep(0.05)
    assert dash.status.value.startswith("round 2 done: accuracy")
    assert not dash.retrain_button.disabled and dash.cancel_button.disabled
    st = dashboard_state(loop)
    assert list(st["curve"]["n_train"]) == sorted(st["curve"]["n_train"])
    assert len(st["curve"]) == 2 and dash.state["round"] == 2
    assert set(st["per_class"]["class"]) == {"bar", "point"}
    assert len(st["queue"]) == 6 and not set(st["queue"]["id"]) & set(labels.index[:40])
    assert dash.queue_html.value.count("<img") == 6
    assert "round 2: margin" in dash.queue_html.value
    assert dash.progress.value == pytest.approx(1.0)


def test_dashboard_charts_are_the_plots_functions(tmp_path):
    import holoviews as hv

    coll = make_blobs_collection(tmp_path / "b", n=60)
    loop = ActiveLoop(coll, label_column="truth", queue_size=6, epochs=10)
    dash = Dashboard(loop)
    assert isinstance(dash.figure, hv.Layout) and len(dash.figure) == 1  # no round yet
    loop.run_round()
    dash.refresh()
    curve, conf, per = dash.figure
    acc = [c for c in curve if isinstance(c, hv.Curve) and c.label == "accuracy"][0]
    hist = loop.history()
    assert list(acc.dimension_values("n_labels")) == list(hist["n_train"])
    assert list(acc.dimension_values("accuracy")) == list(hist["accuracy"])
    heat = [e for e in conf if isinstance(e, hv.HeatMap)][0]
    assert heat.dimension_values("count").sum() == loop.record()["n_holdout"]
    assert set(per.dimension_values("class")) == {"bar", "point"}
    hv.render(dash.figure, backend="bokeh")
