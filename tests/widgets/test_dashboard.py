"""The AL dashboard's Python side, headless."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("ipywidgets")

from tests.active.conftest import make_blobs_collection  # noqa: E402
from workbench.active.loop import ActiveLoop  # noqa: E402
from workbench.widgets.dashboard import Dashboard, dashboard_state  # noqa: E402


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
    for _ in range(100):  # the finishing thread redraws
        if dash.state["round"] == 2:
            break
        import time

        time.sleep(0.05)
    st = dashboard_state(loop)
    assert list(st["curve"]["n_train"]) == sorted(st["curve"]["n_train"])
    assert len(st["curve"]) == 2 and dash.state["round"] == 2
    assert set(st["per_class"]["class"]) == {"bar", "point"}
    assert len(st["queue"]) == 6 and not set(st["queue"]["id"]) & set(labels.index[:40])
    assert dash.queue_html.value.count("<img") == 6
    assert "round 2: margin" in dash.queue_html.value
    assert dash.progress.value == pytest.approx(1.0)
