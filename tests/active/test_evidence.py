"""Bootstrap intervals of label savings, area between curves, and the rare-class count."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.active.evidence import (
    bootstrap_indices,
    first_reach,
    labels_until,
    rare_table,
    saving_table,
)
from workbench.core.errors import InputError

GRID = list(range(10, 210, 10))  # 10, 20, ..., 200


def _curve(reach_at, lo=0.5, hi=0.8):
    """Accuracy rising linearly from lo at 10 labels to hi at ``reach_at``, flat after."""
    g = np.asarray(GRID, float)
    a = lo + (hi - lo) * np.clip((g - 10) / (reach_at - 10), 0, 1)
    return {"n_labels": GRID, "accuracy": a.tolist()}


def test_identical_strategies_save_nothing_with_a_zero_interval():
    per = {str(s): _curve(100 + 10 * s) for s in range(5)}
    t = saving_table({"random": per, "copy": per}, n_boot=300)
    row = t["table"]["copy"]
    assert row["saving"] == 0.0 and row["saving_ci"] == [0.0, 0.0]
    assert row["area"] == 0.0 and row["area_ci"] == [0.0, 0.0]
    assert t["target_accuracy"] == pytest.approx(0.8)


def test_saving_point_and_interval_on_known_curves():
    # random reaches 0.8 at 100 labels in every seed; the strategy at 50 -> saves 50%
    rnd = {str(s): _curve(100) for s in range(6)}
    fast = {str(s): _curve(50) for s in range(6)}
    t = saving_table({"random": rnd, "fast": fast}, n_boot=200)
    row = t["table"]["fast"]
    assert row["labels"] == 50 and t["baseline_labels"] == 100
    assert row["saving"] == 0.5 and row["saving_ci"] == [0.5, 0.5]
    assert row["reached"] == 1.0
    # area: mean gain over 10..200 labels of the two piecewise-linear curves
    g = np.asarray(GRID, float)
    diff = np.asarray(fast["0"]["accuracy"]) - np.asarray(rnd["0"]["accuracy"])
    expected = np.sum((diff[1:] + diff[:-1]) / 2 * np.diff(g)) / (g[-1] - g[0])
    assert row["area"] == pytest.approx(expected, abs=1e-4) and row["area"] > 0


def test_interval_is_the_percentile_bootstrap_over_seeds():
    # seeds disagree: the strategy reaches the target at 40, 60, 120, 150 labels
    rnd = {str(s): _curve(100) for s in range(4)}
    mixed = {str(s): _curve(r) for s, r in enumerate([40, 60, 120, 150])}
    t = saving_table({"random": rnd, "mixed": mixed}, n_boot=500, seed=3)
    # recompute by hand with the same resamples
    a = np.array([mixed[str(s)]["accuracy"] for s in range(4)])
    target = 0.8
    savings = []
    for idx in bootstrap_indices(4, 500, seed=3):
        m = a[idx].mean(0)
        hit = np.flatnonzero(m >= target - 1e-9)
        n = GRID[hit[0]] if len(hit) else GRID[-1] + 10
        savings.append(1 - n / 100)
    assert t["table"]["mixed"]["saving_ci"] == [round(float(np.quantile(savings, 0.025)), 4),
                                                round(float(np.quantile(savings, 0.975)), 4)]
    lo, hi = t["table"]["mixed"]["saving_ci"]
    assert lo < 0 < hi  # a strategy that wins on some seeds and loses on others


def test_never_reaching_the_target_is_censored_not_dropped():
    rnd = {str(s): _curve(100) for s in range(3)}
    slow = {str(s): _curve(400) for s in range(3)}  # still below 0.8 at 200 labels
    row = saving_table({"random": rnd, "slow": slow}, n_boot=100)["table"]["slow"]
    assert row["labels"] is None and row["saving"] is None and row["reached"] == 0.0
    assert row["saving_ci"] == [-1.1, -1.1]  # one step past the last point: 1 - 210/100


def test_missing_seeds_or_baseline_are_refused():
    with pytest.raises(InputError, match="baseline"):
        saving_table({"margin": {"0": _curve(50)}})
    with pytest.raises(InputError, match="lacks seeds"):
        saving_table({"random": {"0": _curve(50), "1": _curve(50)}, "m": {"0": _curve(50)}})


def test_first_reach():
    assert first_reach([10, 20, 30], [0.5, 0.7, 0.9], 0.7) == 20
    assert first_reach([10, 20, 30], [0.5, 0.7, 0.9], 0.95) is None


def test_labels_until_counts_the_kth_rare_item():
    seq = ["a", "r", "a", "a", "r", "r", "a"]
    assert labels_until(seq, "r", 1) == 2
    assert labels_until(seq, "r", 3) == 6
    assert labels_until(seq, "r", 4) is None
    with pytest.raises(InputError):
        labels_until(seq, "r", 0)


def test_rare_table_factor_and_censoring():
    spent = {"random": {"0": 100, "1": 300}, "anomaly_first": {"0": 10, "1": 30},
             "slow": {"0": None, "1": 300}}
    t = rare_table(spent, censor=1000, n_boot=200)["table"]
    assert t["anomaly_first"]["factor"] == 10.0 and t["anomaly_first"]["factor_ci"] == [10.0, 10.0]
    assert t["slow"]["labels_mean"] == 650.0 and t["slow"]["not_found"] == 1
    assert t["random"]["factor"] == 1.0


def test_tail_target_is_a_second_reading_beside_the_last_point():
    # random plateaus at 0.78 from 100 labels and ends on a lucky 0.82; the strategy
    # plateaus at 0.80 from 50 labels: it never reaches random's last point
    spike = _curve(100, hi=0.78)
    spike["accuracy"][-1] = 0.82
    rnd = {str(s): spike for s in range(4)}
    fast = {str(s): _curve(50, hi=0.80) for s in range(4)}
    t = saving_table({"random": rnd, "fast": fast}, n_boot=100)
    row = t["table"]["fast"]
    assert t["target_accuracy"] == pytest.approx(0.82)
    assert row["labels"] is None and row["saving"] is None  # the first reading is unchanged
    assert t["target_tail"] == pytest.approx((0.78 + 0.78 + 0.82) / 3, abs=1e-4)
    assert t["baseline_labels_tail"] == 200  # only random's last point is above the mean
    assert row["labels_tail"] == 50 and row["saving_tail"] == 0.75
    assert row["saving_tail_ci"] == [0.75, 0.75]
    with pytest.raises(InputError, match="tail"):
        saving_table({"random": rnd}, tail=0)
