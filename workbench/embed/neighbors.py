"""k-nearest-neighbour similarity search in embedding space ("more like this"), and the
k-nearest-neighbour graph of a whole survey.

:class:`SimilarityIndex`: exact search by blocked matrix products (numpy BLAS): one query
against 1,000,000 vectors of 128 dimensions takes ~50 ms, so no approximate index is needed
for single queries at survey-cutout scale.

:func:`knn_graph`: every item's k nearest neighbours at once (the graph UMAP and the
graph-based HDBSCAN/GLOSH in :mod:`workbench.embed.cluster` are built on): exact below
``exact_below`` items, nearest-neighbour descent (pynndescent, Dong, Moses & Li 2011; a
umap-learn dependency) above.
"""

from __future__ import annotations

import numpy as np

from workbench.embed.projection import _check

__all__ = ["SimilarityIndex", "knn_graph"]


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
