"""The records of the embedding analyses: maps, clusters and anomaly scores stored beside a
Collection as derived columns (this is not the label store, :mod:`workbench.io.labels.store`).

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

A map is also kept as plain arrays and JSON parameters (:mod:`workbench.embed.map_arrays`: its
linear part, UMAP's nearest-neighbour graph), which cannot run code when read. A later
session places new items on the same map with :func:`place_new_items` (``workbench map
COLLECTION --transform-new``) from those arrays, the stored embeddings and the stored
columns alone (:mod:`workbench.embed.placement`), and :func:`cluster_and_store` and
:func:`anomalies_and_store` reuse the stored graph for the outlier scores
(:func:`stored_graph` reads it back as they see it).

Nothing in a Collection is unpickled by default. Only with ``save_model=True``
(``workbench map --save-model``) is the fitted estimator also written, as the pickle
``map-<method>-model-<fit>``, and its SHA-256 added to the user's own trust list outside the
Collection (:mod:`workbench.embed.trust`). :func:`load_map` (``place_new_items(...,
exact=True)``, ``--transform-new --exact``) unpickles a model only when its hash is in that
list; a model from anyone else's Collection is refused before its bytes are read.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import NamedTuple

import numpy as np

from workbench.core.errors import CollectionError, ModelError
from workbench.embed import map_arrays, trust

__all__ = ["latest_embedding", "load_embedding", "map_and_store", "load_map", "place_new_items",
           "stored_graph", "StoredGraph", "cluster_and_store", "anomalies_and_store"]


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
                  save_model: bool = False, **options):
    """Fit a 2-D map of the embeddings and store it as ``map-<method>`` with its arrays (see
    the module notes); returns ``(set name, xy (n, 2))``. Options go to the estimator
    (``n_neighbors`` for UMAP only).

    ``save_model``: also store the fitted estimator as a pickle and add its SHA-256 to your
    trust list (:mod:`workbench.embed.trust`), for ``place_new_items(..., exact=True)``.
    """
    from workbench.embed.projection import make_projection

    name, X = load_embedding(coll, embedding)
    if method != "umap":
        options.pop("n_neighbors", None)
    est = make_projection(method, random_state=seed, **options).fit(X)
    xy = est.embedding_
    set_name = f"map-{method}"
    tool = f"workbench.embed.projection.{type(est).__name__}"
    root = coll.root
    fit = uuid.uuid4().hex[:12]
    params = {**est.params(), "embedding": name, "fit": fit}
    if save_model:  # trusted before anything is written, so a failure here changes nothing
        import pickle

        data = pickle.dumps(est, protocol=5)
        params.update(model=f"{set_name}-model-{fit}",
                      model_sha256=hashlib.sha256(data).hexdigest())
        trust.trust(params["model_sha256"], name=params["model"], collection=root.path)
    params.update(map_arrays.write_parts(coll, set_name, est, fit, embedding=name,
                                         ids_key=_ids_key(coll.ids)))
    if save_model:
        coll.add_file(params["model"], data, suffix=".pkl", tool=tool, params={"fit": fit})
    coll.add_columns(set_name, {f"{method}_x": xy[:, 0], f"{method}_y": xy[:, 1]},
                     tool=tool, params=params)
    parts = [params.get("linear"), params.get("model"), *params.get("knn", [])]
    map_arrays.remove_stale(root, set_name, [p for p in parts if p])  # of the replaced fit
    return set_name, xy


def _map_record(root, method: str) -> dict:
    rec = root.derived.get(f"map-{method}")
    params = ((rec or {}).get("made_by") or {}).get("params")
    if rec is None or rec.get("type") != "columns":
        raise CollectionError(f"no stored {method} map", path=root.path,
                              hint=f"run `workbench map COLLECTION --method {method}`")
    if not isinstance(params, dict):
        raise CollectionError(f"the map-{method} record has no parameters", path=root.path,
                              hint=f"refit it: `workbench map COLLECTION --method {method}`")
    return rec


def load_map(coll, method: str = "umap"):
    """The fitted estimator of the stored ``map-<method>`` (its ``transform`` places new
    embeddings on that map), saved by your own ``map_and_store(..., save_model=True)``.

    The pickle is read only when its SHA-256 (as the map's record names it) is in your trust
    list (:mod:`workbench.embed.trust`), and unpickled only when its bytes have that hash;
    any other model is refused with a :class:`ModelError` before its file is opened."""
    import pickle

    root = coll.root
    params = _map_record(root, method)["made_by"]["params"]
    model, sha = params.get("model"), params.get("model_sha256")
    refit = f"refit it yourself: `workbench map COLLECTION --method {method} --save-model`"
    mrec = root.derived.get(model) if isinstance(model, str) else None
    if mrec is None or mrec.get("type") != "file" or mrec.get("sha256") != sha:
        raise CollectionError(f"the stored {method} map has no saved model (made without "
                              "--save-model, or its model file was replaced)", path=root.path,
                              hint=refit)
    if not trust.is_trusted(sha):
        raise ModelError(f"the {method} map's model {model} was not written by your own "
                         f"`workbench map --save-model` (its SHA-256 is not in your trust list "
                         f"{trust.trust_list_path()}), so it is not unpickled", path=root.path,
                         hint=f"place new items without --exact, or {refit}")
    data = root.derived_file(model)  # CollectionError unless the bytes match the manifest
    if hashlib.sha256(data).hexdigest() != sha or not trust.is_trusted(sha):
        raise ModelError(f"the {method} map's model {model} changed while it was read",
                         path=root.path, hint=refit)
    return pickle.loads(data)  # bytes the user's own workbench wrote (trust list)


def _as_int(v, lo: int, hi: int, default: int) -> int:
    if v is None:
        return default
    if not (isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi):
        raise ValueError(v)
    return v


def _place_from_arrays(root, method: str, params: dict, X: np.ndarray, fitted: np.ndarray,
                       todo: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, dict]:
    """Positions of rows ``todo`` from the embeddings ``X``, the fitted rows' positions and
    the map's stored linear part (see :mod:`workbench.embed.placement`)."""
    from workbench.embed.placement import POSITIONS_BY, place_positions

    set_name = f"map-{method}"
    A = map_arrays.read_linear(root, set_name, params, X.shape[1])
    if method == "pca" and A is not None:
        return map_arrays.apply_linear(A, X[todo]), {"rule": "workbench.embed.placement "
                                                     "(the stored linear PCA map)"}
    if len(fitted) < 2:
        raise CollectionError(f"{set_name} has {len(fitted)} fitted items to place new ones "
                              "among", path=root.path, hint="refit it: workbench map COLLECTION")
    try:
        k = min(_as_int(params.get("n_neighbors"), 2, map_arrays.MAX_K, 15), len(fitted))
    except ValueError as exc:
        raise CollectionError(f"{set_name} has n_neighbors={exc.args[0]!r}", path=root.path,
                              hint="refit it: workbench map COLLECTION") from None
    Xf, Xn = X[fitted], X[todo]
    if A is not None:  # the space the map was fitted in
        Xf, Xn = map_arrays.apply_linear(A, Xf), map_arrays.apply_linear(A, Xn)
    pos = place_positions(Xf, xy[fitted], Xn, k=k)
    return pos, {"rule": POSITIONS_BY, "k": k, "space": "reduced" if A is not None else "embedding"}


def place_new_items(coll, *, method: str = "umap", exact: bool = False
                    ) -> tuple[str, np.ndarray]:
    """Place the items that have no ``<method>_x/_y`` yet (appended after the map was made)
    on the stored map, without refitting it; the map columns are rewritten with the old
    positions unchanged. Returns ``(set name, positions of the placed items)``.

    By default from arrays only (:mod:`workbench.embed.placement`: fuzzy k-nearest-neighbour
    mean of the fitted positions; exact for PCA maps); nothing is unpickled. ``exact=True``
    uses the estimator's own ``transform`` instead, from the model saved by your own
    ``workbench map --save-model`` (:func:`load_map`; any other model is a ModelError).

    Items without a cluster or anomaly score also get them, from their nearest fitted
    neighbours in the embedding space (:mod:`workbench.embed.placement`: kNN cluster vote,
    quantile-calibrated outlier scores); the fitted rows of those sets stay unchanged."""
    from workbench.embed.placement import (
        _embedding_rows,
        _placed_record,
        _split,
        place_anomaly_scores,
        place_in_clusters,
    )

    root = coll.root
    if coll.is_view:
        raise CollectionError("place new items on the whole Collection, not on a view",
                              path=root.path)
    set_name = f"map-{method}"
    made = _map_record(root, method)["made_by"]
    est = load_map(coll, method) if exact else None  # refused before anything is written
    cols = [f"{method}_x", f"{method}_y"]
    cat = coll.catalog
    if not set(cols) <= set(cat.columns):
        raise CollectionError(f"the {set_name} record has no {cols} columns", path=root.path,
                              hint=f"refit it: workbench map COLLECTION --method {method}")
    xy = cat[cols].to_numpy(np.float32)
    fitted, todo = _split(made, xy[:, 0], root=root, name=set_name)
    if len(todo):
        params = made["params"]
        X = _embedding_rows(root, params["embedding"], np.r_[fitted, todo])
        if est is not None:
            xy[todo] = est.transform(X[todo])
            rule = {"rule": f"{made.get('name')}.transform (the trusted model saved by "
                            "workbench map --save-model)", "model_sha256": params["model_sha256"]}
        else:
            xy[todo], rule = _place_from_arrays(root, method, params, X, fitted, todo, xy)
        coll.add_columns(set_name, {cols[0]: xy[:, 0], cols[1]: xy[:, 1]},
                         made=_placed_record(made, len(fitted), len(todo), rule))
    place_in_clusters(coll)
    place_anomaly_scores(coll)
    return set_name, todo


def _map_graph(coll, name: str, X: np.ndarray, map_method: str):
    """``(points, kNN graph)`` of the stored map's graph when it was made from exactly these
    embeddings (same name, same items), else ``(X, None)``; read from arrays only."""
    root = coll.root
    rec = root.derived.get(f"map-{map_method}")
    params = ((rec or {}).get("made_by") or {}).get("params")
    if not isinstance(params, dict):
        return X, None
    set_name = f"map-{map_method}"
    graph = map_arrays.read_graph(coll, set_name, params, embedding=name, n=len(X),
                                  ids_key=_ids_key(coll.ids))
    if graph is None:
        return X, None
    A = map_arrays.read_linear(root, set_name, params, X.shape[1])
    return (X if A is None else map_arrays.apply_linear(A, X)), graph


def _graph_fit_rows(coll, map_method: str, n: int):
    """The items a sampled UMAP map was fitted on (its graph lists fitted items only), from
    the map record's ``fit_sample`` and ``random_state``; None for a full fit."""
    root = coll.root
    p = (root.derived.get(f"map-{map_method}") or {}).get("made_by", {}).get("params", {})
    if map_method != "umap" or p.get("fit_sample") in (None, False):
        return None
    from workbench.embed.projection import UMAPMap

    fs, seed = p.get("fit_sample"), p.get("random_state")
    if not (fs == "auto" or isinstance(fs, int)) or not (seed is None or isinstance(seed, int)):
        raise CollectionError(f"map-{map_method} has fit_sample={fs!r}, random_state={seed!r}",
                              path=root.path, hint="refit it: workbench map COLLECTION")
    return UMAPMap(fit_sample=fs, random_state=seed).sample_rows(n)


class StoredGraph(NamedTuple):
    """A stored map's nearest-neighbour graph, as :func:`cluster_and_store` and
    :func:`anomalies_and_store` reuse it."""

    #: The embeddings in the space the graph was built in (after the map's stored linear
    #: part, e.g. PCA), shape (n, d').
    points: np.ndarray
    #: ``(indices, distances)``, each (n, k): every item's nearest fitted items.
    knn: tuple[np.ndarray, np.ndarray]
    #: The items a sampled UMAP map was fitted on (the graph lists only these as
    #: neighbours); None for a map fitted on all items.
    fit_rows: np.ndarray | None


def stored_graph(coll, *, map_method: str = "umap", embedding: str | None = None
                 ) -> StoredGraph | None:
    """The neighbour graph stored with the ``map-<map_method>`` map when it was made from
    exactly this embedding (default: the newest) of exactly these items, else None (then the
    clustering and anomaly scores compute their own). Read from plain arrays only.

    Raises :class:`CollectionError` for a stored graph that does not fit (indices out of
    range, a doctored ``fit_sample``).
    """
    name, X = load_embedding(coll, embedding)
    points, knn = _map_graph(coll, name, X, map_method)
    if knn is None:
        return None
    return StoredGraph(points, knn, _graph_fit_rows(coll, map_method, len(X)))


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
    rows = _graph_fit_rows(coll, map_method, len(X)) if knn is not None else None
    if space == "map":
        cols = [f"{map_method}_x", f"{map_method}_y"]
        cat = coll.catalog
        if not set(cols) <= set(cat.columns):
            raise CollectionError(f"no stored {map_method} map to cluster", path=coll.path,
                                  hint=f"run `workbench map COLLECTION --method {map_method}`")
        est = HDBSCANClusterer(**options).fit(cat[cols].to_numpy(np.float32))
        out = HDBSCANClusterer(**options).fit(Xg, knn=knn, fit_rows=rows)
    else:
        est = out = HDBSCANClusterer(**options).fit(Xg, knn=knn, fit_rows=rows)
    glosh = out.outlier_scores_
    coll.add_columns("clusters", {"cluster": est.labels_, "cluster_prob": est.probabilities_,
                                  "outlier_glosh": glosh},
                     tool="workbench.embed.cluster.HDBSCANClusterer",
                     params={**est.params(), "embedding": name, "space": space,
                             "map": f"map-{map_method}" if space == "map" else None,
                             "outlier_space": "embedding", "outlier_algorithm": out.algorithm_,
                             "outlier_graph": None if knn is None else f"map-{map_method} graph",
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
    rows = _graph_fit_rows(coll, "umap", len(X)) if knn is not None and method == "glosh" \
        else None
    est = AnomalyScorer(method, random_state=seed, **options).fit(Xg, knn=knn, fit_rows=rows)
    set_name = f"anomaly-{method}"
    coll.add_columns(set_name, {f"anomaly_{method}": est.scores_},
                     tool="workbench.embed.anomaly.AnomalyScorer",
                     params={**est.params(), "embedding": name})
    return set_name, est.scores_
