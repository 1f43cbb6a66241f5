"""Held-out metrics and temperature scaling."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.learn.calibration import TemperatureScaler, expected_calibration_error
from workbench.learn.evaluate import evaluate
from workbench.learn.infer import softmax


def test_evaluate_confusion_and_per_class():
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.2, 0.7, 0.8, 0.9, 0.4, 0.6])
    probs = np.c_[1 - p1, p1]
    m = evaluate(y, probs, ["rfi", "pulse"])
    assert m["confusion"] == [[2, 1], [1, 3]]
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["per_class"]["pulse"]["precision"] == pytest.approx(3 / 4)
    assert m["per_class"]["pulse"]["recall"] == pytest.approx(3 / 4)
    assert m["per_class"]["rfi"]["recall"] == pytest.approx(2 / 3)
    # the highest-scored negative (0.7) sits above 2 positives: TPR0 = 2/4
    assert m["tpr0"] == pytest.approx(0.5)
    assert m["tpr10"] == pytest.approx(1.0)
    assert 0.5 < m["auroc"] < 1.0


def test_temperature_scaling_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.integers(0, 2, n)
    true_logit = rng.normal(0, 1.5, n) + (2 * y - 1) * 1.0
    flip = rng.random(n) < 1 / (1 + np.exp(np.abs(true_logit)))  # label noise
    y = np.where(flip, 1 - y, y)
    logits = np.c_[np.zeros(n), 4 * true_logit]  # 4x over-confident
    ts = TemperatureScaler().fit(logits, y)
    assert ts.temperature_ > 2
    assert ts.nll_after_ < ts.nll_before_
    before = expected_calibration_error(softmax(logits), y)
    after = expected_calibration_error(ts.transform(logits), y)
    assert after < before
    assert (ts.transform(logits).argmax(1) == logits.argmax(1)).all()
