"""HDBSCAN clusters with GLOSH outlier scores, sklearn-style.

Campello, Moulavi & Sander 2013 (HDBSCAN), and Campello et al. 2015 (GLOSH, "Hierarchical
density estimates for data clustering, visualization, and outlier detection"), via the
``hdbscan`` package (McInnes, Healy & Astels 2017).

Fast path for large surveys: with ``pca_components="auto"`` the embeddings are first reduced
with PCA to 10 dimensions when there are more than 20,000 of them, where the Boruvka
kd-tree of hdbscan is fast (raw 128-D HDBSCAN grows as N^2); core distances are computed on
all cores.
"""

from __future__ import annotations

import numpy as np

from workbench.embed.projection import _check, resolve_pca

__all__ = ["HDBSCANClusterer", "default_min_cluster_size"]


def default_min_cluster_size(n: int) -> int:
    """A cluster size that scales with the survey: ~sqrt(n)/2, between 5 and 500."""
    return int(np.clip(round(np.sqrt(n) / 2), 5, 500))


class HDBSCANClusterer:
    """HDBSCAN on embeddings (or on a 2-D map).

    Parameters
    ----------
    min_cluster_size : int or None
        Smallest group called a cluster (None: :func:`default_min_cluster_size`).
    min_samples : int or None
        Density smoothing (None: ``min(min_cluster_size, 10)``).
    pca_components : int, "auto" or None
        Reduce with PCA first (see the module notes).
    cluster_selection_method : {"eom", "leaf"}
    core_dist_n_jobs : int
        Processes for the core distances (-1: all cores).

    Attributes
    ----------
    labels_ : ndarray of int, shape (n,)
        Cluster id per item, -1 for noise.
    probabilities_ : ndarray of float, shape (n,)
        Strength of membership in its cluster, 0 for noise.
    outlier_scores_ : ndarray of float, shape (n,)
        GLOSH score in [0, 1], high = outlier.
    cluster_sizes_ : dict of int -> int
    """

    def __init__(self, *, min_cluster_size: int | None = None, min_samples: int | None = None,
                 pca_components="auto", cluster_selection_method: str = "eom",
                 core_dist_n_jobs: int = -1, random_state: int = 0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.pca_components = pca_components
        self.cluster_selection_method = cluster_selection_method
        self.core_dist_n_jobs = core_dist_n_jobs
        self.random_state = random_state

    def fit(self, X, y=None) -> HDBSCANClusterer:
        import warnings

        import hdbscan

        X = _check(X)
        k = resolve_pca(self.pca_components, *X.shape, auto_dim=10)
        if k is not None:
            from sklearn.decomposition import PCA

            self.pca_ = PCA(k, random_state=self.random_state).fit(X)
            Xr = self.pca_.transform(X)
        else:
            self.pca_, Xr = None, X
        mcs = self.min_cluster_size or default_min_cluster_size(len(X))
        ms = self.min_samples or min(mcs, 10)
        self.model_ = hdbscan.HDBSCAN(min_cluster_size=int(mcs), min_samples=int(ms),
                                      cluster_selection_method=self.cluster_selection_method,
                                      core_dist_n_jobs=self.core_dist_n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(np.asarray(Xr, dtype=np.float64))
            self.outlier_scores_ = np.nan_to_num(
                np.asarray(self.model_.outlier_scores_, dtype=np.float64), nan=0.0)
        self.labels_ = np.asarray(self.model_.labels_, dtype=np.int64)
        self.probabilities_ = np.asarray(self.model_.probabilities_, dtype=np.float64)
        u, c = np.unique(self.labels_[self.labels_ >= 0], return_counts=True)
        self.cluster_sizes_ = {int(a): int(b) for a, b in zip(u, c)}
        self.n_clusters_ = len(u)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.fit(X).labels_

    def params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}
