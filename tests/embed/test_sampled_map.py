"""The fast map path of issue 14 (point 4): a cell-probe kNN search without numba, and a UMAP map
fitted on a sample with the other items placed through the kNN graph."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.errors import InputError
from workbench.embed.neighbors import knn_search
from workbench.embed.projection import UMAPMap, resolve_sample


def _blobs(n, dim=24, k=6, seed=0, spread=6.0, point_seed=None):
    """n points around k Gaussian centres (the centres depend on ``seed`` only)."""
    centres = np.random.default_rng(seed).normal(0, spread, (k, dim))
    rng = np.random.default_rng(seed if point_seed is None else (seed, point_seed))
    if point_seed is None:
        rng.normal(0, spread, (k, dim))
    y = rng.integers(0, k, n)
    return (centres[y] + rng.normal(0, 1, (n, dim))).astype(np.float32), y


def _brute(R, Q, k):
    d2 = ((Q[:, None, :].astype(np.float64) - R[None].astype(np.float64)) ** 2).sum(-1)
    idx = np.argsort(d2, 1, kind="stable")[:, :k]
    return idx, np.sqrt(np.take_along_axis(d2, idx, 1))


def _recall(a, b):
    return np.mean([len(set(x) & set(y)) / len(y) for x, y in zip(a, b)])


def test_exact_path_matches_brute_force():
    R, _ = _blobs(700)
    Q, _ = _blobs(90, seed=1)
    idx, d = knn_search(R, Q, k=7)
    bi, bd = _brute(R, Q, 7)
    assert np.allclose(d, bd, atol=1e-3)
    assert _recall(idx, bi) > 0.99  # ties aside, the same neighbours


def test_cell_probe_search_finds_nearly_all_true_neighbours():
    R, _ = _blobs(12000, k=12)
    Q, _ = _blobs(1500, k=12, seed=5)
    idx, d = knn_search(R, Q, k=10, exact_below=0, n_jobs=2)  # forced cell-probe path
    bi, bd = _brute(R, Q, 10)
    assert _recall(idx, bi) > 0.9
    assert np.all(np.diff(d, axis=1) >= 0)
    # every reported distance is the true distance to the reported item
    true = np.sqrt(((Q[:, None] - R[idx]) ** 2).sum(-1))
    assert np.allclose(d, true, atol=1e-3)
    # and the result does not depend on the number of threads
    idx1, d1 = knn_search(R, Q, k=10, exact_below=0, n_jobs=1)
    assert np.array_equal(idx, idx1)


def test_self_graph_puts_each_item_first():
    R, _ = _blobs(9000)
    idx, d = knn_search(R, k=8, exact_below=0)
    assert np.array_equal(idx[:, 0], np.arange(len(R))) and np.all(d[:, 0] == 0)
    assert np.all(idx[:, 1:] != np.arange(len(R))[:, None])
    bi, _ = _brute(R, R[:500], 8)
    assert _recall(idx[:500], bi) > 0.95


def test_bad_query_shape_is_a_clear_error():
    with pytest.raises(InputError, match="dimensions"):
        knn_search(np.zeros((50, 4)), np.zeros((5, 3)), k=3)


def test_fit_sample_rules():
    assert resolve_sample("auto", 60000) is None
    assert resolve_sample("auto", 60001) == 40000
    assert resolve_sample(None, 10**6) is None
    assert resolve_sample(500, 400) is None  # a sample as large as the data: every item
    assert resolve_sample(500, 4000) == 500
    with pytest.raises(InputError, match="fit_sample"):
        resolve_sample(2, 4000)


def test_sampled_umap_places_the_other_items_in_their_clusters():
    from sklearn.neighbors import KNeighborsClassifier

    X, y = _blobs(5000)
    m = UMAPMap(n_neighbors=12, n_epochs=60, fit_sample=1500).fit(X)
    S = m.fit_rows_
    assert len(S) == 1500 and len(np.unique(S)) == 1500
    rest = np.setdiff1d(np.arange(len(X)), S)
    xy = m.embedding_
    assert xy.shape == (5000, 2) and np.isfinite(xy).all()
    # placed items sit among fitted items of their own cluster on the map
    clf = KNeighborsClassifier(10).fit(xy[S], y[S])
    assert (clf.predict(xy[rest]) == y[rest]).mean() > 0.97
    # the graph: each item first, then fitted items only (for a placed item) / the sample's own
    idx, d = m.knn_graph_
    assert idx.shape == (5000, 12) and np.array_equal(idx[:, 0], np.arange(5000))
    assert np.isin(idx[:, 1:], S).all()
    assert np.all(np.diff(d, axis=1) >= -1e-6)
    # transform places new items exactly as the fit placed the ones it did not fit on
    assert np.allclose(m.transform(X[rest[:300]]), xy[rest[:300]], atol=1e-4)
    Xn, yn = _blobs(400, point_seed=7)  # new points around the same centres
    assert (clf.predict(m.transform(Xn)) == yn).mean() > 0.97


def test_sampled_map_keeps_the_full_fit_when_asked():
    X, _ = _blobs(900)
    m = UMAPMap(n_neighbors=10, n_epochs=30, fit_sample=None).fit(X)
    assert m.fit_rows_ is None and m.knn_graph_[0].shape == (900, 10)


def test_map_and_clusters_through_the_store_reuse_the_sampled_fit(tmp_path):
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    import workbench
    from workbench.embed.records import cluster_and_store, map_and_store, stored_graph
    from workbench.io.collection import ProductSpec

    X, y = _blobs(3000)
    X[-30:] = np.random.default_rng(4).uniform(X.min(0), X.max(0), (30, X.shape[1]))
    coll = workbench.create(tmp_path / "c", {"img": ProductSpec(("x",), (2, 2))})
    coll.append(pd.DataFrame({"id": [f"i{k}" for k in range(3000)]}),
                {"img": np.zeros((3000, 1, 2, 2), np.float32)}, kind="image")
    coll.add_array("embedding-test", X, tool="test")
    map_and_store(coll, method="umap", fit_sample=1000, n_epochs=40)
    rows = stored_graph(coll).fit_rows  # rebuilt from the map record alone
    assert np.array_equal(rows, UMAPMap(fit_sample=1000, random_state=0).sample_rows(3000))
    # the stored graph lists fitted items only for the others: the sampled GLOSH accepts it
    cluster_and_store(coll)
    cat = workbench.open(coll.path).catalog
    assert cat["cluster"].notna().all() and cat["outlier_glosh"].between(0, 1).all()
    truth = np.r_[np.zeros(2970), np.ones(30)]
    assert roc_auc_score(truth, cat["outlier_glosh"]) > 0.95
    params = coll.derived["clusters"]["made_by"]["params"]
    assert params["outlier_graph"] == "map-umap graph"


def test_anomalies_reuse_a_sampled_map_graph(tmp_path):
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    import workbench
    from workbench.embed.records import anomalies_and_store, map_and_store
    from workbench.io.collection import ProductSpec

    X, _ = _blobs(2500, seed=2)
    X[-25:] = np.random.default_rng(5).uniform(X.min(0), X.max(0), (25, X.shape[1]))
    coll = workbench.create(tmp_path / "c", {"img": ProductSpec(("x",), (2, 2))})
    coll.append(pd.DataFrame({"id": [f"i{k}" for k in range(2500)]}),
                {"img": np.zeros((2500, 1, 2, 2), np.float32)}, kind="image")
    coll.add_array("embedding-test", X, tool="test")
    map_and_store(coll, method="umap", fit_sample=800, n_epochs=30)
    truth = np.r_[np.zeros(2475), np.ones(25)]
    for method in ("glosh", "knn"):
        _, scores = anomalies_and_store(coll, method=method)
        assert roc_auc_score(truth, scores) > 0.95, method
    # GLOSH was fitted on the map's 800 fitted items, the others placed from the graph
    from workbench.embed.anomaly import AnomalyScorer
    from workbench.embed.records import stored_graph

    graph = stored_graph(coll)
    direct = AnomalyScorer("glosh").fit(graph.points, knn=graph.knn, fit_rows=graph.fit_rows)
    assert len(direct.clusterer_.fit_rows_) == 800
    stored = workbench.open(coll.path).catalog["anomaly_glosh"].to_numpy()
    assert np.allclose(stored, direct.scores_)
