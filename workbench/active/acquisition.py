"""Acquisition functions: which unlabelled items to label next.

Each strategy is a pure function registered by name: model outputs (probabilities,
Monte-Carlo dropout samples, embeddings, cluster ids, anomaly scores) in, one score per item
out (higher = label sooner). :func:`acquire` turns scores into a batch of picks, replacing a
fraction of them by uniformly random unlabelled items so the labelled set never drifts
entirely away from the survey's real distribution.

Strategies
----------
random            uniform scores
least_confidence  1 - max_c p_c
margin            -(p_top1 - p_top2): most ambiguous first
entropy           -sum_c p_c log p_c
bald              mutual information between prediction and weights from MC-dropout samples
                  (Houlsby et al. 2011, arXiv:1112.5745; Gal et al. 2017, arXiv:1703.02910)
coreset           k-centre greedy on embeddings (Sener & Savarese 2018, arXiv:1708.00489)
cluster_balanced  round-robin over HDBSCAN clusters, most uncertain first within each
anomaly_first     the highest outlier scores first
badge             k-means++ seeding on gradient embeddings (Ash et al. 2020,
                  arXiv:1906.03671): uncertain *and* diverse batches
typiclust         the most typical item of each of the largest k-means clusters that hold no
                  label yet (TypiClust, Hacohen et al. 2022, arXiv:2202.02794): for the
                  first tens of labels, when a model's uncertainty is still noise
cluster_margin    the lowest-margin items, taken round-robin over agglomerative clusters of
                  the embeddings, smallest cluster first (Citovsky et al. 2021,
                  arXiv:2107.14263): uncertain batches that do not repeat one region
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workbench.core.errors import InputError

__all__ = ["acquire", "STRATEGIES", "register", "least_confidence", "margin", "entropy",
           "bald", "random_scores", "coreset_order", "cluster_balanced_order", "anomaly_first",
           "badge_order", "typiclust_order", "typicality", "cluster_margin_order",
           "available"]

_EPS = 1e-12


def _probs(probs, name) -> np.ndarray:
    if probs is None:
        raise InputError(f"strategy {name!r} needs model probabilities (probs=)")
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise InputError(f"probs must have shape (n_items, n_classes), not {p.shape}")
    return p


def least_confidence(probs) -> np.ndarray:
    """``1 - max_c p_c`` for probabilities ``(n, k)``."""
    return 1.0 - _probs(probs, "least_confidence").max(axis=1)


def margin(probs) -> np.ndarray:
    """Negative gap between the two most probable classes (0 is the most ambiguous)."""
    p = np.sort(_probs(probs, "margin"), axis=1)
    return -(p[:, -1] - p[:, -2])


def entropy(probs) -> np.ndarray:
    """Predictive entropy ``-sum p log p`` (nats)."""
    p = _probs(probs, "entropy")
    return -(p * np.log(p + _EPS)).sum(axis=1)


def bald(mc_probs) -> np.ndarray:
    """BALD: ``H[mean_s p_s] - mean_s H[p_s]`` from MC samples ``(n_samples, n, k)``.

    Zero when all samples agree (whatever their uncertainty); large when the samples are
    individually confident but disagree.
    """
    if mc_probs is None:
        raise InputError("strategy 'bald' needs Monte-Carlo dropout samples (mc_probs=)",
                         hint="use a model with dropout and workbench.learn.infer."
                              "mc_dropout_proba")
    s = np.asarray(mc_probs, dtype=np.float64)
    if s.ndim != 3:
        raise InputError(f"mc_probs must have shape (n_samples, n_items, n_classes), not {s.shape}")
    mean = s.mean(axis=0)
    h_mean = -(mean * np.log(mean + _EPS)).sum(axis=1)
    mean_h = -(s * np.log(s + _EPS)).sum(axis=2).mean(axis=0)
    return np.maximum(h_mean - mean_h, 0.0)


def random_scores(n: int, *, seed: int = 0) -> np.ndarray:
    """Uniform random scores in [0, 1)."""
    return np.random.default_rng(seed).random(n)


def coreset_order(embeddings, labelled_mask, n: int) -> tuple[np.ndarray, np.ndarray]:
    """k-centre greedy: repeatedly pick the unlabelled point farthest from everything
    labelled or already picked. Returns ``(picks, distance at pick time)``."""
    if embeddings is None:
        raise InputError("strategy 'coreset' needs embeddings (embeddings=)")
    x = np.asarray(embeddings, dtype=np.float64)
    lab = np.asarray(labelled_mask, bool)
    d = np.full(len(x), np.inf)
    centres = np.flatnonzero(lab)
    sq = np.einsum("ij,ij->i", x, x)
    for start in range(0, len(centres), 256):  # |x - c|^2 = |x|^2 + |c|^2 - 2 x.c, by blocks
        c = x[centres[start:start + 256]]
        dd = (sq[:, None] + sq[centres[start:start + 256]][None] - 2.0 * (x @ c.T)).min(axis=1)
        d = np.minimum(d, np.maximum(dd, 0.0))
    picks, dists = [], []
    avail = ~lab
    for _ in range(min(n, int(avail.sum()))):
        cand = np.where(avail, d, -np.inf)
        if np.isinf(cand).all() and not np.isfinite(d[avail]).any():
            i = int(np.flatnonzero(avail)[0])  # nothing labelled yet: start anywhere
        else:
            i = int(np.argmax(cand))
        picks.append(i)
        dists.append(float(np.sqrt(d[i])) if np.isfinite(d[i]) else np.inf)
        avail[i] = False
        d = np.minimum(d, ((x - x[i]) ** 2).sum(-1))
    return np.asarray(picks, int), np.asarray(dists)


def cluster_balanced_order(clusters, labelled_mask, n: int, *, within=None,
                           seed: int = 0) -> np.ndarray:
    """Round-robin over clusters (HDBSCAN ids; -1 = noise is its own group), fewest
    labelled clusters first; inside a cluster the highest ``within`` score first."""
    if clusters is None:
        raise InputError("strategy 'cluster_balanced' needs cluster ids (clusters=)")
    c = np.asarray(clusters)
    lab = np.asarray(labelled_mask, bool)
    rng = np.random.default_rng(seed)
    w = rng.random(len(c)) if within is None else np.asarray(within, float)
    queues = {}
    for k in np.unique(c):
        members = np.flatnonzero((c == k) & ~lab)
        queues[k] = list(members[np.argsort(-w[members], kind="stable")])
    n_lab = {k: int(((c == k) & lab).sum()) for k in queues}
    picks = []
    while len(picks) < n and any(queues.values()):
        for k in sorted(queues, key=lambda k: (n_lab[k], str(k))):
            if queues[k] and len(picks) < n:
                picks.append(queues[k].pop(0))
                n_lab[k] += 1
                break
    return np.asarray(picks, int)


def anomaly_first(anomaly) -> np.ndarray:
    """The outlier scores themselves (higher = more unusual = first)."""
    if anomaly is None:
        raise InputError("strategy 'anomaly_first' needs outlier scores (anomaly=)")
    return np.nan_to_num(np.asarray(anomaly, dtype=np.float64), nan=-np.inf)


def badge_order(probs, features, labelled_mask, n: int, *, seed: int = 0) -> np.ndarray:
    """BADGE: k-means++ seeding over the unlabelled items' gradient embeddings
    ``(p - onehot(argmax p)) outer h`` (``h``: the head's last hidden features, or the
    inputs of a linear head). The first pick is the largest gradient; each next one is drawn
    with probability proportional to its squared distance to the picks so far."""
    p = _probs(probs, "badge")
    if features is None:
        raise InputError("strategy 'badge' needs features (hidden= or embeddings=)")
    h = np.asarray(features, np.float64)
    if len(h) != len(p):
        raise InputError(f"badge: {len(h)} feature rows but {len(p)} probability rows")
    lab = np.asarray(labelled_mask, bool)
    pool = np.flatnonzero(~lab)
    n = int(min(n, len(pool)))
    if n == 0:
        return np.zeros(0, int)
    r = p[pool].copy()
    r[np.arange(len(pool)), r.argmax(1)] -= 1.0
    g = (r[:, :, None] * h[pool][:, None, :]).reshape(len(pool), -1)
    rng = np.random.default_rng(seed)
    first = int(np.argmax((g * g).sum(1)))
    chosen = [first]
    d2 = ((g - g[first]) ** 2).sum(1)
    for _ in range(n - 1):
        d2[chosen] = 0.0
        tot = d2.sum()
        if tot <= 0:
            rest = np.setdiff1d(np.arange(len(pool)), chosen)
            i = int(rng.choice(rest))
        else:
            i = int(rng.choice(len(pool), p=d2 / tot))
        chosen.append(i)
        d2 = np.minimum(d2, ((g - g[i]) ** 2).sum(1))
    return pool[np.asarray(chosen, int)]


def typicality(x, k: int = 20) -> np.ndarray:
    """Inverse mean Euclidean distance of each row of ``x`` to its ``k`` nearest other rows
    (fewer if ``x`` has fewer rows): high in dense regions. A single row gets +inf."""
    x = np.asarray(x, np.float64)
    if len(x) < 2:
        return np.full(len(x), np.inf)
    sq = np.einsum("ij,ij->i", x, x)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2.0 * (x @ x.T), 0.0))
    np.fill_diagonal(d, np.inf)
    kk = min(k, len(x) - 1)
    near = np.partition(d, kk - 1, axis=1)[:, :kk]
    return 1.0 / np.maximum(near.mean(1), 1e-12)


def typiclust_order(embeddings, labelled_mask, n: int, *, seed: int = 0,
                    k_neighbours: int = 20) -> np.ndarray:
    """TypiClust (Hacohen et al. 2022): k-means with ``labelled + n`` clusters on all items;
    from the largest clusters that hold no labelled item (then the largest ones with the
    fewest labels, once every cluster holds one) pick each one's most typical unlabelled
    item (:func:`typicality` within the cluster). Deterministic for a ``seed``."""
    if embeddings is None:
        raise InputError("strategy 'typiclust' needs embeddings (embeddings=)")
    from sklearn.cluster import KMeans

    x = np.asarray(embeddings, np.float64)
    lab = np.asarray(labelled_mask, bool)
    if len(lab) != len(x):
        raise InputError(f"typiclust: {len(x)} embedding rows but {len(lab)} in labelled_mask")
    pool = np.flatnonzero(~lab)
    n = int(min(n, len(pool)))
    if n == 0:
        return np.zeros(0, int)
    k = int(min(len(x), lab.sum() + n))
    km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x)
    c = km.labels_
    size = np.bincount(c, minlength=k)
    n_lab = np.bincount(c[lab], minlength=k)
    typ = np.empty(len(x))  # within its own cluster: fixed while picking
    for j in np.unique(c):
        members = np.flatnonzero(c == j)
        typ[members] = typicality(x[members], k_neighbours)
    taken = lab.copy()
    picks: list[int] = []
    for _ in range(n):
        # uncovered clusters first, then larger ones; clusters without unlabelled items skip
        free_in = np.bincount(c[~taken], minlength=k) > 0
        order = [j for j in np.lexsort((-size, n_lab)) if free_in[j]]
        if not order:
            break
        free = np.flatnonzero((c == order[0]) & ~taken)
        i = int(free[np.argmax(typ[free])])
        picks.append(i)
        taken[i] = True
        n_lab[order[0]] += 1
    return np.asarray(picks, int)


def cluster_margin_order(probs, embeddings, labelled_mask, n: int, *,
                         candidates: int = 4, n_clusters: int | None = None) -> np.ndarray:
    """Cluster-Margin (Citovsky et al. 2021): average-linkage agglomerative clusters of the
    embeddings (``n_clusters``, default a fifth of the items); the ``candidates * n``
    unlabelled items of lowest margin are grouped by cluster and taken round-robin, the
    clusters with fewest candidates first, lowest margin first inside each."""
    p = _probs(probs, "cluster_margin")
    if embeddings is None:
        raise InputError("strategy 'cluster_margin' needs embeddings (embeddings=)")
    from sklearn.cluster import AgglomerativeClustering

    x = np.asarray(embeddings, np.float64)
    lab = np.asarray(labelled_mask, bool)
    if not len(x) == len(p) == len(lab):
        raise InputError(f"cluster_margin: {len(x)} embedding rows, {len(p)} probability rows, "
                         f"{len(lab)} in labelled_mask")
    pool = np.flatnonzero(~lab)
    n = int(min(n, len(pool)))
    if n == 0:
        return np.zeros(0, int)
    if candidates < 1:
        raise InputError(f"cluster_margin: candidates must be >= 1, not {candidates}")
    nc = int(min(len(x), n_clusters or max(2, len(x) // 5)))
    c = AgglomerativeClustering(n_clusters=nc, linkage="average").fit(x).labels_
    m = margin(p)[pool]
    cand = pool[np.argsort(-m, kind="stable")[: min(len(pool), candidates * n)]]
    groups: dict[int, list[int]] = {}
    for i in cand:  # already in margin order
        groups.setdefault(int(c[i]), []).append(int(i))
    queues = sorted(groups.values(), key=lambda g: (len(g), g[0]))
    picks: list[int] = []
    while len(picks) < n and any(queues):
        for q in queues:
            if q and len(picks) < n:
                picks.append(q.pop(0))
    return np.asarray(picks, int)


# name -> function(**inputs) -> scores (n,) or an explicit order
def _score_fn(fn, key):
    return lambda **kw: fn(kw[key])


STRATEGIES: dict[str, Callable] = {
    "least_confidence": _score_fn(least_confidence, "probs"),
    "margin": _score_fn(margin, "probs"),
    "entropy": _score_fn(entropy, "probs"),
    "bald": _score_fn(bald, "mc_probs"),
    "anomaly_first": _score_fn(anomaly_first, "anomaly"),
}
_ORDER_STRATEGIES = {"random", "coreset", "cluster_balanced", "badge", "typiclust",
                     "cluster_margin"}


def register(name: str, fn: Callable) -> None:
    """Add a strategy: ``fn(probs=, mc_probs=, embeddings=, clusters=, anomaly=) -> scores``."""
    STRATEGIES[name] = fn


def available() -> list[str]:
    """Names of all strategies."""
    return sorted(set(STRATEGIES) | _ORDER_STRATEGIES)


def acquire(name: str, n: int, *, probs=None, mc_probs=None, embeddings=None, clusters=None,
            anomaly=None, labelled_mask=None, random_fraction: float = 0.1,
            seed: int = 0, hidden=None) -> tuple[np.ndarray, np.ndarray]:
    """Choose ``n`` unlabelled items to label next.

    Parameters
    ----------
    name : str
        A strategy (see the module docstring and :func:`available`).
    n : int
        Batch size to pick (fewer if fewer are unlabelled).
    probs : array (n_items, n_classes), optional
    mc_probs : array (n_samples, n_items, n_classes), optional
    embeddings : array (n_items, d), optional
    clusters : array (n_items,) of cluster ids, optional
    anomaly : array (n_items,) of outlier scores, optional
    labelled_mask : bool array (n_items,)
        Items already labelled (never picked). Default: none labelled.
    hidden : array (n_items, h), optional
        The model's last hidden features (BADGE's gradient embeddings; default
        ``embeddings``).
    random_fraction : float in [0, 1]
        Share of the batch drawn uniformly at random from the rest of the pool.
    seed : int

    Returns
    -------
    indices : int array (<= n,)
        Picks in priority order (strategy picks first, then the random ones).
    scores : float array (n_items,)
        The strategy's score of every item (NaN for labelled items); for order-based
        strategies (coreset, cluster_balanced, badge, typiclust, cluster_margin, random) a
        rank score, higher = sooner.
    """
    sizes = [len(a) if a is not None and np.ndim(a) >= 1 else None
             for a in (probs, embeddings, clusters, anomaly)]
    if mc_probs is not None:
        sizes.append(np.shape(mc_probs)[1])
    sizes = [s for s in sizes if s is not None]
    if labelled_mask is not None:
        sizes.append(len(labelled_mask))
    if not sizes:
        raise InputError("acquire needs at least one of probs, mc_probs, embeddings, "
                         "clusters, anomaly or labelled_mask")
    if len(set(sizes)) > 1:
        raise InputError(f"inputs disagree on the number of items: {sorted(set(sizes))}")
    n_items = sizes[0]
    lab = np.zeros(n_items, bool) if labelled_mask is None else np.asarray(labelled_mask, bool)
    if not 0 <= random_fraction <= 1:
        raise InputError(f"random_fraction must be in [0, 1], not {random_fraction}")
    pool = np.flatnonzero(~lab)
    n = int(min(n, len(pool)))
    rng = np.random.default_rng(seed)
    n_rand = int(round(n * random_fraction)) if name != "random" else n
    n_main = n - n_rand

    scores = np.full(n_items, np.nan)
    if name == "random":
        scores[pool] = rng.random(len(pool))
        order = pool[np.argsort(-scores[pool], kind="stable")]
    elif name == "coreset":
        order, _ = coreset_order(embeddings, lab, n_main)
        rank = np.linspace(1.0, 0.5, max(1, len(order)))[: len(order)]
        scores[pool] = 0.0
        scores[order] = rank
    elif name == "cluster_balanced":
        within = None
        if probs is not None:
            within = entropy(probs)
        order = cluster_balanced_order(clusters, lab, n_main, within=within, seed=seed)
        scores[pool] = 0.0
        scores[order] = np.linspace(1.0, 0.5, max(1, len(order)))[: len(order)]
    elif name == "badge":
        order = badge_order(probs, embeddings if hidden is None else hidden, lab, n_main,
                            seed=seed)
        scores[pool] = 0.0
        scores[order] = np.linspace(1.0, 0.5, max(1, len(order)))[: len(order)]
    elif name in ("typiclust", "cluster_margin"):
        order = (typiclust_order(embeddings, lab, n_main, seed=seed) if name == "typiclust"
                 else cluster_margin_order(probs, embeddings, lab, n_main))
        scores[pool] = 0.0
        scores[order] = np.linspace(1.0, 0.5, max(1, len(order)))[: len(order)]
    elif name in STRATEGIES:
        s = np.asarray(STRATEGIES[name](probs=probs, mc_probs=mc_probs, embeddings=embeddings,
                                        clusters=clusters, anomaly=anomaly), float)
        scores[pool] = s[pool]
        # ties broken at random so equal scores do not favour catalog order
        jitter = rng.random(len(pool)) * 1e-12
        order = pool[np.lexsort((jitter, -s[pool]))]
    else:
        raise InputError(f"unknown acquisition strategy {name!r}", hint=f"choose one of {available()}")

    picks = list(order[:n_main])
    if n_rand and name != "random":
        rest = np.setdiff1d(pool, picks)
        picks += list(rng.choice(rest, size=min(n_rand, len(rest)), replace=False))
    elif name == "random":
        picks = list(order[:n])
    return np.asarray(picks, dtype=int), scores
