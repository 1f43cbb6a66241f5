"""TypiClust and Cluster-Margin acquisition, and the ``+typical`` start of the simulation."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.active.acquisition import (
    acquire,
    cluster_margin_order,
    typicality,
    typiclust_order,
)
from workbench.core.errors import InputError


def _blobs(sizes=(40, 30, 20, 10), seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], float)
    x = np.vstack([c + rng.normal(0, 1, (m, 2)) for c, m in zip(centres, sizes)])
    blob = np.repeat(np.arange(len(sizes)), sizes)
    return x, blob, centres


def test_typiclust_picks_one_typical_item_per_cluster():
    x, blob, centres = _blobs()
    picks = typiclust_order(x, np.zeros(len(x), bool), 4, seed=3)
    assert sorted(blob[picks]) == [0, 1, 2, 3]  # four clusters, one pick each
    for i in picks:  # the most typical member sits near its blob's centre
        d_pick = np.linalg.norm(x[i] - centres[blob[i]])
        d_all = np.linalg.norm(x[blob == blob[i]] - centres[blob[i]], axis=1)
        assert d_pick <= np.quantile(d_all, 0.5)


def test_typiclust_skips_covered_clusters_and_is_deterministic():
    x, blob, _ = _blobs()
    lab = np.zeros(len(x), bool)
    lab[[0, 1]] = True  # the largest blob already holds labels
    a = typiclust_order(x, lab, 3, seed=7)
    b = typiclust_order(x, lab, 3, seed=7)
    assert list(a) == list(b)
    assert sorted(blob[a]) == [1, 2, 3] and not lab[a].any()
    # the largest uncovered cluster first
    assert blob[a[0]] == 1


def test_typicality_is_high_in_dense_regions():
    x = np.vstack([np.zeros((5, 2)) + np.arange(5)[:, None] * 0.01, [[10.0, 10.0]]])
    t = typicality(x, k=3)
    assert np.argmin(t) == 5 and t[:5].min() > t[5]


def test_cluster_margin_spreads_the_uncertain_over_clusters():
    x, blob, _ = _blobs(sizes=(30, 30, 30, 30))
    p1 = np.full(len(x), 0.99)
    # blob 0 holds the most ambiguous items, blob 1 the next ones
    p1[blob == 0] = np.linspace(0.50, 0.55, 30)
    p1[blob == 1] = np.linspace(0.56, 0.60, 30)
    probs = np.column_stack([p1, 1 - p1])
    picks = cluster_margin_order(probs, x, np.zeros(len(x), bool), 4, candidates=15,
                                 n_clusters=4)
    assert set(blob[picks]) == {0, 1}  # both uncertain regions, not four from blob 0
    assert (blob[picks] == 0).sum() == 2
    # plain margin would take the four most ambiguous items of blob 0
    top4, _ = acquire("margin", 4, probs=probs, random_fraction=0)
    assert set(blob[top4]) == {0}


def test_new_strategies_in_acquire_respect_the_labelled_mask():
    x, blob, _ = _blobs()
    probs = np.column_stack([np.linspace(0.3, 0.7, len(x)), np.linspace(0.7, 0.3, len(x))])
    lab = np.zeros(len(x), bool)
    lab[::3] = True
    for name in ("typiclust", "cluster_margin"):
        idx, scores = acquire(name, 6, probs=probs, embeddings=x, labelled_mask=lab,
                              random_fraction=0, seed=1)
        assert len(idx) == 6 and not lab[idx].any() and len(set(idx)) == 6
        assert np.isnan(scores[lab]).all()
    with pytest.raises(InputError, match="embeddings"):
        acquire("typiclust", 2, labelled_mask=lab)


def test_simulation_typical_start_and_switch(tmp_path):
    from workbench.active.oracle import simulate_strategies

    x, blob, _ = _blobs(sizes=(30, 30, 30, 30))
    y = np.where(blob % 2 == 0, "a", "b")
    for bad in ("margin+typ", "margin+typicalx"):
        with pytest.raises(InputError, match="modifier"):
            simulate_strategies(x, y, strategies=["random", bad], budget=20, seeds=[0],
                                head="logistic")
    res = simulate_strategies(x, y, strategies=["random", "margin+typical", "margin+typical26"],
                              budget=42, seeds=[0], initial=4, step=8, head="logistic",
                              n_boot=50)
    c = res["curves"]
    assert c["margin+typical26"]["0"]["n_labels"] == [4, 12, 20, 26, 34, 42]
    assert c["margin+typical"]["0"]["n_labels"] == [4, 12, 20, 28, 36, 42]
    # a TypiClust start of 4 on four blobs covers both classes: the first model is perfect
    assert c["margin+typical"]["0"]["accuracy"][0] == 1.0
