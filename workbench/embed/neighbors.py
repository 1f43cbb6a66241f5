"""k-nearest-neighbour similarity search in embedding space ("more like this"), and the
k-nearest-neighbour graph of a whole survey.

:class:`SimilarityIndex`: exact search by blocked matrix products (numpy BLAS): one query
against 1,000,000 vectors of 128 dimensions takes ~50 ms, so no approximate index is needed
for single queries at survey-cutout scale.

:func:`knn_graph`: every item's k nearest neighbours at once (the graph UMAP and the
graph-based HDBSCAN/GLOSH in :mod:`workbench.embed.cluster` are built on): exact below
``exact_below`` items, nearest-neighbour descent (pynndescent, Dong, Moses & Li 2011; a
umap-learn dependency) above.

:func:`knn_search`: the ``k`` nearest reference items of many queries (or of the reference
items themselves), exact for small problems and by a cell-probe (inverted-file) search above:
the reference items are split into k-means cells, and each query is compared only with the
members of its ``n_probe`` nearest cells (Jegou, Douze & Schmid 2011, sec. 3: the "IVF"
coarse quantiser, here without compression). Plain numpy/BLAS and scikit-learn's k-means: no
numba kernel to compile, which in a fresh process costs pynndescent 50 s before its first
graph (measured on the 2-core benchmark machine). The sampled UMAP map of
:mod:`workbench.embed.projection` builds its graphs with it.
"""

from __future__ import annotations

import numpy as np

from workbench.embed.projection import _check

__all__ = ["SimilarityIndex", "knn_graph", "knn_search"]


class SimilarityIndex:
    """Exact kNN over embeddings with cosine (default) or euclidean distance.

    ``fit(X, ids=None)`` stores the (normalised) vectors; ``query(V, k)`` gives
    ``(indices (m, k), distances (m, k))``; ``more_like_this(item, k)`` the k items most
    similar to one item (by position or id), itself excluded.
    """

    def __init__(self, *, metric: str = "cosine", block: int = 65536):
        self.metric = metric
        self.block = block

    def fit(self, X, y=None, *, ids=None) -> SimilarityIndex:
        if self.metric not in ("cosine", "euclidean"):
            from workbench.core.errors import InputError

            raise InputError(f"metric must be 'cosine' or 'euclidean', not {self.metric!r}")
        X = _check(X)
        self.vectors_ = self._prep(X)
        self.sq_norms_ = (self.vectors_ ** 2).sum(1)
        self.ids_ = None if ids is None else np.asarray([str(i) for i in ids])
        self._pos = None if ids is None else {k: i for i, k in enumerate(self.ids_)}
        return self

    def _prep(self, V: np.ndarray) -> np.ndarray:
        V = np.asarray(V, dtype=np.float32)
        if self.metric == "cosine":
            V = V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
        return V

    def query(self, V, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest stored vectors to each row of ``V`` (m, d), nearest first."""
        Q = self._prep(np.atleast_2d(V))
        n = len(self.vectors_)
        k = min(k, n)
        best_d = np.full((len(Q), 0), np.inf, np.float32)
        best_i = np.zeros((len(Q), 0), np.int64)
        qn = (Q ** 2).sum(1)[:, None]
        for s in range(0, n, self.block):
            blk = self.vectors_[s:s + self.block]
            d = qn + self.sq_norms_[None, s:s + self.block] - 2 * Q @ blk.T
            kk = min(k, d.shape[1])
            part = np.argpartition(d, kk - 1, axis=1)[:, :kk]
            best_d = np.concatenate([best_d, np.take_along_axis(d, part, 1)], 1)
            best_i = np.concatenate([best_i, part + s], 1)
            if best_d.shape[1] > k:
                keep = np.argpartition(best_d, k - 1, axis=1)[:, :k]
                best_d = np.take_along_axis(best_d, keep, 1)
                best_i = np.take_along_axis(best_i, keep, 1)
        order = np.argsort(best_d, axis=1)
        d = np.sqrt(np.maximum(np.take_along_axis(best_d, order, 1), 0))
        if self.metric == "cosine":
            d = d ** 2 / 2  # 1 - cos for unit vectors
        return np.take_along_axis(best_i, order, 1), d

    def more_like_this(self, item, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Positions and distances of the ``k`` items nearest to ``item`` (position or id)."""
        i = self._pos[str(item)] if isinstance(item, str) else int(item)
        idx, d = self.query(self.vectors_[i][None], k + 1)
        keep = idx[0] != i
        return idx[0][keep][:k], d[0][keep][:k]


def knn_graph(X, k: int, *, exact_below: int = 20000, random_state: int | None = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest neighbours of every row of ``X`` (euclidean), itself first.

    Parameters
    ----------
    X : array (n, d)
    k : int
        Neighbours per item, the item itself included (as umap-learn counts them).
    exact_below : int
        Exact blocked search up to this many items; approximate nearest-neighbour descent
        (pynndescent) above. Data of at most 3 dimensions (maps) always use an exact kd-tree.
    random_state : int or None
        Seed of the descent (None: multi-threaded, not bit-reproducible).

    Returns
    -------
    indices : ndarray of int64, shape (n, k)
    distances : ndarray of float32, shape (n, k), ascending along each row
    """
    X = _check(X)
    k = min(int(k), len(X))
    if X.shape[1] <= 3:  # maps: an exact kd-tree is fastest
        from sklearn.neighbors import NearestNeighbors

        d, idx = NearestNeighbors(n_neighbors=k, algorithm="kd_tree").fit(X).kneighbors(X)
        return idx.astype(np.int64), d.astype(np.float32)
    if len(X) <= exact_below:
        idx, d = SimilarityIndex(metric="euclidean").fit(X).query(X, k)
        return idx.astype(np.int64), d.astype(np.float32)
    from pynndescent import NNDescent

    nnd = NNDescent(X, n_neighbors=k, random_state=random_state, low_memory=True,
                    n_jobs=1 if random_state is not None else -1)
    idx, d = nnd.neighbor_graph
    return np.asarray(idx, dtype=np.int64), np.asarray(d, dtype=np.float32)


def _exact_rows(Q: np.ndarray, R: np.ndarray, k: int, block: int = 2048
                ) -> tuple[np.ndarray, np.ndarray]:
    """Exact euclidean k nearest rows of ``R`` for each row of ``Q``, blocked over queries."""
    rn = np.einsum("ij,ij->i", R, R)
    idx = np.empty((len(Q), k), np.int64)
    dist = np.empty((len(Q), k), np.float32)
    for a in range(0, len(Q), block):
        q = Q[a:a + block]
        d2 = rn[None] - 2 * (q @ R.T)
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(R) else \
            np.broadcast_to(np.arange(len(R)), d2.shape)
        dd = np.take_along_axis(d2, part, 1)
        order = np.argsort(dd, 1, kind="stable")
        idx[a:a + block] = np.take_along_axis(part, order, 1)
        dd = np.take_along_axis(dd, order, 1) + np.einsum("ij,ij->i", q, q)[:, None]
        dist[a:a + block] = np.sqrt(np.maximum(dd, 0))
    return idx, dist


def knn_search(R, Q=None, k: int = 15, *, n_probe: int = 4, cell_size: int = 128,
               exact_below: float = 2e8, random_state: int = 0, n_jobs: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of ``R`` (euclidean) for each row of ``Q``.

    Parameters
    ----------
    R : array (n, d)
        Reference items.
    Q : array (m, d) or None
        Queries; None: the graph of ``R`` itself, each item first in its own row (as
        umap-learn and :func:`knn_graph` count neighbours).
    k : int
    n_probe, cell_size : int
        The reference items are split into about ``n / cell_size`` k-means cells; each query
        is compared with the members of its ``n_probe`` nearest cells (approximate: a true
        neighbour in an unprobed cell is missed). Rows that would end with fewer than ``k``
        candidates are searched exactly. Data of at most 3 dimensions (maps) always use an
        exact kd-tree.
    exact_below : float
        Exact blocked search when ``m * n`` is at most this.
    n_jobs : int or None
        Threads for the cell-probe search (None: every core). The result does not depend on it.

    Returns
    -------
    indices : ndarray of int64 (m, k), positions in ``R``, nearest first
    distances : ndarray of float32 (m, k), ascending
    """
    R = _check(R)
    self_graph = Q is None
    Q = R if self_graph else _check(Q)
    if Q.shape[1] != R.shape[1]:
        from workbench.core.errors import InputError

        raise InputError(f"queries have {Q.shape[1]} dimensions, the reference items "
                         f"{R.shape[1]}")
    k = min(int(k), len(R))
    n_cells = int(np.clip(len(R) // max(int(cell_size), 1), 1, 4096))
    if R.shape[1] <= 3:  # maps: an exact kd-tree is fastest
        from sklearn.neighbors import KDTree

        d, idx = KDTree(R).query(Q, k=k)
        idx, dist = idx.astype(np.int64), d.astype(np.float32)
    elif float(len(Q)) * len(R) <= exact_below or n_cells <= n_probe:
        idx, dist = _exact_rows(Q, R, k)
    else:
        import os

        jobs = int(n_jobs or os.cpu_count() or 1)
        idx, dist = _probe_cells(Q, R, k, n_cells, int(n_probe), random_state, jobs)
    if R.shape[1] > 3:  # distances of the chosen pairs recomputed directly: the expanded
        idx, dist = _exact_pairs(Q, R, idx)  # |q|^2 + |r|^2 - 2 q.r loses digits in float32
    if self_graph:  # the item itself first (ties of duplicates may have put another first)
        idx, dist = _self_first(idx, dist)
    return idx, dist


def _exact_pairs(Q, R, idx, block: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """``|Q[i] - R[idx[i, j]]|`` computed directly (float64 sums), rows re-sorted by it."""
    dist = np.empty(idx.shape, np.float32)
    for a in range(0, len(idx), block):
        diff = R[idx[a:a + block]].astype(np.float64) - Q[a:a + block, None, :]
        dist[a:a + block] = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    order = np.argsort(dist, 1, kind="stable")
    return np.take_along_axis(idx, order, 1), np.take_along_axis(dist, order, 1)


def _probe_cells(Q, R, k, n_cells, n_probe, seed, n_jobs: int = 1, block: int = 128):
    """Cell-probe search: queries sorted by their nearest cell and taken ``block`` at a time;
    each block is compared with the union of its queries' probed cells (so each query sees
    at least its own ``n_probe`` cells), one matrix product and one partition per block."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    train = R[rng.choice(len(R), min(len(R), 64 * n_cells), replace=False)]
    km = KMeans(n_cells, n_init=1, max_iter=20, random_state=seed).fit(train)
    C = km.cluster_centers_.astype(np.float32)
    cell_of = _exact_rows(R, C, 1)[0][:, 0]
    probes = _exact_rows(Q, C, n_probe)[0]  # (m, n_probe) nearest cells of each query
    members = np.argsort(cell_of, kind="stable")
    bounds = np.searchsorted(cell_of[members], np.arange(n_cells + 1))
    rn = np.einsum("ij,ij->i", R, R)
    qorder = np.lexsort(probes[:, ::-1].T)  # by nearest cell, then the next ones
    idx = np.full((len(Q), k), -1, np.int64)
    dist = np.full((len(Q), k), np.inf, np.float32)
    from threadpoolctl import threadpool_limits

    # small products: one BLAS thread each, blocks shared out over threads (numpy releases
    # the GIL in the product and the partition; each block writes its own rows)
    starts = range(0, len(Q), block)
    with threadpool_limits(1, "blas"):
        if n_jobs > 1 and len(starts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(n_jobs) as pool:
                list(pool.map(lambda a: _probe_block(Q, R, rn, qorder[a:a + block], probes,
                                                     members, bounds, k, idx, dist), starts))
        else:
            for a in starts:
                _probe_block(Q, R, rn, qorder[a:a + block], probes, members, bounds, k, idx,
                             dist)
    dist = np.sqrt(np.maximum(dist + np.einsum("ij,ij->i", Q, Q)[:, None], 0)).astype(np.float32)
    short = np.flatnonzero(idx[:, -1] < 0)
    if len(short):  # fewer than k candidates in the probed cells: exact for those rows
        idx[short], dist[short] = _exact_rows(Q[short], R, k)
    return idx, dist


def _probe_block(Q, R, rn, qs, probes, members, bounds, k, idx, dist) -> None:
    """One block of queries ``qs`` against the union of their probed cells; writes rows
    ``qs`` of ``idx`` and ``dist`` (squared distance minus the query's squared norm)."""
    cells = np.unique(probes[qs])
    cand = np.concatenate([members[bounds[c]:bounds[c + 1]] for c in cells])
    kk = min(k, len(cand))
    d2 = rn[cand][None] - 2 * (Q[qs] @ R[cand].T)
    part = np.argpartition(d2, kk - 1, axis=1)[:, :kk]
    dd = np.take_along_axis(d2, part, 1)
    o = np.argsort(dd, 1, kind="stable")
    idx[qs, :kk] = cand[np.take_along_axis(part, o, 1)]
    dist[qs, :kk] = np.take_along_axis(dd, o, 1)


def _self_first(idx: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put each row's own position first (distance 0), dropping its farthest neighbour when
    the search missed it."""
    n = len(idx)
    own = np.arange(n)
    rest = idx != own[:, None]
    out_i = np.empty_like(idx)
    out_d = np.empty_like(dist)
    out_i[:, 0], out_d[:, 0] = own, 0.0
    k = idx.shape[1]
    # the first k - 1 entries of each row that are not the item itself, order kept
    rank = np.cumsum(rest, 1) - 1
    keep = rest & (rank < k - 1)
    rows, cols = np.nonzero(keep)
    out_i[rows, rank[rows, cols] + 1] = idx[rows, cols]
    out_d[rows, rank[rows, cols] + 1] = dist[rows, cols]
    return out_i, out_d
