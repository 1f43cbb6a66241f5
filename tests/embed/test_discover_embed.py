"""Maps, clusters, similarity search and anomaly ranking on embeddings (issue 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.core.errors import InputError
from workbench.embed.anomaly import AnomalyScorer, PersonalisedRanking, record_interest
from workbench.embed.cluster import HDBSCANClusterer
from workbench.embed.neighbors import SimilarityIndex
from workbench.embed.projection import PCAMap, UMAPMap, make_projection
from workbench.io.collection import ProductSpec


def _blobs(n_per=150, dim=16, k=3, seed=0, spread=10.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (k, dim))
    X = np.concatenate([c + rng.normal(0, 1, (n_per, dim)) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(k), n_per), centres


def test_pca_map_transform_places_new_points_without_refitting():
    X, y, _ = _blobs()
    m = PCAMap().fit(X)
    before = m.embedding_.copy()
    comps = m.model_.components_.copy()
    new = m.transform(X[:5] + 0.01)
    assert np.array_equal(m.embedding_, before) and np.array_equal(m.model_.components_, comps)
    assert np.allclose(new, before[:5], atol=0.2)


@pytest.mark.slow
def test_umap_transform_places_new_points_on_the_existing_map():
    X, y, centres = _blobs(n_per=60)
    m = UMAPMap(n_neighbors=10, n_epochs=100).fit(X)
    before, model = m.embedding_.copy(), m.umap_
    rng = np.random.default_rng(1)
    new = (centres[y[::20]] + rng.normal(0, 1, (len(y[::20]), X.shape[1]))).astype(np.float32)
    xy = m.transform(new)
    assert m.umap_ is model and np.array_equal(m.embedding_, before)
    assert xy.shape == (len(new), 2)
    means = np.stack([before[y == k].mean(0) for k in range(3)])
    nearest = np.argmin(((xy[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == y[::20]).mean() >= 0.9


def test_map_rejects_bad_input():
    with pytest.raises(InputError):
        PCAMap().fit(np.array([[np.nan, 1.0]] * 5))
    with pytest.raises(InputError):
        make_projection("mds")


def test_hdbscan_finds_blobs_and_glosh_ranks_injected_outliers_in_128d():
    rng = np.random.default_rng(0)
    X, y, _ = _blobs(n_per=200, dim=128, k=5, spread=3.0)
    n_out = 10  # 1% outliers, uniform in the bounding box
    lo, hi = X.min(0), X.max(0)
    outl = rng.uniform(lo, hi, (n_out, X.shape[1])).astype(np.float32)
    Z = np.concatenate([X, outl])
    truth = np.r_[np.zeros(len(X)), np.ones(n_out)]
    cl = HDBSCANClusterer(min_cluster_size=50).fit(Z)
    assert cl.n_clusters_ == 5
    from sklearn.metrics import adjusted_rand_score, roc_auc_score

    assert adjusted_rand_score(y, cl.labels_[: len(X)]) > 0.95
    assert roc_auc_score(truth, cl.outlier_scores_) > 0.95
    for method in ("glosh", "iforest", "knn"):
        sc = AnomalyScorer(method).fit(Z)
        assert roc_auc_score(truth, sc.scores_) > 0.95, method
        assert set(sc.ranking_[:n_out]) & set(range(len(X), len(Z)))


def test_similarity_index_matches_brute_force_and_excludes_the_item():
    X, y, _ = _blobs(n_per=100, dim=8)
    ids = [f"i{k}" for k in range(len(X))]
    for metric in ("cosine", "euclidean"):
        idx = SimilarityIndex(metric=metric, block=37).fit(X, ids=ids)
        got, d = idx.more_like_this("i5", k=7)
        V = X / np.linalg.norm(X, axis=1, keepdims=True) if metric == "cosine" else X
        ref = np.argsort(((V - V[5]) ** 2).sum(1))[1:8]
        assert list(got) == list(ref)
        assert 5 not in got and np.all(np.diff(d) >= 0)
        assert (y[got] == y[5]).all()


def test_feedback_moves_the_ranking_towards_what_the_user_finds_interesting(tmp_path):
    X, y, _ = _blobs(n_per=100, dim=8, k=2)
    rng = np.random.default_rng(2)
    base = rng.uniform(size=len(X))
    pr = PersonalisedRanking(X, base)
    top_before = pr.ranking()[:50]
    a_item = int(np.flatnonzero(y == 0)[0])
    b_item = int(np.flatnonzero(y == 1)[0])
    pr.feedback([a_item, b_item], [True, False])
    top_after = pr.ranking()[:50]
    assert (y[top_after] == 0).mean() > (y[top_before] == 0).mean()
    assert (y[top_after] == 0).mean() > 0.9
    assert a_item not in top_after and b_item not in top_after  # marked items leave the list
    assert pr.scores_[y == 1].mean() < pr.base_[y == 1].mean()

    # The marks go to the label store as anomaly-sourced annotations.
    from workbench.io.labels import open_store

    coll = workbench.create(tmp_path / "c", {"img": ProductSpec(("x",), (4, 4))})
    coll.append(pd.DataFrame({"id": ["a", "b", "c"]}), {"img": np.zeros((3, 1, 4, 4))},
                kind="image")
    store = open_store(coll)
    rec = record_interest(store, ["a", "b", "c"], [True, True, False], annotator="tester",
                          method="glosh")
    assert len(rec) == 3
    ann = store.annotations(scheme="interesting")
    got = dict(zip(ann["item_id"], ann["answers"]))
    assert got == {"a": {"interesting": "yes"}, "b": {"interesting": "yes"},
                   "c": {"interesting": "no"}}
    assert set(ann["source"]) == {"anomaly"}
