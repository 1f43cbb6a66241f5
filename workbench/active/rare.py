"""Finding a rare class early: active anomaly ranking and the rare-class oracle simulation.

:func:`active_anomaly_scores` is an active anomaly ranking in the spirit of Astronomaly
(Lochner & Bassett 2021, arXiv:2010.11202): the unsupervised outlier score is re-weighted
by a *relevance* learned from what the person has said so far about labelled items
(1 = of the kind searched for, 0 = not). Relevance is a kernel regression (Nadaraya-Watson,
Gaussian kernel, bandwidth = median distance to the 10th neighbour) shrunk towards a
neutral prior where no labels are near, and the ranking score is
``rank(outlier score) * exp(strength * (relevance - prior))``: near a found rare item the
score rises, near labelled common items it falls, and elsewhere the outlier ranking
decides. (Astronomaly regresses relevance with a random forest and uses its own
combination formula; this is our own, simpler formulation of the same idea.)

:func:`simulate_rare` plays the oracle: for each seed every strategy starts from the same
random labels and asks for ``step`` labels per round until ``k`` items of the rare class are
labelled; it records how many labels that took (:func:`workbench.active.evidence.
labels_until`) and summarises them against random (:func:`workbench.active.evidence.
rare_table`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from workbench.core.errors import InputError

__all__ = ["active_anomaly_scores", "simulate_rare", "collection_morphology",
           "RARE_STRATEGIES"]

RARE_STRATEGIES = ("random", "anomaly_first", "active_anomaly", "cluster_balanced")


def _rank01(v: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(v, method="average") / len(v)  # ties share a rank


def active_anomaly_scores(anomaly, embeddings, interest, *, strength: float = 3.0,
                          prior: float = 0.5, prior_weight: float = 1.0,
                          bandwidth: float | None = None) -> np.ndarray:
    """Outlier scores re-weighted by the relevance of what has been labelled.

    Parameters
    ----------
    anomaly : array (n,)
        Outlier scores (higher = more unusual), e.g. ``AnomalyScorer(...).scores_``.
    embeddings : array (n, d)
    interest : array (n,)
        1 for labelled items of the kind searched for, 0 for other labelled items, NaN for
        unlabelled ones.
    strength : float
        How strongly relevance re-weights the outlier rank (0: plain anomaly ranking).
    prior, prior_weight : float
        Neutral relevance and its weight (pseudo-count) where no labelled item is near.
    bandwidth : float, optional
        Kernel width (default: median distance of items to their 10th neighbour).

    Returns
    -------
    scores : array (n,), higher = label sooner.
    """
    a = np.nan_to_num(np.asarray(anomaly, float), nan=-np.inf)
    x = np.asarray(embeddings, float)
    r = np.asarray(interest, float)
    if not (len(a) == len(x) == len(r)):
        raise InputError(f"anomaly ({len(a)}), embeddings ({len(x)}) and interest ({len(r)}) "
                         "must have one entry per item")
    base = _rank01(a)
    lab = np.flatnonzero(np.isfinite(r))
    if not len(lab) or strength == 0:
        return base
    if bandwidth is None:
        bandwidth = _median_knn_distance(x)
    d2 = (np.einsum("ij,ij->i", x, x)[:, None] + np.einsum("ij,ij->i", x[lab], x[lab])[None]
          - 2.0 * x @ x[lab].T)
    w = np.exp(-np.maximum(d2, 0.0) / (2.0 * bandwidth ** 2))
    rel = (w @ r[lab] + prior_weight * prior) / (w.sum(1) + prior_weight)
    return base * np.exp(strength * (rel - prior))


def _median_knn_distance(x: np.ndarray, k: int = 10, max_rows: int = 2000) -> float:
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    rows = rng.choice(len(x), size=min(max_rows, len(x)), replace=False)
    k = int(min(k + 1, len(x)))
    dist, _ = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x[rows])
    h = float(np.median(dist[:, -1]))
    return h if h > 0 else 1.0


def simulate_rare(features, labels, rare: str, *,
                  strategies: Sequence[str] = RARE_STRATEGIES, k: int = 10, seeds=10,
                  initial: int = 10, step: int = 10, budget: int | None = None,
                  anomaly_method: str = "knn", anomaly=None,
                  progress: Callable[[str], None] | None = None, n_boot: int = 2000) -> dict:
    """Labels spent until ``k`` items of class ``rare`` are labelled, per strategy and seed.

    Parameters
    ----------
    features : array (n, d)
        The embedding of every item (all of them are the pool; no test set is needed).
    labels : sequence of str
        The oracle's answers; ``rare`` must be one of them at least ``k`` times.
    strategies : names from :data:`RARE_STRATEGIES`
        ``random``; ``anomaly_first`` (outlier score order, fixed); ``active_anomaly``
        (:func:`active_anomaly_scores`, updated after every round of labels);
        ``cluster_balanced`` (round-robin over HDBSCAN clusters, random inside each).
    k, initial, step, budget
        Rare items wanted; random labels every strategy starts from (the same per seed);
        labels per round; labels at most (default: every item).
    anomaly_method : str
        :class:`workbench.embed.anomaly.AnomalyScorer` method.
    anomaly : array (n,), optional
        Outlier scores to rank by (higher = sooner) instead of ``anomaly_method`` on
        ``features``, e.g. a score computed from the images without labels; used by
        ``anomaly_first`` and as the base of ``active_anomaly``.

    Returns
    -------
    dict with ``rare_class``, ``k``, ``n_items``, ``n_rare``, ``labels_spent``
    {strategy: {seed: int or None}}, ``summary`` (:func:`~workbench.active.evidence.
    rare_table`), ``settings`` and ``seconds``.
    """
    from workbench.active.acquisition import acquire
    from workbench.active.evidence import labels_until, rare_table

    t0 = time.perf_counter()
    x = np.asarray(features, np.float64)
    lab = np.asarray([str(v) for v in labels], dtype=object)
    if len(x) != len(lab):
        raise InputError(f"{len(x)} feature rows but {len(lab)} labels")
    is_rare = lab == str(rare)
    if is_rare.sum() < k:
        raise InputError(f"class {rare!r} has {int(is_rare.sum())} items, fewer than k={k}",
                         hint=f"classes: {sorted(set(lab))}")
    unknown = [s for s in strategies if s not in RARE_STRATEGIES]
    if unknown:
        raise InputError(f"unknown rare-search strategies {unknown}",
                         hint=f"choose from {list(RARE_STRATEGIES)}")
    if "random" not in strategies:
        strategies = ["random", *strategies]
    mu, sd = x.mean(0), x.std(0)
    x = (x - mu) / np.where(sd > 0, sd, 1.0)
    n = len(x)
    budget = n if budget is None else int(min(budget, n))
    aux: dict = {}
    if anomaly is not None:
        aux["anomaly"] = np.asarray(anomaly, np.float64)
        if aux["anomaly"].shape != (n,):
            raise InputError(f"anomaly has shape {aux['anomaly'].shape}, expected ({n},): "
                             "one outlier score per item")
    elif {"anomaly_first", "active_anomaly"} & set(strategies):
        from workbench.embed.anomaly import AnomalyScorer

        aux["anomaly"] = AnomalyScorer(anomaly_method, k=min(10, n - 1)).fit(x).scores_
    if "cluster_balanced" in strategies:
        from workbench.embed.cluster import HDBSCANClusterer

        aux["clusters"] = HDBSCANClusterer(min_cluster_size=max(5, n // 100),
                                           random_state=0).fit(x).labels_
    bandwidth = _median_knn_distance(x) if "active_anomaly" in strategies else None
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    spent: dict = {s: {} for s in strategies}
    for seed in seed_list:
        start = np.random.default_rng(5000 + seed).choice(n, size=min(initial, budget),
                                                          replace=False)
        for strategy in strategies:
            labelled = np.zeros(n, bool)
            labelled[start] = True
            order = list(start)
            rnd = 0
            while is_rare[order].sum() < k and len(order) < budget:
                m = int(min(step, budget - len(order)))
                if strategy == "active_anomaly":
                    interest = np.full(n, np.nan)
                    interest[labelled] = is_rare[labelled].astype(float)
                    s = active_anomaly_scores(aux["anomaly"], x, interest, bandwidth=bandwidth)
                    pool = np.flatnonzero(~labelled)
                    picks = pool[np.argsort(-s[pool], kind="stable")[:m]]
                else:
                    picks, _ = acquire(strategy, m, embeddings=x,
                                       anomaly=aux.get("anomaly"), clusters=aux.get("clusters"),
                                       labelled_mask=labelled, random_fraction=0.0,
                                       seed=seed * 1000 + rnd)
                labelled[picks] = True
                order.extend(int(i) for i in picks)
                rnd += 1
            spent[strategy][str(seed)] = labels_until(lab[order], rare, k)
            if progress is not None:
                progress(f"rare {rare!r} seed {seed} {strategy}: "
                         f"{spent[strategy][str(seed)]} labels for {k}")
    summary = rare_table(spent, n_boot=n_boot, censor=budget + 1)
    return {"rare_class": str(rare), "k": int(k), "n_items": int(n),
            "n_rare": int(is_rare.sum()), "labels_spent": spent, "summary": summary,
            "expected_random": round(k * (n + 1) / (is_rare.sum() + 1), 1),
            "settings": {"initial": initial, "step": step, "budget": budget,
                         "anomaly_method": ("given" if anomaly is not None
                                            else anomaly_method), "seeds": seed_list,
                         "strategies": list(strategies)},
            "seconds": round(time.perf_counter() - t0, 2)}


def collection_morphology(coll, size_column: str | None = None, *, pad_pixels: float = 3.0,
                          batch_size: int = 256) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-side morphology (:func:`workbench.imaging.morphology.morphology_table`) of the
    first channel of each item's first product, in the Collection's order, and its
    label-free :func:`~workbench.imaging.morphology.hybrid_score`.

    Parameters
    ----------
    coll : Collection
    size_column : str, optional
        Catalog column of each source's largest angular size (arcsec): the source's islands
        must come within half of it + ``pad_pixels`` of the centre (needs the column
        ``pixscale_arcsec``). Default: within 0.3 x the image's smaller side.
    pad_pixels : float
        Added to half the size (3 pixels: one FIRST beam, 5.4 arcsec, at 1.8 arcsec a pixel).

    Returns
    -------
    features : array (n, 16)
        The morphology columns, the column median where no source was found.
    score : array (n,)
        The hybrid score (NaN where no source was found).
    n_without_source : int
    """
    from workbench.imaging.morphology import hybrid_score, morphology_table

    cat = coll.catalog
    r_max = None
    if size_column:
        if size_column not in cat.columns or "pixscale_arcsec" not in cat.columns:
            raise InputError(f"per-side morphology within {size_column!r} needs the catalog "
                             f"columns {size_column!r} (arcsec) and 'pixscale_arcsec'",
                             path=coll.path, hint=f"columns: {list(cat.columns)}")
        r_max = (cat[size_column].to_numpy(float) / 2 / cat["pixscale_arcsec"].to_numpy(float)
                 + float(pad_pixels))
        if not np.isfinite(r_max).all() or (r_max <= 0).any():
            raise InputError(f"column {size_column!r} has missing or non-positive sizes",
                             path=coll.path)
    product = next(iter(coll.products))
    parts, start = [], 0
    for b in coll.batches(batch_size, products=[product]):
        imgs = np.asarray(b.images[product])[:, 0]
        parts.append(morphology_table(imgs, r_max=None if r_max is None
                                      else r_max[start:start + len(imgs)]))
        start += len(imgs)
    m = np.concatenate([t.to_numpy(float) for t in parts])
    score = np.concatenate([hybrid_score(t) for t in parts])
    missing = np.isnan(m).all(axis=1)
    if missing.all():
        raise InputError("no image has a source above the noise for per-side morphology",
                         path=coll.path)
    return np.where(np.isnan(m), np.nanmedian(m, axis=0), m), score, int(missing.sum())
