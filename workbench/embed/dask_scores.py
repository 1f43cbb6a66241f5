"""Anomaly scores with the scoring spread over a Dask cluster (``workbench anomalies
--workers N`` / ``--scheduler ADDRESS``).

The scorer is fitted once, here; the items are then scored in chunks on the workers, and the
result is stored as the same ``anomaly-<method>`` set (same column, same record) that
:func:`workbench.embed.records.anomalies_and_store` writes:

* ``iforest``: the isolation forest (after the same PCA) is fitted here on all items (it
  draws 256 items per tree, so fitting is cheap); scoring every item, the costly part, runs
  in chunks on the workers against the one broadcast forest.
* ``knn``: the reference points (after the same PCA) are broadcast once; each chunk's items
  search their k-th nearest neighbour on a worker.
* ``glosh``, and any method when a UMAP map of the embeddings is stored (whose neighbour graph
  the serial path reuses): the score comes out of one fit over all items (the HDBSCAN
  hierarchy) and cannot be split, so it runs here exactly as without a cluster.

Equal to the serial scores: iforest exactly; knn exactly while the search is exact (see
:func:`workbench.embed.neighbors.knn_search`, ``exact_below``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["score_anomalies", "CHUNKABLE"]

#: Methods whose scoring is split over the workers.
CHUNKABLE = ("iforest", "knn")


def _iforest_chunk(model, X, a: int, b: int) -> np.ndarray:
    return -model.score_samples(X[a:b])


def _knn_chunk(R, a: int, b: int, k: int, seed: int) -> np.ndarray:
    from workbench.embed.neighbors import knn_search

    return knn_search(R, R[a:b], k=k + 1, random_state=seed)[1][:, k]


def score_anomalies(coll, *, client=None, method: str = "glosh", embedding: str | None = None,
                    seed: int = 0, chunk_rows: int = 20000, **options):
    """Score and store ``anomaly-<method>``; returns ``(set name, scores (n,))``.

    Without a ``client`` (or for a method that cannot be split, see the module notes) this
    is :func:`~workbench.embed.records.anomalies_and_store`."""
    from workbench.embed.anomaly import AnomalyScorer
    from workbench.embed.projection import resolve_pca
    from workbench.embed.records import anomalies_and_store, load_embedding

    root = coll.root
    if client is None or method not in CHUNKABLE or "map-umap" in root.derived:
        return anomalies_and_store(coll, method=method, embedding=embedding, seed=seed,
                                   **options)
    name, X = load_embedding(coll, embedding)
    scorer = AnomalyScorer(method, random_state=seed, **options)
    kk = resolve_pca(scorer.pca_components, *X.shape)
    if kk is not None:
        from sklearn.decomposition import PCA

        X = PCA(kk, random_state=seed).fit_transform(X)
    n = len(X)
    spans = [(a, min(n, a + int(chunk_rows))) for a in range(0, n, max(1, int(chunk_rows)))]
    X_f = client.scatter(X, broadcast=True)
    if method == "iforest":
        from sklearn.ensemble import IsolationForest

        model = IsolationForest(n_estimators=200, random_state=seed).fit(X)
        m_f = client.scatter(model, broadcast=True)
        futures = [client.submit(_iforest_chunk, m_f, X_f, a, b, retries=2, pure=False)
                   for a, b in spans]
    else:
        k = min(scorer.k, n - 1)
        futures = [client.submit(_knn_chunk, X_f, a, b, k, seed, retries=2, pure=False)
                   for a, b in spans]
    scores = np.concatenate(client.gather(futures)).astype(np.float64) if spans else np.zeros(0)
    set_name = f"anomaly-{method}"
    coll.add_columns(set_name, {f"anomaly_{method}": scores},
                     tool="workbench.embed.anomaly.AnomalyScorer",
                     params={**scorer.params(), "embedding": name})
    return set_name, scores
