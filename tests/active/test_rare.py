"""Finding a rare class: active anomaly ranking and the rare-class oracle simulation."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.active.rare import active_anomaly_scores, simulate_rare
from workbench.core.errors import InputError


def _data(n_common=300, n_rare=15, seed=0):
    """Common items in a Gaussian blob; rare ones far away on a ring (all outliers)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 1, (n_common, 4))
    ang = rng.uniform(0, 2 * np.pi, n_rare)
    rare = np.c_[8 * np.cos(ang), 8 * np.sin(ang), rng.normal(0, 0.3, (n_rare, 2))]
    x = np.vstack([common, rare])
    y = np.array(["common"] * n_common + ["rare"] * n_rare, dtype=object)
    return x, y


def test_relevance_raises_neighbours_of_found_rare_items_and_lowers_common_ones():
    x = np.array([[0.0, 0], [0.1, 0], [5, 5], [5.1, 5], [10, 0], [10.1, 0]])
    anomaly = np.ones(6)  # outlier scores tie: only relevance orders
    interest = np.array([1.0, np.nan, 0.0, np.nan, np.nan, np.nan])
    s = active_anomaly_scores(anomaly, x, interest, bandwidth=0.5)
    assert s[1] > s[4] > s[3]  # near a rare one > far from anything > near a common one
    # without any labels it is the plain anomaly rank
    a = np.array([3.0, 1, 2, 6, 5, 4])
    np.testing.assert_allclose(active_anomaly_scores(a, x, np.full(6, np.nan)),
                               np.array([3, 1, 2, 6, 5, 4]) / 6)


def test_anomaly_first_count_is_the_position_of_the_kth_rare_item():
    x, y = _data()
    res = simulate_rare(x, y, "rare", k=10, seeds=2, initial=0, step=5,
                        strategies=["random", "anomaly_first"], n_boot=100)
    # the 15 rare items are the 15 strongest outliers: the 10th is the 10th label
    assert res["labels_spent"]["anomaly_first"] == {"0": 10, "1": 10}
    rnd = res["labels_spent"]["random"]
    assert all(v >= 10 for v in rnd.values())
    t = res["summary"]["table"]
    assert t["anomaly_first"]["factor"] == pytest.approx(np.mean(list(rnd.values())) / 10,
                                                         abs=0.01)
    assert res["n_rare"] == 15 and res["expected_random"] == pytest.approx(10 * 316 / 16, 0.01)


def test_active_anomaly_finds_the_rare_class_faster_than_random():
    x, y = _data(seed=1)
    res = simulate_rare(x, y, "rare", k=10, seeds=3, step=5, n_boot=100,
                        strategies=["random", "active_anomaly", "cluster_balanced"])
    t = res["summary"]["table"]
    assert t["active_anomaly"]["labels_mean"] < t["random"]["labels_mean"] / 3
    assert set(t) == {"random", "active_anomaly", "cluster_balanced"}


def test_too_few_rare_items_is_a_clear_error():
    x, y = _data(n_rare=3)
    with pytest.raises(InputError, match="fewer than k=10"):
        simulate_rare(x, y, "rare", k=10, seeds=1)
    with pytest.raises(InputError, match="unknown rare-search"):
        simulate_rare(x, y, "rare", k=2, seeds=1, strategies=["margin"])


def test_a_given_outlier_score_replaces_the_knn_one():
    x, y = _data(seed=2)
    rare = np.flatnonzero(y == "rare")
    # a score from elsewhere (e.g. measured on the images) that puts 10 rare items last but
    # 5 first: anomaly-first follows it, not the embedding's kNN outliers
    score = np.zeros(len(y))
    score[rare[:5]] = 2.0
    score[rare[5:]] = -1.0
    res = simulate_rare(x, y, "rare", k=5, seeds=1, initial=0, step=5, anomaly=score,
                        strategies=["anomaly_first"], n_boot=10)
    assert res["labels_spent"]["anomaly_first"] == {"0": 5}
    assert res["settings"]["anomaly_method"] == "given"
    res = simulate_rare(x, y, "rare", k=10, seeds=1, initial=0, step=5, anomaly=score,
                        strategies=["anomaly_first"], n_boot=10)
    # 5 first, then the 300 common items, then the 10 put last: the 10th is at 310
    assert res["labels_spent"]["anomaly_first"]["0"] == len(y) - 5
    with pytest.raises(InputError, match="one outlier score per item"):
        simulate_rare(x, y, "rare", k=5, seeds=1, anomaly=score[:-1])
