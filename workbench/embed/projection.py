"""2-D maps of embeddings: UMAP (umap-learn), t-SNE (openTSNE) and PCA, sklearn-style.

``__init__`` stores the settings; ``fit(X)`` returns the estimator with ``embedding_`` (n, 2);
``transform(X_new)`` places new items on the fitted map without refitting it.

For large surveys the UMAP and t-SNE maps first reduce the embeddings with PCA
(``pca_components="auto"``: to 32 dimensions when there are more than 20,000 items of more
than 32 dimensions): the nearest-neighbour search, which dominates the time, then runs in 32
dimensions. The benchmark (benchmarks/bench_discover.py) measures the speed and the map's
trustworthiness both ways.

Above 60,000 items the UMAP map is by default fitted on a random sample of 40,000 of them
(``fit_sample="auto"``) and the others are placed on it, as :mod:`workbench.embed.placement`
places items added later: each goes to the fuzzy-weighted mean of the map positions of its
``n_neighbors`` nearest fitted items (UMAP's membership strengths as weights). Both
neighbour searches (the sample's graph, and every other item against the sample) are
:func:`workbench.embed.neighbors.knn_search` (k-means cells, BLAS, no numba kernel to
compile), given to umap-learn as its ``precomputed_knn``. The map's :attr:`knn_graph_` then
holds every item's nearest *fitted* items, so the graph-based HDBSCAN/GLOSH of
:mod:`workbench.embed.cluster` still needs no second search. ``fit_sample=None``
(``workbench map --exact``) fits every item with umap-learn's own search, as before.
benchmarks/bench_discover.py ``--only maps`` compares both with plain umap-learn + hdbscan.

UMAP: McInnes, Healy & Melville 2018, arXiv:1802.03426. t-SNE: van der Maaten & Hinton
2008; openTSNE: Policar, Strazar & Zupan 2024, JSS 109(3).
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import InputError

__all__ = ["UMAPMap", "TSNEMap", "PCAMap", "make_projection", "PROJECTIONS", "resolve_pca",
           "resolve_sample"]


def _check(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) < 3:
        raise InputError(f"need an (n, d) array of embeddings with n >= 3, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise InputError("embeddings contain NaN or inf (items without an embedding?)",
                         hint="embed every item first (workbench embed)")
    return X


def resolve_pca(pca_components, n: int, d: int, *, auto_n: int = 20000,
                auto_dim: int = 32) -> int | None:
    """Number of PCA components to reduce to first (None: none)."""
    if pca_components == "auto":
        return auto_dim if (n > auto_n and d > auto_dim) else None
    if pca_components is None or int(pca_components) >= d:
        return None
    return int(pca_components)


#: UMAP epochs of a sampled fit (umap-learn's default is 200 above 10,000 items): at 300,000
#: items (40,000 fitted) 100 epochs gave trustworthiness(10) 0.9725 against 0.9729 with 200,
#: in 11.6 s of layout instead of 24.4 s (benchmarks/bench_discover.py data, 2 busy cores).
SAMPLED_EPOCHS = 100


def resolve_sample(fit_sample, n: int, *, auto_n: int = 60000, auto_size: int = 40000
                   ) -> int | None:
    """Number of items a UMAP map is fitted on (None: all ``n``)."""
    if fit_sample == "auto":
        return auto_size if n > auto_n else None
    if fit_sample is None or isinstance(fit_sample, bool):
        return None
    s = int(fit_sample)
    if s < 3:
        raise InputError(f"fit_sample must be at least 3 items (or None), not {fit_sample!r}")
    return None if s >= n else s


def _cache_umap_kernels() -> None:
    """Turn on numba's disk cache for umap-learn's euclidean kernels (fuzzy set, layout
    epochs), which umap-learn compiles afresh in every process (10-15 s on the 2-core
    benchmark machine): after the first fit they load from the cache (next to umap-learn, or
    under ``NUMBA_CACHE_DIR``, see :func:`workbench.embed.warmup.ensure_cache_dir`)."""
    from workbench.embed.warmup import ensure_cache_dir

    ensure_cache_dir()
    try:
        from umap import layouts, umap_

        kernels = (umap_.smooth_knn_dist, umap_.compute_membership_strengths,
                   layouts._nb_optimize_layout_euclidean_single_epoch,
                   layouts._nb_optimize_layout_euclidean_single_epoch_parallel,
                   layouts.rdist, layouts.clip)
    except (ImportError, AttributeError):  # another umap-learn version: nothing to turn on
        return
    for f in kernels:
        try:
            if type(f._cache).__name__ == "NullCache":
                f.enable_caching()
        except Exception:  # noqa: BLE001 - a cache that cannot be set up only costs time
            pass


def _fuzzy_mean(idx: np.ndarray, dist: np.ndarray, Y_fit: np.ndarray) -> np.ndarray:
    """UMAP-membership-weighted mean of the fitted positions ``Y_fit[idx]`` per row."""
    from workbench.embed.placement import fuzzy_weights

    out = np.empty((len(idx), 2), np.float32)
    for a in range(0, len(idx), 65536):  # bounded temporaries at a million items
        w = fuzzy_weights(dist[a:a + 65536])
        Y = np.asarray(Y_fit, np.float64)[idx[a:a + 65536]]
        out[a:a + 65536] = (w[..., None] * Y).sum(1) / w.sum(1)[:, None]
    return out


class _Reduced:
    """Shared PCA pre-reduction for the map estimators."""

    def _reduce_fit(self, X: np.ndarray, rows=None) -> np.ndarray:
        """Fit the PCA (on ``X[rows]`` when given) and return all of ``X`` reduced."""
        from sklearn.decomposition import PCA

        k = resolve_pca(self.pca_components, *X.shape)
        fit_on = X if rows is None else X[rows]
        self.pca_ = None if k is None else PCA(k, random_state=self.random_state).fit(fit_on)
        return X if self.pca_ is None else self.pca_.transform(X).astype(np.float32)

    def _reduce(self, X: np.ndarray) -> np.ndarray:
        return X if self.pca_ is None else self.pca_.transform(X).astype(np.float32)

    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).embedding_

    def params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}


class UMAPMap(_Reduced):
    """UMAP to 2-D.

    Parameters
    ----------
    n_neighbors, min_dist, metric, n_epochs
        As in ``umap.UMAP``; a sampled fit (``fit_sample``) runs :data:`SAMPLED_EPOCHS`
        (100) epochs unless ``n_epochs`` is given.
    pca_components : int, "auto" or None
        Reduce with PCA first (see the module notes).
    random_state : int or None
        Seed; None lets umap-learn run its parallel (non-reproducible) path.
    parallel : bool or "auto"
        umap-learn runs single-threaded when seeded. ``"auto"`` drops the seed above 20,000
        items (multi-threaded, not bit-reproducible; ``seeded_`` records which) so big maps
        use every core; False always seeds, True never does.
    low_memory : bool
        umap-learn's low-memory nearest-neighbour descent.
    fit_sample : int, "auto" or None
        Fit UMAP on this many randomly chosen items and place the others on the map (see the
        module notes). ``"auto"``: 40,000 when there are more than 60,000 items; None (or a
        number >= the item count): fit every item.
    init : {"auto", "spectral", "pca"}
        Starting layout. ``"auto"``: ``"pca"`` above 20,000 items, umap-learn's spectral
        layout below. The spectral layout (an eigenproblem on the whole graph) took 21 s of a
        44 s fit at 50,000 items; from PCA the fit took 25 s instead of 40 s, with the same
        trustworthiness (0.975 vs 0.972) and 10-NN preservation (benchmarks/bench_discover.py).

    Attributes
    ----------
    embedding_ : ndarray (n, 2)
    pca_ : sklearn PCA or None
    umap_ : umap.UMAP
    knn_graph_ : tuple of ndarray (n, k)
        UMAP's nearest-neighbour graph ``(indices, distances)`` in the space of
        :meth:`reduce` (item itself first): reused by the graph-based HDBSCAN/GLOSH of
        :mod:`workbench.embed.cluster`, so map and outlier scores need one neighbour search.
    seeded_ : bool
    fit_rows_ : ndarray of int64 or None
        Positions of the items UMAP was fitted on (None: all of them); the others were placed.
    """

    name = "umap"

    def __init__(self, *, n_neighbors: int = 15, min_dist: float = 0.1,
                 metric: str = "euclidean", n_epochs: int | None = None,
                 pca_components="auto", random_state: int | None = 0, parallel="auto",
                 low_memory: bool = True, init: str = "auto", fit_sample="auto"):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.pca_components = pca_components
        self.random_state = random_state
        self.parallel = parallel
        self.low_memory = low_memory
        self.init = init
        self.fit_sample = fit_sample

    def _umap(self, n: int, **extra):
        import umap

        _cache_umap_kernels()
        par = self.parallel is True or (self.parallel == "auto" and n > 20000)
        seed = None if par else self.random_state
        self.seeded_ = seed is not None
        init = self.init if self.init != "auto" else ("pca" if n > 20000 else "spectral")
        epochs = extra.pop("n_epochs", self.n_epochs)
        return umap.UMAP(n_neighbors=min(self.n_neighbors, n - 1),
                         min_dist=self.min_dist, metric=self.metric,
                         n_epochs=epochs, random_state=seed,
                         low_memory=self.low_memory, n_components=2, init=init,
                         transform_seed=0 if self.random_state is None else self.random_state,
                         **extra)

    def fit(self, X, y=None) -> UMAPMap:
        X = _check(X)
        s = resolve_sample(self.fit_sample, len(X))
        self.fit_rows_ = None
        if s is not None:
            if self.metric != "euclidean":
                raise InputError(f"a sampled UMAP fit needs metric='euclidean', not "
                                 f"{self.metric!r}", hint="use fit_sample=None (--exact)")
            return self._fit_sampled(X, s)
        Xr = self._reduce_fit(X)
        self.umap_ = self._umap(len(X))
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*")
            self.embedding_ = np.asarray(self.umap_.fit_transform(Xr), dtype=np.float32)
        if hasattr(self.umap_, "_knn_indices"):
            self.knn_graph_ = (self.umap_._knn_indices, self.umap_._knn_dists)
        else:  # umap-learn's small-data path keeps only a distance matrix
            from workbench.embed.neighbors import knn_graph

            self.knn_graph_ = knn_graph(Xr, self.umap_.n_neighbors)
        return self

    def sample_rows(self, n: int) -> np.ndarray | None:
        """Positions of the items a fit on ``n`` items fits UMAP on (None: all of them); a
        function of ``fit_sample``, ``random_state`` and ``n`` only."""
        s = resolve_sample(self.fit_sample, n)
        if s is None:
            return None
        rng = np.random.default_rng(0 if self.random_state is None else self.random_state)
        return np.sort(rng.choice(n, s, replace=False))

    def _fit_sampled(self, X: np.ndarray, s: int) -> UMAPMap:
        import warnings

        from workbench.embed.neighbors import knn_search

        n = len(X)
        S = self.sample_rows(n)
        rest = np.ones(n, bool)
        rest[S] = False
        rest = np.flatnonzero(rest)
        Xr = self._reduce_fit(X, rows=S)
        k = min(self.n_neighbors, s - 1)
        seed = 0 if self.random_state is None else self.random_state
        gi, gd = knn_search(Xr[S], k=k, random_state=seed)  # the sample's own graph
        epochs = SAMPLED_EPOCHS if self.n_epochs is None else self.n_epochs
        self.umap_ = self._umap(s, precomputed_knn=(gi, gd, None), n_epochs=epochs)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(n_jobs|precomputed_knn|search index).*")
            Ys = np.asarray(self.umap_.fit_transform(Xr[S]), dtype=np.float32)
        ri, rd = knn_search(Xr[S], Xr[rest], k=k, random_state=seed)  # the others: the sample
        self.embedding_ = np.empty((n, 2), np.float32)
        self.embedding_[S] = Ys
        self.embedding_[rest] = _fuzzy_mean(ri, rd, Ys)
        idx = np.empty((n, k), np.int64)
        dist = np.empty((n, k), np.float32)
        idx[S], dist[S] = S[gi], gd
        idx[rest, 0], dist[rest, 0] = rest, 0.0  # each item first, then its fitted neighbours
        idx[rest, 1:], dist[rest, 1:] = S[ri[:, :k - 1]], rd[:, :k - 1]
        self.knn_graph_ = (idx, dist)
        self.fit_rows_ = S
        self.fitted_reduced_ = Xr[S]
        return self

    def reduce(self, X) -> np.ndarray:
        """The embeddings in the space the map (and :attr:`knn_graph_`) was built in:
        (m, d) -> (m, d'), PCA-reduced when ``pca_`` is set."""
        return self._reduce(_check(X))

    def transform(self, X) -> np.ndarray:
        """Place new items on the fitted map, (m, d) -> (m, 2); the map is not refitted.
        A sampled fit places them as it placed the items it did not fit on."""
        if getattr(self, "fit_rows_", None) is not None:
            from workbench.embed.neighbors import knn_search

            R = self.fitted_reduced_
            ri, rd = knn_search(R, self._reduce(_check(X)), k=min(self.n_neighbors, len(R) - 1),
                                random_state=0 if self.random_state is None else
                                self.random_state)
            return _fuzzy_mean(ri, rd, self.embedding_[self.fit_rows_])
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*")
            return np.asarray(self.umap_.transform(self._reduce(_check(X))), dtype=np.float32)


class TSNEMap(_Reduced):
    """t-SNE to 2-D with openTSNE (FFT-accelerated; supports adding new points)."""

    name = "tsne"

    def __init__(self, *, perplexity: float = 30.0, n_iter: int = 500, metric: str = "euclidean",
                 pca_components="auto", random_state: int = 0, n_jobs: int = 1):
        self.perplexity = perplexity
        self.n_iter = n_iter
        self.metric = metric
        self.pca_components = pca_components
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y=None) -> TSNEMap:
        from openTSNE import TSNE

        X = _check(X)
        Xr = self._reduce_fit(X)
        perp = min(self.perplexity, max(2.0, (len(X) - 1) / 3))
        self.tsne_ = TSNE(perplexity=perp, n_iter=self.n_iter, metric=self.metric,
                          random_state=self.random_state, n_jobs=self.n_jobs).fit(Xr)
        self.embedding_ = np.asarray(self.tsne_, dtype=np.float32)
        return self

    def transform(self, X) -> np.ndarray:
        """Place new items on the fitted map (openTSNE's optimisation of the new points only)."""
        return np.asarray(self.tsne_.transform(self._reduce(_check(X))), dtype=np.float32)


class PCAMap(_Reduced):
    """The first two principal components."""

    name = "pca"

    def __init__(self, *, random_state: int = 0):
        self.random_state = random_state
        self.pca_components = None

    def fit(self, X, y=None) -> PCAMap:
        from sklearn.decomposition import PCA

        X = _check(X)
        self.pca_ = None
        self.model_ = PCA(2, random_state=self.random_state).fit(X)
        self.embedding_ = self.model_.transform(X).astype(np.float32)
        return self

    def transform(self, X) -> np.ndarray:
        return self.model_.transform(_check(X)).astype(np.float32)


PROJECTIONS = {"umap": UMAPMap, "tsne": TSNEMap, "pca": PCAMap}


def make_projection(method: str, **kwargs):
    """An unfitted map estimator by name (``umap``, ``tsne``, ``pca``)."""
    try:
        cls = PROJECTIONS[method.lower()]
    except KeyError:
        raise InputError(f"unknown map method {method!r}; choose one of {sorted(PROJECTIONS)}"
                         ) from None
    return cls(**kwargs)
