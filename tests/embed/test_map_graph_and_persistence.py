"""Graph-based HDBSCAN/GLOSH on the map's kNN graph, and fitted maps saved beside the Collection
(issue 7 follow-up)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.core.errors import CollectionError
from workbench.embed.cluster import HDBSCANClusterer, mutual_reachability_mst
from workbench.embed.neighbors import knn_graph
from workbench.embed.projection import UMAPMap
from workbench.io.collection import ProductSpec

ROOT = Path(__file__).resolve().parents[2]


def _blobs_with_outliers(n_per=200, dim=128, k=5, n_out=10, seed=0, spread=3.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (k, dim))
    X = np.concatenate([c + rng.normal(0, 1, (n_per, dim)) for c in centres])
    outl = rng.uniform(X.min(0), X.max(0), (n_out, dim))
    Z = np.concatenate([X, outl]).astype(np.float32)
    return Z, np.repeat(np.arange(k), n_per), np.r_[np.zeros(len(X)), np.ones(n_out)]


def test_graph_glosh_ranks_injected_outliers_top_in_128d_like_exact_hdbscan():
    from scipy.stats import spearmanr
    from sklearn.metrics import adjusted_rand_score, roc_auc_score

    Z, y, truth = _blobs_with_outliers()
    exact = HDBSCANClusterer(min_cluster_size=50, algorithm="exact").fit(Z)
    graph = HDBSCANClusterer(min_cluster_size=50, algorithm="knn_graph").fit(Z)
    assert graph.algorithm_ == "knn_graph" and exact.algorithm_ == "exact"
    assert graph.n_clusters_ == 5
    assert adjusted_rand_score(y, graph.labels_[: len(y)]) > 0.95
    assert roc_auc_score(truth, graph.outlier_scores_) > 0.99
    top = np.argsort(-graph.outlier_scores_)[: int(truth.sum())]
    assert truth[top].mean() >= 0.9  # the injected outliers are the top of the ranking
    assert spearmanr(exact.outlier_scores_, graph.outlier_scores_)[0] > 0.95


def test_mst_on_a_disconnected_knn_graph_is_joined_into_one_tree():
    from scipy.sparse import coo_matrix, csgraph

    rng = np.random.default_rng(1)
    # three far-apart blobs: a 15-NN graph has (at least) three separate components
    X = np.concatenate([rng.normal(c, 1, (150, 8)) for c in (0, 50, 100)]).astype(np.float32)
    idx, d = knn_graph(X, 15)
    g = coo_matrix((np.ones(idx.size), (np.repeat(np.arange(len(X)), 15), idx.ravel())))
    assert csgraph.connected_components(g, directed=False)[0] >= 3
    mst = mutual_reachability_mst(X, idx, d, min_samples=10)
    assert mst.shape == (len(X) - 1, 3) and np.all(np.diff(mst[:, 2]) >= 0)
    t = coo_matrix((np.ones(len(mst)), (mst[:, 0].astype(int), mst[:, 1].astype(int))),
                   shape=(len(X), len(X)))
    assert csgraph.connected_components(t, directed=False)[0] == 1
    # the joining edges are real distances between blobs (~50 apart in 8-D), not placeholders
    assert 40 < mst[-1, 2] < 200
    labels = HDBSCANClusterer(min_cluster_size=50, algorithm="knn_graph").fit(X).labels_
    assert len(set(labels.tolist()) - {-1}) == 3


def test_glosh_on_the_umap_graph_needs_no_second_search_and_matches_its_own():
    Z, y, truth = _blobs_with_outliers(n_per=100, k=3, n_out=6)
    m = UMAPMap(n_neighbors=15, n_epochs=30).fit(Z)
    idx, d = m.knn_graph_
    assert idx.shape == (len(Z), 15) and (idx[:, 0] == np.arange(len(Z))).all()
    Xr = m.reduce(Z)
    reused = HDBSCANClusterer(min_cluster_size=40, algorithm="knn_graph").fit(Xr, knn=m.knn_graph_)
    own = HDBSCANClusterer(min_cluster_size=40, algorithm="knn_graph").fit(Xr)
    assert np.allclose(reused.outlier_scores_, own.outlier_scores_)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(truth, reused.outlier_scores_) > 0.99


def _collection_with_embeddings(path, X, ids):
    coll = workbench.create(path, {"img": ProductSpec(("x",), (2, 2))})
    coll.append(pd.DataFrame({"id": ids}), {"img": np.zeros((len(ids), 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", X, tool="test")
    return coll


def test_a_fresh_process_places_new_items_where_the_fitting_session_does(tmp_path):
    from workbench.embed.store import load_map, map_and_store

    Z, y, _ = _blobs_with_outliers(n_per=80, dim=32, k=3, n_out=0, spread=4.0)
    old, new = Z[::2], Z[1::2][:30]
    coll = _collection_with_embeddings(tmp_path / "c", old, [f"o{i}" for i in range(len(old))])
    map_and_store(coll, method="umap", n_neighbors=10, n_epochs=60)
    same_session = load_map(coll).transform(new)  # the estimator fitted in this process
    rec = coll.derived["map-umap"]["made_by"]["params"]
    assert rec["model"] in coll.derived and rec["model_sha256"] == coll.derived[rec["model"]]["sha256"]

    # new items arrive later with their embeddings; a new process places them on the map
    coll.append(pd.DataFrame({"id": [f"n{i}" for i in range(len(new))]}),
                {"img": np.zeros((len(new), 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", np.concatenate([old, new]), tool="test")
    before = coll.catalog[["umap_x", "umap_y"]].to_numpy()[: len(old)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "workbench.cli", "map", str(coll.path),
                        "--method", "umap", "--transform-new"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"placed {len(new)} new items" in r.stdout
    cat = workbench.open(coll.path).catalog
    xy = cat[["umap_x", "umap_y"]].to_numpy()
    assert np.array_equal(xy[: len(old)], before)  # the map itself did not move
    assert np.allclose(xy[len(old):], same_session, atol=1e-4)
    assert workbench.open(coll.path).derived["map-umap"]["made_by"]["params"]["n_placed"] == 30


def test_a_tampered_model_file_is_refused_without_unpickling(tmp_path):
    from workbench.embed import store

    X, _, _ = _blobs_with_outliers(n_per=20, dim=4, k=2, n_out=0)
    coll = _collection_with_embeddings(tmp_path / "c", X, [f"i{i}" for i in range(len(X))])
    store.map_and_store(coll, method="pca")
    model = coll.derived["map-pca"]["made_by"]["params"]["model"]
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (coll.path / "derived" / json.loads((coll.path / "collection.json").read_text())
     ["derived"][model]["file"]).write_bytes(pickle.dumps(Evil()))
    store._LAST_MODEL.clear()
    with pytest.raises(CollectionError, match="SHA-256"):
        store.load_map(workbench.open(coll.path), "pca")
    assert not marker.exists()


def test_refitting_replaces_the_old_model_and_old_maps_say_how_to_refit(tmp_path):
    from workbench.embed import store

    X, _, _ = _blobs_with_outliers(n_per=20, dim=4, k=2, n_out=0)
    coll = _collection_with_embeddings(tmp_path / "c", X, [f"i{i}" for i in range(len(X))])
    store.map_and_store(coll, method="pca", seed=0)
    first = coll.derived["map-pca"]["made_by"]["params"]["model"]
    store.map_and_store(coll, method="pca", seed=1)
    second = coll.derived["map-pca"]["made_by"]["params"]["model"]
    assert first != second and first not in coll.derived and second in coll.derived
    store.map_and_store(coll, method="pca", save_model=False)
    store._LAST_MODEL.clear()
    with pytest.raises(CollectionError, match="refit"):
        store.load_map(coll, "pca")
