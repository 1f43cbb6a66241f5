"""Store maps, clusters and anomaly scores beside a Collection as derived columns.

Each result is a derived column set whose ``made_by`` record names the estimator, its
parameters and the embedding it was computed from:

===================  =====================================  ===================================
derived set          columns                                made by
===================  =====================================  ===================================
``map-<method>``     ``<method>_x``, ``<method>_y``         :mod:`workbench.embed.projection`
``clusters``         ``cluster``, ``cluster_prob``,         :mod:`workbench.embed.cluster`
                     ``outlier_glosh``
``anomaly-<method>`` ``anomaly_<method>``                   :mod:`workbench.embed.anomaly`
===================  =====================================  ===================================
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import CollectionError

__all__ = ["latest_embedding", "load_embedding", "map_and_store", "cluster_and_store",
           "anomalies_and_store"]


def latest_embedding(coll) -> str:
    """Name of the newest derived array called ``embedding-*``."""
    root = coll._parent or coll
    cands = [(rec.get("made_by", {}).get("created", ""), name)
             for name, rec in root._manifest["derived"].items()
             if rec["type"] == "array" and name.startswith("embedding")]
    if not cands:
        raise CollectionError("no embeddings stored in this Collection", path=coll.path,
                              hint="run `workbench embed COLLECTION --encoder CKPT` first")
    return max(cands)[1]


def load_embedding(coll, name: str | None = None) -> tuple[str, np.ndarray]:
    """``(name, array (n, d))`` of the named (default: newest) embedding, rows = items."""
    name = name or latest_embedding(coll)
    try:
        X = coll.derived_array(name)
    except KeyError as exc:
        raise CollectionError(str(exc.args[0]), path=coll.path,
                              hint="see `workbench info COLLECTION` for derived data") from None
    if np.isnan(X).any():
        n = int(np.isnan(X).any(axis=1).sum())
        raise CollectionError(f"{n} items have no {name} embedding", path=coll.path,
                              hint="re-run `workbench embed` after adding items")
    return name, X.astype(np.float32)


def map_and_store(coll, *, method: str = "umap", embedding: str | None = None, seed: int = 0,
                  **options):
    """Fit a 2-D map of the embeddings and store it as ``map-<method>``; returns
    ``(set name, xy (n, 2))``. Options go to the estimator (``n_neighbors`` for UMAP only)."""
    from workbench.embed.projection import make_projection

    name, X = load_embedding(coll, embedding)
    if method != "umap":
        options.pop("n_neighbors", None)
    est = make_projection(method, random_state=seed, **options).fit(X)
    xy = est.embedding_
    set_name = f"map-{method}"
    coll.add_columns(set_name, {f"{method}_x": xy[:, 0], f"{method}_y": xy[:, 1]},
                     tool=f"workbench.embed.projection.{type(est).__name__}",
                     params={**est.params(), "embedding": name})
    return set_name, xy


def cluster_and_store(coll, *, embedding: str | None = None, space: str = "map",
                      map_method: str = "umap", **options):
    """HDBSCAN clusters and GLOSH outlier scores; stored as ``clusters`` (cluster,
    cluster_prob, outlier_glosh). Returns ``(set name, labels (n,))``.

    ``space="map"`` (default) clusters the stored 2-D ``map-<map_method>`` (what the user sees;
    fast at any N), ``space="embedding"`` the embeddings themselves. The GLOSH outlier scores
    are always computed in the embedding space (a 2-D map absorbs outliers into clusters).
    """
    from workbench.embed.cluster import HDBSCANClusterer

    name, X = load_embedding(coll, embedding)
    if space == "map":
        cols = [f"{map_method}_x", f"{map_method}_y"]
        cat = coll.catalog
        if not set(cols) <= set(cat.columns):
            raise CollectionError(f"no stored {map_method} map to cluster", path=coll.path,
                                  hint=f"run `workbench map COLLECTION --method {map_method}`")
        est = HDBSCANClusterer(**options).fit(cat[cols].to_numpy(np.float32))
        glosh = HDBSCANClusterer(**options).fit(X).outlier_scores_
    elif space == "embedding":
        est = HDBSCANClusterer(**options).fit(X)
        glosh = est.outlier_scores_
    else:
        raise CollectionError(f"space must be 'map' or 'embedding', not {space!r}")
    coll.add_columns("clusters", {"cluster": est.labels_, "cluster_prob": est.probabilities_,
                                  "outlier_glosh": glosh},
                     tool="workbench.embed.cluster.HDBSCANClusterer",
                     params={**est.params(), "embedding": name, "space": space,
                             "map": f"map-{map_method}" if space == "map" else None,
                             "outlier_space": "embedding",
                             "n_clusters": est.n_clusters_, "sizes": est.cluster_sizes_})
    return "clusters", est.labels_


def anomalies_and_store(coll, *, method: str = "glosh", embedding: str | None = None,
                        seed: int = 0, **options):
    """Score anomalies in embedding space; store ``anomaly-<method>``.
    Returns ``(set name, scores (n,))``."""
    from workbench.embed.anomaly import AnomalyScorer

    name, X = load_embedding(coll, embedding)
    est = AnomalyScorer(method, random_state=seed, **options).fit(X)
    set_name = f"anomaly-{method}"
    coll.add_columns(set_name, {f"anomaly_{method}": est.scores_},
                     tool="workbench.embed.anomaly.AnomalyScorer",
                     params={**est.params(), "embedding": name})
    return set_name, est.scores_
