"""Acquisition functions on hand-made probabilities and embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.active.acquisition import acquire, bald, entropy, least_confidence, margin
from workbench.core.errors import InputError

PROBS = np.array([[0.99, 0.01], [0.55, 0.45], [0.80, 0.20], [0.49, 0.51], [0.05, 0.95]])


def test_margin_picks_the_most_ambiguous():
    idx, scores = acquire("margin", 2, probs=PROBS, random_fraction=0)
    assert list(idx) == [3, 1]
    assert np.argmax(margin(PROBS)) == 3


def test_uncertainty_scores_agree_on_order_for_two_classes():
    for f in (least_confidence, entropy):
        assert list(np.argsort(-f(PROBS))[:2]) == [3, 1]


def test_labelled_items_are_never_picked():
    lab = np.array([False, False, False, True, False])
    idx, scores = acquire("margin", 3, probs=PROBS, labelled_mask=lab, random_fraction=0)
    assert 3 not in idx and idx[0] == 1
    assert np.isnan(scores[3])


def test_bald_zero_without_disagreement_positive_with():
    agree = np.repeat(PROBS[None], 8, axis=0)  # uncertain but identical samples
    assert np.allclose(bald(agree), 0.0, atol=1e-9)
    dis = np.stack([np.array([[0.99, 0.01], [0.6, 0.4]]), np.array([[0.01, 0.99], [0.6, 0.4]])])
    b = bald(dis)
    assert b[0] > 0.5 and b[1] == pytest.approx(0.0, abs=1e-9)


def test_coreset_picks_farthest_points():
    emb = np.array([[0.0, 0], [0.1, 0], [0.2, 0], [10, 0], [5, 0], [0, 7]])
    lab = np.array([True, False, False, False, False, False])
    idx, _ = acquire("coreset", 3, embeddings=emb, labelled_mask=lab, random_fraction=0)
    assert list(idx) == [3, 5, 4]


def test_cluster_balanced_covers_clusters():
    clusters = np.array([0] * 10 + [1] * 10 + [2] * 2)
    lab = np.zeros(22, bool)
    lab[:5] = True
    idx, _ = acquire("cluster_balanced", 3, clusters=clusters, labelled_mask=lab,
                     random_fraction=0)
    # the unlabelled clusters 1 and 2 come before the well-labelled cluster 0
    assert list(clusters[idx]) == [1, 2, 1]


def test_anomaly_first_and_random_fraction():
    anomaly = np.arange(100, dtype=float)
    idx, _ = acquire("anomaly_first", 10, anomaly=anomaly, random_fraction=0.3, seed=1)
    assert len(idx) == len(set(idx)) == 10
    assert list(idx[:7]) == list(range(99, 92, -1))
    assert not set(idx[7:]) & set(range(93, 100))


def test_random_is_seeded_and_respects_pool():
    lab = np.zeros(50, bool)
    lab[::2] = True
    a, _ = acquire("random", 5, labelled_mask=lab, seed=3)
    b, _ = acquire("random", 5, labelled_mask=lab, seed=3)
    assert list(a) == list(b) and not lab[a].any()


@pytest.mark.parametrize("name, kw", [("bald", {"probs": PROBS}), ("nope", {"probs": PROBS}),
                                      ("margin", {"probs": PROBS, "labelled_mask": [True]})])
def test_bad_input(name, kw):
    with pytest.raises(InputError):
        acquire(name, 2, **kw)


def test_simulation_aux_inputs_come_from_the_map_estimators():
    from workbench.active.oracle import aux_inputs

    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, (100, 8)), rng.normal(8, 1, (100, 8)), [[30.0] * 8]]
    aux = aux_inputs(x, ["cluster_balanced", "anomaly_first"], seed=0)
    clusters = aux["clusters"]
    assert len(set(clusters[:100]) - {-1}) == 1 and len(set(clusters[100:200]) - {-1}) == 1
    assert set(clusters[:100]) - {-1} != set(clusters[100:200]) - {-1}
    assert int(np.argmax(aux["anomaly"])) == 200  # the far point ranks first


def test_badge_prefers_uncertain_and_diverse_items():
    from workbench.active.acquisition import badge_order

    probs = np.array([[0.5, 0.5], [0.5, 0.5], [0.52, 0.48], [0.99, 0.01], [0.98, 0.02]])
    feats = np.array([[3.0, 0], [3.0, 0], [0, 3.0], [3.0, 0.1], [0.1, 3.0]])
    picks = badge_order(probs, feats, np.zeros(5, bool), 2, seed=0)
    # first the largest gradient (an uncertain item), then never its exact duplicate
    # (zero distance) but the other uncertain direction or a confident item
    assert picks[0] in (0, 1) and picks[1] != 1 - picks[0]
    idx, scores = acquire("badge", 2, probs=probs, embeddings=feats, random_fraction=0,
                          labelled_mask=np.array([True, False, False, False, False]))
    assert 0 not in idx and idx[0] == 1
    with pytest.raises(InputError, match="badge"):
        acquire("badge", 2, probs=probs)
