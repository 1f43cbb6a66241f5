"""A fitted 2-D map kept as plain arrays and JSON parameters, which cannot run code when read.

:func:`workbench.embed.records.map_and_store` writes these beside the map's columns
``<method>_x``, ``<method>_y``; each record's parameters carry the fit's random ``fit`` id,
and a part is used only when its id is the one in the ``map-<method>`` record, so parts of an
older or interrupted fit are never mixed with a newer map:

``map-<method>-linear-<fit>`` (derived file)
    The map's linear part, raw little-endian float64 of the ``shape`` ``[1 + c, d]`` in its
    record: row 0 the mean, rows 1.. the components, ``f(X) = (X - row0) @ rows[1:].T``. For
    ``pca`` it is the map itself (c = 2); for ``umap`` and ``tsne`` it is the PCA reduction
    they ran on, stored only when they reduced (see :mod:`workbench.embed.projection`).
``map-<method>-knn-indices-<fit>``, ``map-<method>-knn-distances-<fit>`` (derived arrays, n x k)
    UMAP's nearest-neighbour graph of the fitted items (item itself first, in the reduced
    space), with the embedding's name and a hash of the item ids: the graph-based
    HDBSCAN/GLOSH of :mod:`workbench.embed.cluster` reuses it instead of searching again
    (``workbench map`` and ``workbench anomalies``, in any later session).

Everything read back is checked before use (names, fit id, shapes and byte counts against
the manifest before reading, finite values, neighbour indices in range): a doctored part is a
:class:`CollectionError`, never an out-of-range read.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import CollectionError

__all__ = ["linear_part", "apply_linear", "write_parts", "read_linear", "read_graph",
           "remove_stale", "MAX_K"]

#: The most neighbours per item a stored graph may have.
MAX_K = 512
TOOL = "workbench.embed.map_arrays"


def linear_part(est) -> np.ndarray | None:
    """``(1 + c, d)`` float64 mean + components of the fitted estimator's linear part."""
    pca = est.model_ if est.name == "pca" else getattr(est, "pca_", None)
    if pca is None:
        return None
    return np.vstack([pca.mean_[None], pca.components_]).astype("<f8")


def apply_linear(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``(X - A[0]) @ A[1:].T`` as float32 (m, c)."""
    return ((np.asarray(X, np.float64) - A[0]) @ A[1:].T).astype(np.float32)


def write_parts(coll, set_name: str, est, fit: str, *, embedding: str, ids_key: str) -> dict:
    """Store the estimator's arrays; returns the entries for the map record's parameters."""
    out = {}
    A = linear_part(est)
    if A is not None:
        out["linear"] = f"{set_name}-linear-{fit}"
        coll.add_file(out["linear"], A.tobytes(), suffix=".f8", tool=TOOL,
                      params={"fit": fit, "shape": list(A.shape), "dtype": "<f8",
                              "role": "map" if est.name == "pca" else "reduce"})
    graph = getattr(est, "knn_graph_", None)
    if graph is not None:
        idx, dist = (np.asarray(a) for a in graph)
        out["knn"] = [f"{set_name}-knn-indices-{fit}", f"{set_name}-knn-distances-{fit}"]
        p = {"fit": fit, "embedding": embedding, "n_items": len(idx), "ids": ids_key}
        coll.add_array(out["knn"][0], idx.astype(np.int64), tool=TOOL, params=p)
        coll.add_array(out["knn"][1], dist.astype(np.float32), tool=TOOL, params=p)
    return out


def _part(root, set_name: str, params: dict, name, kind: str, typ: str) -> dict | None:
    """The manifest record of a part named in the map's parameters, or None when it belongs
    to another fit; CollectionError when the name is not one of this map's parts."""
    if name is None:
        return None
    if not (isinstance(name, str) and name.startswith(f"{set_name}-{kind}-")):
        raise CollectionError(f"the {set_name} record names {name!r} as its {kind} part",
                              path=root.path, hint=f"refit it: workbench map COLLECTION "
                              f"--method {set_name[4:]}")
    rec = root.derived.get(name)
    if rec is None or rec.get("type") != typ:
        return None
    p = (rec.get("made_by") or {}).get("params") or {}
    return rec if p.get("fit") == params.get("fit") and params.get("fit") else None


def _damaged(root, set_name: str, what: str) -> CollectionError:
    return CollectionError(f"the {what} stored with {set_name} is damaged", path=root.path,
                           hint=f"refit it: workbench map COLLECTION --method {set_name[4:]}")


def read_linear(root, set_name: str, params: dict, d: int) -> np.ndarray | None:
    """The map's linear part ``(1 + c, d)`` for embeddings of ``d`` dimensions, or None
    when the map has none (no reduction, or a map made before parts were stored)."""
    rec = _part(root, set_name, params, params.get("linear"), "linear", "file")
    if rec is None:
        return None
    shape = rec["made_by"]["params"].get("shape")
    ok = (isinstance(shape, list) and len(shape) == 2
          and all(isinstance(s, int) and not isinstance(s, bool) for s in shape))
    if not ok or shape[1] != d or not 2 <= shape[0] <= d + 1 or (
            set_name == "map-pca" and shape[0] != 3):
        raise _damaged(root, set_name, f"linear part (shape {shape} for {d}-D embeddings)")
    nbytes = shape[0] * shape[1] * 8
    if rec.get("size") != nbytes:  # checked before anything is read
        raise _damaged(root, set_name, f"linear part ({rec.get('size')} bytes, not {nbytes})")
    data = root.derived_file(params["linear"])  # checks the SHA-256 recorded with it
    if len(data) != nbytes:
        raise _damaged(root, set_name, f"linear part ({len(data)} bytes, not {nbytes})")
    A = np.frombuffer(data, "<f8").reshape(shape)
    if not np.isfinite(A).all():
        raise _damaged(root, set_name, "linear part (non-finite values)")
    return A


def read_graph(coll, set_name: str, params: dict, *, embedding: str, n: int, ids_key: str
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """The stored kNN graph ``(indices (n, k) int64, distances (n, k) float32)`` when it
    was made from exactly these items' ``embedding``; else None."""
    root = coll.root
    names = params.get("knn")
    if names is None:
        return None
    if not (isinstance(names, list) and len(names) == 2):
        raise _damaged(root, set_name, "neighbour graph record")
    recs = [_part(root, set_name, params, names[0], "knn-indices", "array"),
            _part(root, set_name, params, names[1], "knn-distances", "array")]
    if any(r is None for r in recs):
        return None
    for r in recs:
        p = r["made_by"]["params"]
        if p.get("embedding") != embedding or p.get("n_items") != n or p.get("ids") != ids_key:
            return None  # made from other items or another embedding
        shape = r.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2 and shape[0] == n
                and isinstance(shape[1], int) and 1 <= shape[1] <= MAX_K):
            raise _damaged(root, set_name, f"neighbour graph (shape {shape} for {n} items)")
    if recs[0]["shape"] != recs[1]["shape"]:
        raise _damaged(root, set_name, "neighbour graph (index and distance shapes differ)")
    idx = coll.derived_array(names[0])
    dist = np.asarray(coll.derived_array(names[1]), np.float32)
    if idx.shape != tuple(recs[0]["shape"]) or dist.shape != idx.shape:
        raise _damaged(root, set_name, "neighbour graph (array shapes differ from the record)")
    if not (np.isfinite(idx).all() and (idx == np.round(idx)).all()
            and (idx >= -1).all() and (idx < n).all()):
        raise _damaged(root, set_name, "neighbour graph (indices out of range)")
    idx = idx.astype(np.int64)
    real = idx >= 0  # nearest-neighbour descent marks missing neighbours with -1
    if not (np.isfinite(dist[real]).all() and (dist[real] >= 0).all()):
        raise _damaged(root, set_name, "neighbour graph (distances not finite and >= 0)")
    return idx, dist


def remove_stale(root, set_name: str, keep) -> list[str]:
    """Delete this map's files and arrays (``<set_name>-*``) that the current record does not
    name (parts and models of the fits it replaced); returns their names."""
    keep = set(keep)
    gone = [name for name, rec in root.derived.items()
            if name.startswith(f"{set_name}-") and name not in keep
            and rec.get("type") in ("file", "array")]
    for name in gone:
        root.remove_derived(name)
    return gone
