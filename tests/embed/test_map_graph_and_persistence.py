"""Graph-based HDBSCAN/GLOSH on the map's kNN graph, and fitted maps saved beside the Collection
(issue 7 follow-up)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
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
    # the same graph up to float32 rounding of the distances (umap-learn's own vs knn_search)
    assert np.allclose(reused.outlier_scores_, own.outlier_scores_, atol=1e-5)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(truth, reused.outlier_scores_) > 0.99


def _collection_with_embeddings(path, X, ids):
    coll = workbench.create(path, {"img": ProductSpec(("x",), (2, 2))})
    coll.append(pd.DataFrame({"id": ids}), {"img": np.zeros((len(ids), 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", X, tool="test")
    return coll


def _append(coll, old, new):
    coll.append(pd.DataFrame({"id": [f"n{i}" for i in range(len(new))]}),
                {"img": np.zeros((len(new), 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", np.concatenate([old, new]), tool="test")


def _transform_new(path, *extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # WORKBENCH_HOME: this test's (conftest)
    return subprocess.run([sys.executable, "-m", "workbench.cli", "map", str(path),
                           "--method", "umap", "--transform-new", *extra],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_a_fresh_process_places_new_items_where_the_fitting_session_does(tmp_path):
    """With your own saved model (--save-model, then --exact) the placement is umap-learn's
    transform exactly; without it (the default), from arrays, each item lands in its blob."""
    from workbench.embed.records import load_map, map_and_store

    Z, y, _ = _blobs_with_outliers(n_per=80, dim=32, k=3, n_out=0, spread=4.0)
    old, new, y_old, y_new = Z[::2], Z[1::2][:30], y[::2], y[1::2][:30]
    coll = _collection_with_embeddings(tmp_path / "c", old, [f"o{i}" for i in range(len(old))])
    map_and_store(coll, method="umap", n_neighbors=10, n_epochs=60, save_model=True)
    same_session = load_map(coll).transform(new)  # the estimator just written (trusted)
    rec = coll.derived["map-umap"]["made_by"]["params"]
    assert rec["model"] in coll.derived
    assert rec["model_sha256"] == coll.derived[rec["model"]]["sha256"]

    # new items arrive later with their embeddings; a new process places them on the map
    _append(coll, old, new)
    before = coll.catalog[["umap_x", "umap_y"]].to_numpy()[: len(old)]
    shutil.copytree(coll.path, tmp_path / "copy")
    r = _transform_new(coll.path, "--exact")
    assert r.returncode == 0, r.stderr
    assert f"placed {len(new)} new items" in r.stdout and "saved model" in r.stdout
    back = workbench.open(coll.path)
    xy = back.catalog[["umap_x", "umap_y"]].to_numpy()
    assert np.array_equal(xy[: len(old)], before)  # the map itself did not move
    assert np.allclose(xy[len(old):], same_session, atol=1e-4)
    p = back.derived["map-umap"]["made_by"]["params"]
    assert p["n_placed"] == 30 and p["n_fitted"] == len(old)
    assert p["placed_by"]["model_sha256"] == rec["model_sha256"]

    r = _transform_new(tmp_path / "copy")  # default: arrays only
    assert r.returncode == 0, r.stderr
    assert f"placed {len(new)} new items on map-umap from stored arrays" in r.stdout
    cat = workbench.open(tmp_path / "copy").catalog
    arr = cat[["umap_x", "umap_y"]].to_numpy()
    assert np.array_equal(arr[: len(old)], before)
    centres = np.stack([before[y_old == b].mean(0) for b in range(3)])
    for placed in (arr[len(old):], same_session):  # both land in each item's own blob
        near = np.argmin(((placed[:, None] - centres[None]) ** 2).sum(-1), 1)
        assert (near == y_new).all()
    # and about as far from that blob's fitted points as umap-learn's transform puts them
    radius = np.median([np.linalg.norm(before[y_old == b] - centres[b], axis=1).max()
                        for b in range(3)])
    assert np.linalg.norm(arr[len(old):] - centres[y_new], axis=1).max() < radius
    p = workbench.open(tmp_path / "copy").derived["map-umap"]["made_by"]["params"]
    assert p["placed_by"]["k"] == 10 and "fuzzy kNN" in p["placed_by"]["rule"]


def test_array_placement_on_real_digits_is_close_to_umap_transform(tmp_path):
    """Measured against umap-learn's own transform on sklearn's digits (20% held out): the
    array placement lands within 3% of the map's extent (median) and reads the same digit
    off its 10 nearest fitted items nearly as often (see workbench.embed.placement)."""
    from sklearn.datasets import load_digits

    from workbench.embed.placement import place_positions

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    held = np.random.default_rng(1).random(len(X)) < 0.2
    m = UMAPMap(n_neighbors=15).fit(X[~held])
    Y = m.embedding_
    exact = m.transform(X[held])
    ours = place_positions(X[~held], Y, X[held], k=15)
    err = np.linalg.norm(ours - exact, axis=1)
    extent = np.ptp(Y, axis=0).max()
    assert np.median(err) < 0.03 * extent and np.quantile(err, 0.9) < 0.06 * extent

    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=10).fit(Y)
    yf = y[~held]

    def digit_read(P):
        return np.array([np.bincount(yf[r]).argmax() for r in nn.kneighbors(P)[1]])

    acc_exact, acc_ours = (np.mean(digit_read(P) == y[held]) for P in (exact, ours))
    assert acc_ours > 0.9 and acc_ours >= acc_exact - 0.03


def test_pca_maps_place_new_items_exactly_from_their_stored_linear_part(tmp_path):
    from workbench.embed import records
    from workbench.embed.projection import PCAMap

    Z, _, _ = _blobs_with_outliers(n_per=40, dim=16, k=3, n_out=0)
    old, new = Z[:90], Z[90:]
    coll = _collection_with_embeddings(tmp_path / "c", old, [f"o{i}" for i in range(len(old))])
    records.map_and_store(coll, method="pca")
    p = coll.derived["map-pca"]["made_by"]["params"]
    assert "model" not in p  # nothing pickled unless asked
    lin = coll.derived[p["linear"]]
    assert lin["type"] == "file" and lin["made_by"]["params"]["shape"] == [3, 16]
    _append(coll, old, new)
    records.place_new_items(coll, method="pca")
    xy = workbench.open(coll.path).catalog[["pca_x", "pca_y"]].to_numpy()
    assert np.allclose(xy[len(old):], PCAMap().fit(old).transform(new), atol=1e-4)


def test_a_tampered_model_file_is_refused_without_unpickling(tmp_path):
    from workbench.embed import records

    X, _, _ = _blobs_with_outliers(n_per=20, dim=4, k=2, n_out=0)
    coll = _collection_with_embeddings(tmp_path / "c", X, [f"i{i}" for i in range(len(X))])
    records.map_and_store(coll, method="pca", save_model=True)
    model = coll.derived["map-pca"]["made_by"]["params"]["model"]
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (coll.path / "derived" / json.loads((coll.path / "collection.json").read_text())
     ["derived"][model]["file"]).write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CollectionError, match="SHA-256|bytes the manifest records"):
        records.load_map(workbench.open(coll.path), "pca")
    assert not marker.exists()


def test_refitting_replaces_the_old_model_and_parts_and_old_maps_say_how_to_refit(tmp_path):
    from workbench.embed import records

    X, _, _ = _blobs_with_outliers(n_per=20, dim=4, k=2, n_out=0)
    coll = _collection_with_embeddings(tmp_path / "c", X, [f"i{i}" for i in range(len(X))])
    records.map_and_store(coll, method="pca", seed=0, save_model=True)
    first = coll.derived["map-pca"]["made_by"]["params"]
    records.map_and_store(coll, method="pca", seed=1, save_model=True)
    second = coll.derived["map-pca"]["made_by"]["params"]
    assert first["model"] != second["model"] and second["model"] in coll.derived
    assert first["model"] not in coll.derived and first["linear"] not in coll.derived
    records.map_and_store(coll, method="pca", save_model=False)
    third = coll.derived["map-pca"]["made_by"]["params"]
    assert sorted(n for n in coll.derived if n.startswith("map-pca-")) == [third["linear"]]
    with pytest.raises(CollectionError, match="refit"):
        records.load_map(coll, "pca")


def test_a_later_process_reuses_the_stored_umap_graph_and_refuses_a_doctored_one(tmp_path):
    from workbench.embed import records

    Z, _, _ = _blobs_with_outliers(n_per=60, dim=16, k=3, n_out=4)
    coll = _collection_with_embeddings(tmp_path / "c", Z, [f"i{i}" for i in range(len(Z))])
    records.map_and_store(coll, method="umap", n_neighbors=12, n_epochs=30)
    fitted = UMAPMap(n_neighbors=12, n_epochs=30).fit(Z)  # the same seed: the same graph
    back = workbench.open(coll.path, "r+")
    graph = records.stored_graph(back)
    idx, dist = graph.knn
    assert np.array_equal(graph.points, Z) and graph.fit_rows is None  # no PCA, full fit
    assert np.array_equal(idx, fitted.knn_graph_[0])
    assert np.allclose(dist, fitted.knn_graph_[1])
    records.cluster_and_store(back, map_method="umap", min_cluster_size=20)
    assert back.derived["clusters"]["made_by"]["params"]["outlier_graph"] == "map-umap graph"
    # a graph made from another embedding (even of equal values) is not used
    back.add_array("embedding-other", Z, tool="test")
    assert records.stored_graph(back, embedding="embedding-other") is None
    assert records.stored_graph(back, embedding="embedding-test") is not None

    # an index out of range (a doctored graph) is a CollectionError, not an out-of-range read
    name = back.derived["map-umap"]["made_by"]["params"]["knn"][0]
    bad = idx.copy()
    bad[3, 2] = len(Z) + 10**6
    back.add_array(name, bad, made=back.derived[name]["made_by"])
    with pytest.raises(CollectionError, match="indices out of range"):
        records.anomalies_and_store(workbench.open(coll.path, "r+"), method="knn",
                                    embedding="embedding-test")
