"""Items appended after clustering get a cluster id and outlier scores when placed on the
stored map (issue 7 follow-up: workbench.embed.placement)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import workbench
from workbench.embed.placement import calibrate_scores, vote_clusters
from workbench.io.collection import ProductSpec

ROOT = Path(__file__).resolve().parents[2]


def _blobs(n_per=160, dim=32, k=4, seed=3, spread=4.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (k, dim))
    X = np.concatenate([c + rng.normal(0, 1, (n_per, dim)) for c in centres]).astype(np.float32)
    return X, np.repeat(np.arange(k), n_per)


def _transform_new_in_a_fresh_process(path):
    r = subprocess.run([sys.executable, "-m", "workbench.cli", "map", str(path), "--method",
                        "pca", "--transform-new"], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def test_vote_and_calibration_rules():
    nb = np.array([[0, 0, 1], [-1, -1, 0], [1, 1, 1], [0, -1, 1]])
    lab, share = vote_clusters(nb, np.array([1.0, 1.0, 5.0, 1.0]), {0: 2.0, 1: 2.0})
    assert lab.tolist() == [0, -1, -1, -1]  # majority; mostly noise; too far; a tie -> noise
    assert np.allclose(share, [2 / 3, 0, 0, 0])
    s_ref, score_ref = np.arange(1.0, 11.0), np.linspace(0.0, 0.5, 10)
    out = calibrate_scores(s_ref, score_ref, np.array([1.0, 10.0, 20.0, 1e6]), bounded=True)
    assert np.allclose(out[:2], [0.0, 0.5]) and 0.5 < out[2] < out[3] <= 1.0
    assert np.isclose(calibrate_scores(s_ref, s_ref, np.array([20.0]), bounded=False)[0], 20.0)


def test_held_out_items_get_their_blobs_cluster_and_a_far_point_is_a_top_outlier(tmp_path):
    from workbench.embed.records import anomalies_and_store, cluster_and_store, map_and_store

    X, y = _blobs()
    rng = np.random.default_rng(0)
    held = np.zeros(len(X), bool)
    held[rng.choice(len(X), len(X) // 4, replace=False)] = True
    old, new = X[~held], X[held]
    far = (X.max(0) + 25.0)[None].astype(np.float32)  # far outside every blob
    new = np.concatenate([new, far])
    y_old, y_new = y[~held], y[held]

    coll = workbench.create(tmp_path / "c", {"img": ProductSpec(("x",), (2, 2))})
    coll.append(pd.DataFrame({"id": [f"o{i}" for i in range(len(old))]}),
                {"img": np.zeros((len(old), 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", old, tool="test")
    map_and_store(coll, method="pca")
    cluster_and_store(coll, space="embedding", map_method="pca", min_cluster_size=40)
    anomalies_and_store(coll, method="glosh", min_cluster_size=40)
    anomalies_and_store(coll, method="knn")
    cols = ["cluster", "cluster_prob", "outlier_glosh", "anomaly_glosh", "anomaly_knn"]
    before = coll.catalog[cols].copy()
    lab_old = before["cluster"].to_numpy()
    assert len(set(lab_old.tolist()) - {-1}) == 4

    coll.append(pd.DataFrame({"id": [f"n{i}" for i in range(len(new))]}),
                {"img": np.zeros((len(new), 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", np.concatenate([old, new]), tool="test")
    r = _transform_new_in_a_fresh_process(coll.path)
    assert f"clusters: {len(new)} placed items" in r.stdout

    back = workbench.open(coll.path)
    cat = back.catalog
    n_old = len(old)
    pd.testing.assert_frame_equal(cat[cols].iloc[:n_old], before)  # fitted rows unchanged
    assert cat["cluster"].dtype == np.int64 and not cat[cols].isna().any().any()

    # each held-out item gets the cluster its blob has among the fitted items
    blob_cluster = {b: np.bincount(lab_old[(y_old == b) & (lab_old >= 0)]).argmax()
                    for b in range(4)}
    placed = cat["cluster"].to_numpy()[n_old:]
    expect = np.array([blob_cluster[b] for b in y_new])
    assert (placed[:-1] == expect).mean() >= 0.95
    assert placed[-1] == -1 and cat["cluster_prob"].iloc[-1] == 0

    # the far point tops every outlier ranking; held-out blob items score like fitted ones
    for c in ("outlier_glosh", "anomaly_glosh", "anomaly_knn"):
        s = cat[c].to_numpy()
        assert s[-1] >= s[:-1].max(), c
        assert abs(np.median(s[n_old:-1]) - np.median(s[:n_old])) < 0.25 * s[:n_old].std() + 1e-9, c
    assert cat["outlier_glosh"].max() <= 1.0
    # k-th neighbour distance: calibrated scores agree with the exact distances to fitted items
    d = np.sort(np.linalg.norm(new[:-1, None] - old[None], axis=2), axis=1)[:, 9]
    assert np.allclose(cat["anomaly_knn"].to_numpy()[n_old:-1], d, rtol=0.05)

    for name in ("clusters", "anomaly-glosh", "anomaly-knn"):
        p = back.derived[name]["made_by"]["params"]
        assert p["n_fitted"] == n_old and p["n_placed"] == len(new)
        assert "placement" in p["placed_by"]["rule"] and p["placed_by"]["k"] == 10
    assert back.derived["clusters"]["made_by"]["params"]["min_cluster_size"] == 40

    # nothing left to place: running again changes nothing
    _transform_new_in_a_fresh_process(coll.path)
    pd.testing.assert_frame_equal(workbench.open(coll.path).catalog[cols], cat[cols])
