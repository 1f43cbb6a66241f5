"""Active-learning charts and the ROC: the numbers each view draws come from the round
records / the metrics, and they render with Bokeh."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.core.errors import InputError
from workbench.learn.evaluate import evaluate as classification_metrics


class FakeLoop:
    """What ActiveLoop offers the plots: rounds(), record(k), history()."""

    def __init__(self, recs):
        self.recs = recs

    def rounds(self):
        return sorted(self.recs)

    def record(self, k=None):
        return self.recs[max(self.recs) if k is None else k]

    def history(self):
        return pd.DataFrame([{"round": k, "strategy": r["strategy"], "n_train": r["n_train"],
                              "n_holdout": 10, "accuracy": r["metrics"]["accuracy"],
                              "balanced_accuracy": r["metrics"]["balanced_accuracy"],
                              "auroc": None} for k, r in sorted(self.recs.items())])


@pytest.fixture(scope="module")
def loop():
    rng = np.random.default_rng(0)
    classes = ["FRI", "FRII", "bent"]
    recs = {}
    for k in (1, 2, 3):
        y = rng.integers(0, 3, 60)
        p = rng.dirichlet(np.ones(3), 60)
        p[np.arange(60), y] += 0.3 * k  # better each round
        m = classification_metrics(y, p / p.sum(1, keepdims=True), classes)
        recs[k] = {"round": k, "strategy": "margin", "n_train": 20 * k, "metrics": m,
                   "classes": classes}
    return FakeLoop(recs)


def render_json(obj) -> str:
    import holoviews as hv
    from bokeh.embed import json_item

    return json.dumps(json_item(hv.render(obj, backend="bokeh")))


def test_learning_curve_draws_the_history(loop):
    from workbench.plots import learning_curve
    from workbench.plots.learning import learning_data

    d = learning_data(loop)
    acc = d[d["series"] == "accuracy"]
    assert list(acc["n_labels"]) == [20, 40, 60]
    assert list(acc["accuracy"]) == [loop.record(k)["metrics"]["accuracy"] for k in (1, 2, 3)]
    ov = learning_curve(loop)
    curves = [e for e in ov if type(e).__name__ == "Curve"]
    assert {c.label for c in curves} == {"accuracy", "balanced accuracy"}
    c = next(c for c in curves if c.label == "accuracy")
    assert list(c.dimension_values("accuracy")) == list(acc["accuracy"])
    assert "training labels" in render_json(ov + ov)  # composes


def test_learning_curve_of_a_simulation_has_bands_and_target():
    from workbench.plots import learning_curve

    res = {"mean": {"random": {"n_labels": [10, 20], "accuracy": [0.5, 0.6],
                               "accuracy_ci": [[0.4, 0.55], [0.6, 0.7]]},
                    "margin": {"n_labels": [10, 20], "accuracy": [0.5, 0.8],
                               "accuracy_std": [0.1, 0.05]}},
           "labels_needed": {"target_accuracy": 0.6}}
    ov = learning_curve(res)
    areas = {a.label: a for a in ov if type(a).__name__ == "Area"}
    assert list(areas["random"].dimension_values("hi")) == [0.6, 0.7]
    assert np.allclose(areas["margin"].dimension_values("lo"), [0.4, 0.75])
    assert [h.data for h in ov if type(h).__name__ == "HLine"] == [0.6]
    with pytest.raises(InputError, match="simulate_strategies"):
        learning_curve({"curves": {}})


def test_confusion_matrix_cells_match_the_record(loop):
    import holoviews as hv

    from workbench.plots import confusion

    rec = loop.record(2)
    one = confusion(loop, round=2, normalize=False)
    heat = next(e for e in one if isinstance(e, hv.HeatMap))
    conf = np.asarray(rec["metrics"]["confusion"])
    got = {(t, p): c for t, p, c in zip(heat.dimension_values("true"),
                                        heat.dimension_values("predicted"),
                                        heat.dimension_values("count"))}
    for i, t in enumerate(rec["classes"]):
        for j, p in enumerate(rec["classes"]):
            assert got[(t, p)] == conf[i, j]
    frac = confusion(loop, round=2)  # normalised: rows sum to one
    h = next(e for e in frac if isinstance(e, hv.HeatMap)).dframe()
    assert np.allclose(h.groupby("true")["fraction"].sum(), 1.0)
    hm = confusion(loop)
    assert isinstance(hm, hv.HoloMap) and list(hm.keys()) == [1, 2, 3]
    assert "confusion, round 1" in render_json(hm)  # the first frame is drawn
    with pytest.raises(InputError, match="no round 9"):
        confusion(loop, round=9)


def test_per_class_bars(loop):
    import holoviews as hv

    from workbench.plots import per_class

    rec = loop.record(3)
    bars = per_class(rec)
    df = bars.dframe()
    for c, v in rec["metrics"]["per_class"].items():
        for m in ("precision", "recall", "f1"):
            assert df[(df["class"] == c) & (df["metric"] == m)]["value"].item() == v[m]
    assert isinstance(per_class(loop), hv.HoloMap)
    render_json(bars)


def test_roc_marks_tpr0_and_tpr10():
    import holoviews as hv

    from workbench.metrics import auroc, tpr0, tpr10
    from workbench.plots import roc
    from workbench.plots.ranking import roc_data

    rng = np.random.default_rng(1)
    y = np.r_[np.ones(40), np.zeros(400)].astype(int)
    s = np.r_[rng.normal(2, 1, 40), rng.normal(0, 1, 400)]
    d = roc_data(s, y)
    assert d["tpr0"] == tpr0(y, s) and d["tpr10"] == tpr10(y, s) and d["auroc"] == auroc(y, s)
    marks = d["marks"].set_index("mark")
    assert marks.loc["TPR0", "tpr"] == tpr0(y, s)
    # the marks sit on the curve, at 0 and at 9 or fewer false positives
    assert round(marks.loc["TPR0", "fpr"] * 400) == 0
    assert round(marks.loc["TPR10", "fpr"] * 400) <= 9
    cur = d["curve"]
    assert ((cur["fpr"] == marks.loc["TPR10", "fpr"]) & (cur["tpr"] == marks.loc["TPR10", "tpr"])).any()
    ov = roc({"a": s, "b": -s}, y)
    curves = [e for e in ov if isinstance(e, hv.Curve) and e.label]
    assert len(curves) == 2 and f"AUROC {auroc(y, s):.3f}" in curves[0].label
    text = render_json(ov.opts(width=300))
    assert "TPR10" in text
    with pytest.raises(InputError, match="both classes"):
        roc(s, np.ones(len(s), int))
