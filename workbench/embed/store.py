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

The fitted map estimator itself is stored too, as the derived file
``map-<method>-model-<key12>`` (``key12``: hash of its parameters and the embedding's name), a
pickle written by :func:`map_and_store` only. Its SHA-256 is recorded twice, in the file's own
manifest record and in the ``map-<method>`` record's parameters (``model_sha256``), and
:func:`load_map` refuses to unpickle bytes that match either record less than exactly. A later
session places new items on the same map with :func:`place_new_items` (``workbench map
COLLECTION --transform-new``) or ``load_map(coll).transform(vectors)``, and
:func:`cluster_and_store` reuses the map's nearest-neighbour graph for the outlier scores.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from workbench.core.errors import CollectionError

__all__ = ["latest_embedding", "load_embedding", "map_and_store", "load_map", "place_new_items",
           "cluster_and_store", "anomalies_and_store"]

#: The last map model stored or loaded in this process: {(collection path, sha256): estimator}.
_LAST_MODEL: dict = {}


def latest_embedding(coll) -> str:
    """Name of the newest derived array called ``embedding-*``."""
    names = coll.derived_arrays("embedding")
    if not names:
        raise CollectionError("no embeddings stored in this Collection", path=coll.path,
                              hint="run `workbench embed COLLECTION --encoder CKPT` first")
    return names[0]


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


def _ids_key(ids) -> str:
    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()[:16]


def map_and_store(coll, *, method: str = "umap", embedding: str | None = None, seed: int = 0,
                  save_model: bool = True, **options):
    """Fit a 2-D map of the embeddings and store it as ``map-<method>``; returns
    ``(set name, xy (n, 2))``. Options go to the estimator (``n_neighbors`` for UMAP only).

    ``save_model``: also store the fitted estimator (see the module notes), so that new items
    can be placed on this map in a later session.
    """
    import pickle

    from workbench.embed.projection import make_projection

    name, X = load_embedding(coll, embedding)
    if method != "umap":
        options.pop("n_neighbors", None)
    est = make_projection(method, random_state=seed, **options).fit(X)
    xy = est.embedding_
    set_name = f"map-{method}"
    params = {**est.params(), "embedding": name}
    root = coll._parent or coll
    old = root.derived.get(set_name, {}).get("made_by", {}).get("params", {}).get("model")
    if save_model:
        key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
        model = f"{set_name}-model-{key.hexdigest()[:12]}"
        sha = coll.add_file(model, pickle.dumps(est, protocol=5), suffix=".pkl",
                            tool=f"workbench.embed.projection.{type(est).__name__}",
                            params={**params, "n_items": len(X), "ids": _ids_key(coll.ids)})
        params.update(model=model, model_sha256=sha)
        _LAST_MODEL.clear()
        _LAST_MODEL[(str(root.path), sha)] = est
    coll.add_columns(set_name, {f"{method}_x": xy[:, 0], f"{method}_y": xy[:, 1]},
                     tool=f"workbench.embed.projection.{type(est).__name__}", params=params)
    if old and old != params.get("model") and old in root.derived:
        root.remove_derived(old)  # the model of the map these columns replaced
    return set_name, xy


def load_map(coll, method: str = "umap"):
    """The fitted estimator of the stored ``map-<method>`` (its ``transform`` places new
    embeddings on that map). The pickle is loaded only if its bytes match the SHA-256 that the
    manifest and the map's own record hold."""
    import pickle

    root = coll._parent or coll
    rec = root.derived.get(f"map-{method}")
    if rec is None:
        raise CollectionError(f"no stored {method} map", path=root.path,
                              hint=f"run `workbench map COLLECTION --method {method}`")
    params = rec["made_by"]["params"]
    model, sha = params.get("model"), params.get("model_sha256")
    mrec = root.derived.get(model) if model else None
    if mrec is None or mrec.get("sha256") != sha:
        raise CollectionError(f"the stored {method} map has no saved model (made before maps "
                              "were saved, or its model file was replaced)", path=root.path,
                              hint=f"refit it: `workbench map COLLECTION --method {method}`")
    hit = _LAST_MODEL.get((str(root.path), sha))
    if hit is not None:
        return hit
    est = pickle.loads(root.derived_file(model))  # derived_file checked the SHA-256 first
    _LAST_MODEL.clear()
    _LAST_MODEL[(str(root.path), sha)] = est
    return est


def place_new_items(coll, *, method: str = "umap") -> tuple[str, np.ndarray]:
    """Place the items that have no ``<method>_x/_y`` yet (appended after the map was made)
    on the stored map, without refitting it; the map columns are rewritten with the old
    positions unchanged. Returns ``(set name, positions of the placed items)``.

    Items without a cluster or anomaly score also get them, from their nearest fitted
    neighbours in the embedding space (:mod:`workbench.embed.placement`: kNN cluster vote,
    quantile-calibrated outlier scores); the fitted rows of those sets stay unchanged."""
    root = coll._parent or coll
    if coll._parent is not None:
        raise CollectionError("place new items on the whole Collection, not on a view",
                              path=root.path)
    est = load_map(coll, method)
    set_name = f"map-{method}"
    made = root.derived[set_name]["made_by"]
    cols = [f"{method}_x", f"{method}_y"]
    xy = coll.catalog[cols].to_numpy(np.float32)
    todo = np.flatnonzero(np.isnan(xy).any(axis=1))
    if len(todo):
        name = made["params"]["embedding"]
        X = coll.derived_array(name)[todo]
        if np.isnan(X).any():
            raise CollectionError(f"{int(np.isnan(X).any(axis=1).sum())} new items have no "
                                  f"{name} embedding", path=root.path,
                                  hint="embed them first (workbench embed COLLECTION --encoder "
                                       "CKPT, with the checkpoint the map was made from)")
        xy[todo] = est.transform(X)
        made = json.loads(json.dumps(made))
        made["params"]["n_placed"] = int(made["params"].get("n_placed", 0)) + len(todo)
        coll.add_columns(set_name, {cols[0]: xy[:, 0], cols[1]: xy[:, 1]}, made=made)
    from workbench.embed.placement import place_anomaly_scores, place_in_clusters

    place_in_clusters(coll)
    place_anomaly_scores(coll)
    return set_name, todo


def _map_graph(coll, name: str, X: np.ndarray, map_method: str):
    """``(points, kNN graph)`` of the stored map's model when it was fitted on exactly these
    embeddings (same name, same items), else ``(X, None)``."""
    root = coll._parent or coll
    try:
        est = load_map(coll, map_method)
    except CollectionError:
        return X, None
    p = root.derived[root.derived[f"map-{map_method}"]["made_by"]["params"]["model"]]
    p = p["made_by"]["params"]
    graph = getattr(est, "knn_graph_", None)
    if (graph is None or p.get("embedding") != name or p.get("n_items") != len(X)
            or p.get("ids") != _ids_key(coll.ids)):
        return X, None
    return est.reduce(X), graph


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
    if space not in ("map", "embedding"):
        raise CollectionError(f"space must be 'map' or 'embedding', not {space!r}")
    Xg, knn = _map_graph(coll, name, X, map_method)
    if space == "map":
        cols = [f"{map_method}_x", f"{map_method}_y"]
        cat = coll.catalog
        if not set(cols) <= set(cat.columns):
            raise CollectionError(f"no stored {map_method} map to cluster", path=coll.path,
                                  hint=f"run `workbench map COLLECTION --method {map_method}`")
        est = HDBSCANClusterer(**options).fit(cat[cols].to_numpy(np.float32))
        out = HDBSCANClusterer(**options).fit(Xg, knn=knn)
    else:
        est = out = HDBSCANClusterer(**options).fit(Xg, knn=knn)
    glosh = out.outlier_scores_
    coll.add_columns("clusters", {"cluster": est.labels_, "cluster_prob": est.probabilities_,
                                  "outlier_glosh": glosh},
                     tool="workbench.embed.cluster.HDBSCANClusterer",
                     params={**est.params(), "embedding": name, "space": space,
                             "map": f"map-{map_method}" if space == "map" else None,
                             "outlier_space": "embedding", "outlier_algorithm": out.algorithm_,
                             "outlier_graph": "map model" if knn is not None else None,
                             "n_clusters": est.n_clusters_, "sizes": est.cluster_sizes_})
    return "clusters", est.labels_


def anomalies_and_store(coll, *, method: str = "glosh", embedding: str | None = None,
                        seed: int = 0, **options):
    """Score anomalies in embedding space; store ``anomaly-<method>``.
    Returns ``(set name, scores (n,))``. When a UMAP map of the same embeddings is stored,
    its neighbour graph (and PCA) is reused."""
    from workbench.embed.anomaly import AnomalyScorer

    name, X = load_embedding(coll, embedding)
    Xg, knn = _map_graph(coll, name, X, "umap")
    est = AnomalyScorer(method, random_state=seed, **options).fit(Xg, knn=knn)
    set_name = f"anomaly-{method}"
    coll.add_columns(set_name, {f"anomaly_{method}": est.scores_},
                     tool="workbench.embed.anomaly.AnomalyScorer",
                     params={**est.params(), "embedding": name})
    return set_name, est.scores_
