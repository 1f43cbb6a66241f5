"""embed: 2-D maps (UMAP, t-SNE, PCA), HDBSCAN clusters, anomaly scores and kNN search on
embedding vectors. No torch here; umap-learn, openTSNE, hdbscan and scikit-learn are imported
inside the estimators' ``fit``.

Modules: :mod:`~workbench.embed.projection`, :mod:`~workbench.embed.cluster`,
:mod:`~workbench.embed.neighbors`, :mod:`~workbench.embed.anomaly`, :mod:`~workbench.embed.records`.
"""

from workbench.embed.anomaly import AnomalyScorer, PersonalisedRanking
from workbench.embed.cluster import HDBSCANClusterer
from workbench.embed.neighbors import SimilarityIndex
from workbench.embed.projection import PCAMap, TSNEMap, UMAPMap, make_projection

__all__ = ["UMAPMap", "TSNEMap", "PCAMap", "make_projection", "HDBSCANClusterer",
           "SimilarityIndex", "AnomalyScorer", "PersonalisedRanking"]
