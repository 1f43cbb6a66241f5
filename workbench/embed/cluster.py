"""HDBSCAN clusters with GLOSH outlier scores, sklearn-style.

Campello, Moulavi & Sander 2013 (HDBSCAN), and Campello et al. 2015 (GLOSH, "Hierarchical
density estimates for data clustering, visualization, and outlier detection"), via the
``hdbscan`` package (McInnes, Healy & Astels 2017).

Two ways to build the cluster hierarchy (``algorithm``):

- ``"exact"``: the ``hdbscan`` package on the data (Boruvka kd-tree; with
  ``pca_components="auto"`` the data are first reduced with PCA to 10 dimensions above 20,000
  items, where that tree is fast; raw 128-D HDBSCAN grows as N^2). Used for 2-D maps and for
  small sets; core distances single-process by default (see ``core_dist_n_jobs``).
- ``"knn_graph"``: the minimum spanning tree of the mutual reachability distances restricted
  to the k-nearest-neighbour graph (the approach of RAPIDS cuML's HDBSCAN), with the graph's
  separate components joined by their closest sampled pair; the tree is then condensed, and
  clusters and GLOSH scores extracted, by the ``hdbscan`` package's own routines. Linear in N
  once the graph exists, and the graph can be the one UMAP already built (``fit(X, knn=)``;
  :attr:`workbench.embed.projection.UMAPMap.knn_graph_`), so a map plus outlier scores in the
  embedding space needs one neighbour search. With ``pca_components="auto"`` the embeddings
  are reduced to 32 dimensions above 20,000 items, as the UMAP map does.

``"auto"`` picks ``knn_graph`` for data of more than 3 dimensions when ``fit`` gets a graph
or above 5,000 items, ``exact`` otherwise (and always for maps of 2 or 3 dimensions). benchmarks/bench_discover.py (``--only maps``) measures both.

Sampled fit (issue 14): above 60,000 items without a graph (``fit_sample="auto"``; a 2-D
map, say), or whenever ``fit(..., fit_rows=)`` names the items to fit (a sampled UMAP map's
:attr:`~workbench.embed.projection.UMAPMap.fit_rows_`), the hierarchy is built on those items
only, with ``min_cluster_size`` scaled by the sampled fraction. Every other item then gets
what :mod:`workbench.embed.placement` gives items added after clustering: the majority
cluster of its 10 nearest fitted items (noise when noise wins or when it lies farther from
them than the cluster's own members do), the vote share as ``probabilities_``, and a GLOSH
score quantile-matched from its distance to its 10th nearest fitted item. With a graph, the
neighbours come from the graph (a sampled UMAP map's graph lists exactly those for every
item), so no search is repeated.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import InputError
from workbench.embed.projection import _check, resolve_pca

__all__ = ["HDBSCANClusterer", "default_min_cluster_size", "mutual_reachability_mst"]

ALGORITHMS = ("auto", "exact", "knn_graph")
#: Above this many items of more than 3 dimensions "auto" builds a kNN graph (issue 14).
AUTO_GRAPH_ABOVE = 5000


def default_min_cluster_size(n: int) -> int:
    """A cluster size that scales with the survey: ~sqrt(n)/2, between 5 and 500."""
    return int(np.clip(round(np.sqrt(n) / 2), 5, 500))


def _sample_per_group(groups: np.ndarray, per: int, rng) -> np.ndarray:
    """Positions of at most ``per`` random members of each group."""
    perm = rng.permutation(len(groups))
    order = perm[np.argsort(groups[perm], kind="stable")]
    g = groups[order]
    start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    rank = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)]))
    return order[rank < per]


def _joining_edges(X: np.ndarray, comp: np.ndarray, *, cap: int, rng,
                   block: int = 1024) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One edge from each component to its nearest other component (closest pair among at
    most ``cap`` sampled points in all); distances are euclidean."""
    n_comp = int(comp.max()) + 1
    S = _sample_per_group(comp, max(8, cap // n_comp), rng)
    P, cS = X[S].astype(np.float32), comp[S]
    sq = (P ** 2).sum(1)
    best_d = np.empty(len(S), np.float32)
    best_j = np.empty(len(S), np.int64)
    for s in range(0, len(S), block):
        d2 = sq[s:s + block, None] + sq[None] - 2 * P[s:s + block] @ P.T
        d2[cS[s:s + block, None] == cS[None]] = np.inf
        best_j[s:s + block] = np.argmin(d2, 1)
        best_d[s:s + block] = d2[np.arange(len(d2)), best_j[s:s + block]]
    rows, cols, vals = [], [], []
    for c in range(n_comp):
        mine = np.flatnonzero(cS == c)
        i = mine[np.argmin(best_d[mine])]
        rows.append(S[i])
        cols.append(S[best_j[i]])
        vals.append(np.sqrt(max(float(best_d[i]), 0.0)))
    return np.array(rows), np.array(cols), np.array(vals)


def mutual_reachability_mst(X, indices, distances, *, min_samples: int,
                            random_state: int = 0, join_sample: int = 5000) -> np.ndarray:
    """Minimum spanning tree of the mutual reachability distances on a kNN graph.

    Parameters
    ----------
    X : array (n, d)
        The points the graph was computed on (used only to join separate components).
    indices, distances : arrays (n, k)
        Each item's k nearest neighbours (itself may be included), nearest first.
    min_samples : int
        Core distance = distance to the ``min_samples``-th nearest point, the item itself
        counted (the ``hdbscan`` package's convention); needs ``k >= min_samples``.

    Returns
    -------
    ndarray (n - 1, 3)
        Edges ``(i, j, mutual reachability distance)`` sorted by distance, the input of
        ``hdbscan``'s single-linkage labelling.
    """
    from scipy.sparse import coo_matrix, csgraph

    indices = np.asarray(indices, dtype=np.int64)
    distances = np.asarray(distances, dtype=np.float64)
    n, k = indices.shape
    if k < min_samples:
        raise InputError(f"the kNN graph has {k} neighbours per item; min_samples={min_samples} "
                         "needs at least that many", hint="lower min_samples or use a larger k")
    own = indices == np.arange(n)[:, None]
    # core distance counting the item itself (first column when the graph includes it)
    with_self = own[:, 0].mean() > 0.5
    core = distances[:, min_samples - 1] if with_self else (
        distances[:, min_samples - 2] if min_samples > 1 else np.zeros(n))
    rows = np.repeat(np.arange(n), k)
    cols = indices.ravel()
    keep = ~own.ravel() & (cols >= 0)
    rows, cols, d = rows[keep], cols[keep], distances.ravel()[keep]
    w = np.maximum(np.maximum(core[rows], core[cols]), d)
    pos = w[w > 0]
    floor = (float(np.min(pos)) if len(pos) else 1.0) * 1e-3  # csgraph drops zero edges
    G = coo_matrix((np.maximum(w, floor), (rows, cols)), shape=(n, n)).tocsr()
    n_comp, comp = csgraph.connected_components(G, directed=False)
    rng = np.random.default_rng(random_state)
    Xf = None
    while n_comp > 1:
        if Xf is None:
            Xf = np.asarray(X, dtype=np.float32)
        r, c, dj = _joining_edges(Xf, comp, cap=join_sample, rng=rng)
        wj = np.maximum(np.maximum(np.maximum(core[r], core[c]), dj), floor)
        G = G + coo_matrix((wj, (r, c)), shape=(n, n)).tocsr()
        n_comp, comp = csgraph.connected_components(G, directed=False)
    mst = csgraph.minimum_spanning_tree(G).tocoo()
    edges = np.column_stack([mst.row, mst.col, mst.data]).astype(np.float64)
    return edges[np.argsort(edges[:, 2], kind="stable")]


class HDBSCANClusterer:
    """HDBSCAN on embeddings (or on a 2-D map).

    Parameters
    ----------
    min_cluster_size : int or None
        Smallest group called a cluster (None: :func:`default_min_cluster_size`).
    min_samples : int or None
        Density smoothing (None: ``min(min_cluster_size, 10)``).
    pca_components : int, "auto" or None
        Reduce with PCA first (see the module notes; not applied when ``fit`` gets ``knn``).
    cluster_selection_method : {"eom", "leaf"}
    algorithm : {"auto", "exact", "knn_graph"}
        See the module notes.
    n_neighbors : int
        Neighbours of the kNN graph the ``knn_graph`` path builds when none is passed.
    core_dist_n_jobs : int
        Processes for the core distances of the ``exact`` path (-1: all cores). Default 1:
        on 2-D maps the core distances take about a second single-threaded, and hdbscan's
        joblib (loky) workers kept the process from exiting for up to their 300 s idle
        timeout (measured in benchmarks/bench_discover.py: that wait, not the scoring, is
        what made the earlier 300k pipeline look slow).

    Attributes
    ----------
    labels_ : ndarray of int, shape (n,)
        Cluster id per item, -1 for noise.
    probabilities_ : ndarray of float, shape (n,)
        Strength of membership in its cluster, 0 for noise.
    outlier_scores_ : ndarray of float, shape (n,)
        GLOSH score in [0, 1], high = outlier.
    fit_sample : int, "auto" or None
        Fit on this many random items and place the others (see the module notes; "auto":
        40,000 above 60,000 items; only when ``fit`` gets no graph and no ``fit_rows``).
    cluster_sizes_ : dict of int -> int
    algorithm_ : str
        The path taken (``exact`` or ``knn_graph``).
    fit_rows_ : ndarray of int64 or None
        The items the hierarchy was built on (None: all); the others were placed.
    """

    def __init__(self, *, min_cluster_size: int | None = None, min_samples: int | None = None,
                 pca_components="auto", cluster_selection_method: str = "eom",
                 algorithm: str = "auto", n_neighbors: int = 15, core_dist_n_jobs: int = 1,
                 random_state: int = 0, fit_sample="auto"):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.pca_components = pca_components
        self.cluster_selection_method = cluster_selection_method
        self.algorithm = algorithm
        self.n_neighbors = n_neighbors
        self.core_dist_n_jobs = core_dist_n_jobs
        self.random_state = random_state
        self.fit_sample = fit_sample

    def _pick(self, n: int, d: int, knn) -> str:
        if self.algorithm not in ALGORITHMS:
            raise InputError(f"unknown HDBSCAN algorithm {self.algorithm!r}; choose one of "
                             f"{ALGORITHMS}")
        if self.algorithm != "auto":
            return self.algorithm
        if d <= 3:
            return "exact"
        # a graph at hand is used; without one, exact HDBSCAN in many dimensions grows as
        # N^2 (20,000 items of 128-D: 190 s on 2 cores) while the graph path stays linear
        return "knn_graph" if (knn is not None or n > AUTO_GRAPH_ABOVE) else "exact"

    def fit(self, X, y=None, *, knn=None, fit_rows=None) -> HDBSCANClusterer:
        """Cluster ``X`` (n, d).

        ``knn``: optional ``(indices, distances)``, each (n, k), the k nearest neighbours of
        each row of ``X`` as given (e.g. :attr:`UMAPMap.knn_graph_` with ``X`` =
        ``UMAPMap.reduce(embeddings)``); the ``knn_graph`` path then does no neighbour search.
        ``fit_rows``: optional positions of the items to build the hierarchy on; the others
        are placed (see the module notes).
        """
        X = _check(X)
        n = len(X)
        mcs = int(self.min_cluster_size or default_min_cluster_size(n))
        ms = int(self.min_samples or min(mcs, 10))
        self.fit_rows_ = None
        if fit_rows is None and knn is None:
            from workbench.embed.projection import resolve_sample

            s = resolve_sample(self.fit_sample, n)
            if s is not None:
                rng = np.random.default_rng(self.random_state)
                fit_rows = np.sort(rng.choice(n, s, replace=False))
        if fit_rows is not None:
            fit_rows = np.unique(np.asarray(fit_rows, dtype=np.int64))
            if len(fit_rows) < 3 or fit_rows[0] < 0 or fit_rows[-1] >= n:
                raise InputError(f"fit_rows must name at least 3 of the {n} items")
            if len(fit_rows) < n:
                return self._fit_sampled(X, mcs, ms, knn, fit_rows)
        self.algorithm_ = self._pick(*X.shape, knn)
        if self.algorithm_ == "exact":
            self._fit_exact(X, mcs, ms)
        else:
            self._fit_graph(X, mcs, ms, knn)
        self.outlier_scores_ = np.nan_to_num(
            np.asarray(self.outlier_scores_, dtype=np.float64), nan=0.0)
        self.labels_ = np.asarray(self.labels_, dtype=np.int64)
        self.probabilities_ = np.asarray(self.probabilities_, dtype=np.float64)
        return self._finish()

    def _finish(self) -> HDBSCANClusterer:
        u, c = np.unique(self.labels_[self.labels_ >= 0], return_counts=True)
        self.cluster_sizes_ = {int(a): int(b) for a, b in zip(u, c)}
        self.n_clusters_ = len(u)
        return self

    def _fit_sampled(self, X: np.ndarray, mcs: int, ms: int, knn, S: np.ndarray
                     ) -> HDBSCANClusterer:
        from workbench.embed.placement import QUANTILE, calibrate_scores, vote_clusters

        n, s = len(X), len(S)
        rest = np.ones(n, bool)
        rest[S] = False
        rest = np.flatnonzero(rest)
        sub = HDBSCANClusterer(min_cluster_size=max(5, int(round(mcs * s / n))),
                               min_samples=ms, pca_components=self.pca_components,
                               cluster_selection_method=self.cluster_selection_method,
                               algorithm=self.algorithm, n_neighbors=self.n_neighbors,
                               core_dist_n_jobs=self.core_dist_n_jobs,
                               random_state=self.random_state, fit_sample=None)
        kv = 10  # neighbours that vote, as in workbench.embed.placement
        if knn is not None:
            idx, dist = (np.asarray(a) for a in knn)
            if len(idx) != n:
                raise InputError(f"the kNN graph has {len(idx)} rows for {n} items")
            pos = np.full(n, -1, np.int64)
            pos[S] = np.arange(s)
            sub.fit(X[S], knn=(pos[idx[S]], dist[S]))
            kv = min(kv, idx.shape[1] - 1)
            nb = pos[idx[rest, 1:kv + 1]]  # a placed item's row: itself, then fitted items
            if (nb < 0).any():
                raise InputError("with fit_rows, each other item's graph row must list "
                                 "itself and then fitted items only (a sampled UMAP map's "
                                 "knn_graph_ does)")
            s_fit, s_new = dist[S, kv], dist[rest, kv]
        else:
            from workbench.embed.neighbors import knn_search

            sub.fit(X[S])
            Xs = X[S] if sub.pca_ is None else sub.pca_.transform(X[S]).astype(np.float32)
            Xo = X[rest] if sub.pca_ is None else sub.pca_.transform(X[rest]).astype(np.float32)
            kv = min(kv, s - 1)
            s_fit = knn_search(Xs, k=kv + 1, random_state=self.random_state)[1][:, kv]
            nb, dn = knn_search(Xs, Xo, k=kv, random_state=self.random_state)
            s_new = dn[:, kv - 1]
        lab_s = sub.labels_
        thr = {int(c): float(np.quantile(s_fit[lab_s == c], QUANTILE))
               for c in np.unique(lab_s[lab_s >= 0])}
        lab_r, share = vote_clusters(lab_s[nb], s_new, thr)
        self.labels_ = np.empty(n, np.int64)
        self.probabilities_ = np.empty(n)
        self.outlier_scores_ = np.empty(n)
        self.labels_[S], self.labels_[rest] = lab_s, lab_r
        self.probabilities_[S], self.probabilities_[rest] = sub.probabilities_, share
        self.outlier_scores_[S] = sub.outlier_scores_
        self.outlier_scores_[rest] = calibrate_scores(s_fit, sub.outlier_scores_, s_new,
                                                      bounded=True)
        self.algorithm_, self.fit_rows_, self.sub_ = sub.algorithm_, S, sub
        self.pca_ = sub.pca_
        self.model_ = None
        return self._finish()

    def _reduce(self, X: np.ndarray, auto_dim: int) -> np.ndarray:
        k = resolve_pca(self.pca_components, *X.shape, auto_dim=auto_dim)
        if k is None:
            self.pca_ = None
            return X
        from sklearn.decomposition import PCA

        self.pca_ = PCA(k, random_state=self.random_state).fit(X)
        return self.pca_.transform(X).astype(np.float32)

    def _fit_exact(self, X: np.ndarray, mcs: int, ms: int) -> None:
        import warnings

        import hdbscan

        Xr = self._reduce(X, 10)
        self.model_ = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms,
                                      cluster_selection_method=self.cluster_selection_method,
                                      core_dist_n_jobs=self.core_dist_n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(np.asarray(Xr, dtype=np.float64))
            self.outlier_scores_ = self.model_.outlier_scores_
        self.labels_ = self.model_.labels_
        self.probabilities_ = self.model_.probabilities_

    def _fit_graph(self, X: np.ndarray, mcs: int, ms: int, knn) -> None:
        import warnings

        from hdbscan._hdbscan_linkage import label
        from hdbscan._hdbscan_tree import outlier_scores
        from hdbscan.hdbscan_ import _tree_to_labels

        if knn is None:  # cell-probe search above 14,000 items (no numba kernel to compile)
            from workbench.embed.neighbors import knn_search

            X = self._reduce(X, 32)
            knn = knn_search(X, k=max(self.n_neighbors, ms), random_state=self.random_state)
        else:
            self.pca_ = None
            if len(knn[0]) != len(X):
                raise InputError(f"the kNN graph has {len(knn[0])} rows for {len(X)} items")
        ms = min(ms, np.shape(knn[0])[1])
        mst = mutual_reachability_mst(X, *knn, min_samples=ms, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (self.labels_, self.probabilities_, _, condensed, _) = _tree_to_labels(
                None, label(mst), min_cluster_size=mcs,
                cluster_selection_method=self.cluster_selection_method)
            self.outlier_scores_ = outlier_scores(condensed)
        self.model_ = None

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_

    def params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}
