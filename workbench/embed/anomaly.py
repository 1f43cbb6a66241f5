"""Anomaly ranking in embedding space, and a ranking that learns what the user finds interesting.

Scores are computed on the embeddings (optionally PCA-reduced), not on a 2-D map: a map
absorbs outliers into clusters (the issue measured GLOSH AUC 1.00 in 128-D against 0.65 on the
UMAP of the same data).

- ``glosh``: GLOSH of HDBSCAN (Campello et al. 2015), see :mod:`workbench.embed.cluster`.
- ``iforest``: isolation forest (Liu, Ting & Zhou 2008), scikit-learn.
- ``knn``: distance to the k-th nearest neighbour (Ramaswamy et al. 2000).

:class:`PersonalisedRanking` re-weights an anomaly ranking with the user's "interesting / not
interesting" marks, in the manner of Astronomaly's active anomaly detection (Lochner & Bassett
2021, arXiv:2010.11202): a kernel regression in embedding space predicts how interesting each
item is from the marked ones, and its confidence (how close the item is to marked items)
decides how much that prediction moves the item's anomaly score. Marks are recorded in the
label store (scheme ``interesting``) when a store is given.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import InputError
from workbench.embed.neighbors import knn_search
from workbench.embed.projection import _check, resolve_pca

__all__ = ["AnomalyScorer", "PersonalisedRanking", "METHODS", "INTEREST_SCHEME",
           "record_interest", "rank_normalise"]

METHODS = ("glosh", "iforest", "knn")

#: The label scheme of the anomaly feedback (registered on first use).
INTEREST_SCHEME = {
    "name": "interesting", "version": 1, "title": "Is this unusual item interesting?",
    "description": "Feedback on the anomaly ranking (personalised ranking).",
    "kinds": ["radio", "transient", "lens", "image"], "class_question": "interesting",
    "questions": [{"id": "interesting", "type": "choice", "text": "Interesting?",
                   "answers": [{"value": "yes", "label": "Interesting", "key": "y"},
                               {"value": "no", "label": "Not interesting", "key": "n"}]}],
}


def rank_normalise(scores) -> np.ndarray:
    """Scores -> their rank fraction in [0, 1] (1 = most anomalous); ties share a rank."""
    s = np.asarray(scores, dtype=np.float64)
    if len(s) < 2:
        return np.ones_like(s)
    from scipy.stats import rankdata

    return (rankdata(s, method="average") - 1) / (len(s) - 1)


class AnomalyScorer:
    """Score items for how unusual they are; high = unusual.

    Parameters
    ----------
    method : {"glosh", "iforest", "knn"}
    k : int
        Neighbour for ``knn`` (distance to the k-th); min_samples for ``glosh``.
    pca_components : int, "auto" or None
        Reduce the embeddings with PCA first ("auto": to 32 dims above 20,000 items for
        iforest/knn; GLOSH uses the clusterer's own rule).
    random_state : int

    Attributes
    ----------
    scores_ : ndarray (n,)
    ranking_ : ndarray (n,) of int, positions from most to least unusual.
    """

    def __init__(self, method: str = "glosh", *, k: int = 10, pca_components="auto",
                 min_cluster_size: int | None = None, random_state: int = 0):
        self.method = method
        self.k = k
        self.pca_components = pca_components
        self.min_cluster_size = min_cluster_size
        self.random_state = random_state

    def fit(self, X, y=None, *, knn=None, fit_rows=None) -> AnomalyScorer:
        """Score the rows of ``X`` (n, d).

        ``knn``: optional ``(indices, distances)`` (n, k), each row's nearest neighbours in
        ``X`` as given, itself first (e.g. a UMAP map's :attr:`~UMAPMap.knn_graph_` with
        ``X = map.reduce(embeddings)``): ``glosh`` (data of more than 3 dimensions) and
        ``knn`` (when ``k`` < the graph's width) then reuse it instead of searching again.
        ``fit_rows`` (``glosh`` only): the items a sampled map was fitted on (its graph lists
        fitted items for every other item); GLOSH is then fitted on those and the others
        placed (see :mod:`workbench.embed.cluster`).
        """
        if self.method not in METHODS:
            raise InputError(f"unknown anomaly method {self.method!r}; choose one of {METHODS}")
        X = _check(X)
        if self.method == "glosh":
            from workbench.embed.cluster import HDBSCANClusterer

            cl = HDBSCANClusterer(min_cluster_size=self.min_cluster_size,
                                  min_samples=self.k, pca_components=self.pca_components,
                                  random_state=self.random_state).fit(X, knn=knn,
                                                                      fit_rows=fit_rows)
            self.clusterer_ = cl
            scores = cl.outlier_scores_
        elif self.method == "knn" and knn is not None and np.shape(knn[1])[1] > self.k:
            scores = np.asarray(knn[1])[:, self.k]
        else:
            kk = resolve_pca(self.pca_components, *X.shape)
            if kk is not None:
                from sklearn.decomposition import PCA

                X = PCA(kk, random_state=self.random_state).fit_transform(X)
            if self.method == "iforest":
                from sklearn.ensemble import IsolationForest

                self.model_ = IsolationForest(n_estimators=200, random_state=self.random_state)
                scores = -self.model_.fit(X).score_samples(X)
            else:  # the k-th neighbour (itself excluded) from the search the maps use
                k = min(self.k, len(X) - 1)
                scores = knn_search(X, k=k + 1, random_state=self.random_state)[1][:, k]
        self.scores_ = np.asarray(scores, dtype=np.float64)
        self.ranking_ = np.argsort(-self.scores_, kind="stable")
        return self

    def params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}


class PersonalisedRanking:
    """An anomaly ranking that adapts to "interesting" feedback.

    Parameters
    ----------
    X : array (n, d)
        Embeddings.
    anomaly_scores : array (n,)
        Any anomaly score (high = unusual); rank-normalised to [0, 1].
    bandwidth : float or None
        Kernel width in embedding distance (None: twice the median distance to the 10th
        neighbour of a sample).
    strength : float
        How far feedback can move a score: the final score is
        ``a * (1 + strength * c * (2 r - 1))`` with ``a`` the normalised anomaly score, ``r``
        in [0, 1] the predicted interest and ``c`` in [0, 1] the confidence.

    ``feedback(indices, interesting)`` adds marks (True/False per index); ``scores_`` and
    ``ranking()`` reflect all marks so far. Marked items keep their mark in ``marks_``.
    """

    def __init__(self, X, anomaly_scores, *, bandwidth: float | None = None,
                 strength: float = 1.0, random_state: int = 0):
        self.X = _check(X)
        self.base_ = rank_normalise(anomaly_scores)
        if len(self.base_) != len(self.X):
            raise InputError(f"{len(self.base_)} anomaly scores for {len(self.X)} embeddings")
        self.strength = float(strength)
        if bandwidth is None:
            rng = np.random.default_rng(random_state)
            sample = self.X[rng.choice(len(self.X), min(len(self.X), 2000), replace=False)]
            from workbench.embed.neighbors import SimilarityIndex

            idx = SimilarityIndex(metric="euclidean").fit(self.X)
            _, d = idx.query(sample, min(11, len(self.X)))
            bandwidth = 2 * float(np.median(d[:, -1])) or 1.0
        self.bandwidth = float(bandwidth)
        self.marks_: dict[int, bool] = {}
        self.scores_ = self.base_.copy()

    def feedback(self, indices, interesting) -> PersonalisedRanking:
        """Record marks: ``interesting`` is one bool or one per index."""
        idx = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        vals = np.broadcast_to(np.asarray(interesting, dtype=bool), idx.shape)
        for i, v in zip(idx.tolist(), vals.tolist()):
            self.marks_[int(i)] = bool(v)
        self._update()
        return self

    def _update(self) -> None:
        if not self.marks_:
            self.scores_ = self.base_.copy()
            return
        m = np.fromiter(self.marks_.keys(), np.int64)
        y = np.fromiter(self.marks_.values(), np.float64)
        num = np.zeros(len(self.X))
        den = np.zeros(len(self.X))
        M = self.X[m]
        for s in range(0, len(self.X), 65536):
            blk = self.X[s:s + 65536]
            d2 = ((blk ** 2).sum(1)[:, None] + (M ** 2).sum(1)[None] - 2 * blk @ M.T)
            w = np.exp(-np.maximum(d2, 0) / self.bandwidth ** 2)
            num[s:s + 65536] = w @ y
            den[s:s + 65536] = w.sum(1)
        r = np.where(den > 0, num / np.maximum(den, 1e-300), 0.5)
        c = np.minimum(den, 1.0)
        self.interest_ = r
        self.confidence_ = c
        self.scores_ = self.base_ * (1 + self.strength * c * (2 * r - 1))
        self.scores_[m] = np.where(y > 0, self.scores_[m], 0.0)  # a "no" is never shown again

    def ranking(self, *, exclude_marked: bool = True) -> np.ndarray:
        """Positions from most to least worth showing."""
        order = np.argsort(-self.scores_, kind="stable")
        if exclude_marked and self.marks_:
            order = order[~np.isin(order, np.fromiter(self.marks_.keys(), np.int64))]
        return order


def record_interest(store, item_ids, interesting, *, annotator: str | None = None,
                    method: str | None = None) -> list[int]:
    """Record "interesting" marks in a label store (source ``anomaly``); returns record ids."""
    from workbench.core.schemes import register_scheme

    register_scheme(INTEREST_SCHEME)
    ids = [str(i) for i in np.atleast_1d(item_ids)]
    vals = np.broadcast_to(np.asarray(interesting, dtype=bool), (len(ids),))
    out = []
    for value in (True, False):
        sel = [i for i, v in zip(ids, vals) if bool(v) == value]
        if sel:
            out += store.annotate_many(sel, {"interesting": "yes" if value else "no"},
                                       annotator=annotator, scheme="interesting",
                                       source="anomaly", bulk=len(sel) > 1,
                                       source_detail={"method": method})
    return out
