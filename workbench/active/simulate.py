"""Oracle simulation: how many labels does each acquisition strategy need?

The ground truth of a simulated survey (or real labels such as MiraBest's) plays the
annotator. For each seed the items are split into a labelled pool and a fixed test set;
every strategy starts from the same random seed set and asks for ``step`` labels per round
until ``budget`` labels are used; after each round a small classifier (an MLP head with
dropout on the features) is retrained and its test accuracy recorded. The summary says how
many labels each strategy needed to reach the accuracy random sampling reaches with the
whole budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from workbench.core.errors import InputError

__all__ = ["simulate_strategies", "labels_needed", "features_for_simulation",
           "plot_learning_curves"]


def features_for_simulation(coll, *, source: str | None = None, n_components: int = 32,
                            seed: int = 0) -> tuple[np.ndarray, str]:
    """Features for the oracle runs: ``source`` as :func:`~workbench.learn.pool_features.
    resolve_source` reads it (default ``auto``: stored embeddings if any, else 16x16 pixels);
    pixels are reduced by PCA to ``n_components``. Returns ``(features (n, d), source)``."""
    from workbench.learn.pool_features import features_for, pca_reduce, resolve_source

    source = resolve_source(coll, source)
    x = features_for(coll, source=source)
    if source.startswith("pixels") and x.shape[1] > n_components:
        x = pca_reduce(x, n_components=n_components, seed=seed)
        source = f"{source}+pca{n_components}"
    return x, source


def _aux_inputs(x: np.ndarray, strategies: Sequence[str], seed: int) -> dict:
    """Clusters and anomaly scores from the estimators `workbench map` / `anomalies` use."""
    aux = {}
    if "cluster_balanced" in strategies:
        from workbench.embed.cluster import HDBSCANClusterer

        aux["clusters"] = HDBSCANClusterer(min_cluster_size=max(5, len(x) // 50),
                                           random_state=seed).fit(x).labels_
    if "anomaly_first" in strategies:
        from workbench.embed.anomaly import AnomalyScorer

        aux["anomaly"] = AnomalyScorer("knn", k=min(5, len(x) - 1),
                                       random_state=seed).fit(x).scores_
    return aux


def _train_and_score(x_tr, y_tr, x_eval, classes, *, seed, epochs, need_mc, mc_samples=10):
    from workbench.learn.classifiers import EmbeddingHead
    from workbench.learn.fit import fit
    from workbench.learn.infer import mc_dropout_proba, predict_proba

    head = EmbeddingHead(x_tr.shape[1], len(classes), hidden=(64,), dropout=0.3)
    r = fit(head, x_tr, y_tr, classes=classes, epochs=epochs, batch_size=len(x_tr), lr=1e-2,
            weight_decay=1e-3, seed=seed, device="cpu")
    probs = predict_proba(r.model, x_eval, device="cpu")
    mc = mc_dropout_proba(r.model, x_eval, samples=mc_samples, seed=seed) if need_mc else None
    return probs, mc


def simulate_strategies(features: np.ndarray, labels: Sequence, *,
                        strategies: Sequence[str] = ("random", "margin"), budget: int = 200,
                        seeds: int | Sequence[int] = 3, initial: int = 10,
                        step: int | None = None, test_fraction: float = 0.3,
                        random_fraction: float = 0.1, epochs: int = 150,
                        progress: Callable[[str], None] | None = None) -> dict:
    """Run the oracle simulation.

    Parameters
    ----------
    features : array (n_items, d)
        One feature vector per item (standardised inside).
    labels : sequence of str, length n_items
        The oracle's answers (ground truth).
    strategies : names from :mod:`workbench.active.acquisition`
    budget : int
        Labels to spend in total (capped at the pool size).
    seeds : int or list of int
        Number of repetitions (seeds 0..n-1) or the seeds themselves.
    initial : int
        Random labels every strategy starts from.
    step : int, optional
        Labels per round (default ``max(5, budget // 15)``).
    test_fraction : float
        Share of items held out (stratified) to measure accuracy.

    Returns
    -------
    dict with ``curves`` {strategy: {seed: {"n_labels": [...], "accuracy": [...],
    "balanced_accuracy": [...]}}}, ``mean`` {strategy: {"n_labels", "accuracy"}},
    ``labels_needed`` (see :func:`labels_needed`), ``settings`` and ``seconds``.
    """
    import torch

    t0 = time.perf_counter()
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only add contention
    try:
        return _simulate(features, labels, strategies=strategies, budget=budget, seeds=seeds,
                         initial=initial, step=step, test_fraction=test_fraction,
                         random_fraction=random_fraction, epochs=epochs, progress=progress,
                         t0=t0)
    finally:
        torch.set_num_threads(n_threads)


def _simulate(features, labels, *, strategies, budget, seeds, initial, step, test_fraction,
              random_fraction, epochs, progress, t0):
    from sklearn.model_selection import train_test_split

    from workbench.active.acquisition import acquire, available
    from workbench.learn._prep import standardise_features

    x = np.asarray(features, np.float32)
    lab = np.asarray([str(v) for v in labels], dtype=object)
    if len(x) != len(lab):
        raise InputError(f"{len(x)} feature rows but {len(lab)} labels")
    classes = sorted(set(lab))
    if len(classes) < 2:
        raise InputError(f"the oracle labels have only one class {classes}")
    unknown = [s for s in strategies if s not in available()]
    if unknown:
        raise InputError(f"unknown strategies {unknown}", hint=f"choose from {available()}")
    y_all = np.array([classes.index(v) for v in lab])
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    aux = _aux_inputs(x, strategies, 0)
    curves: dict = {s: {} for s in strategies}
    settings = {}
    for seed in seed_list:
        idx = np.arange(len(x))
        counts = np.bincount(y_all)
        strat = y_all if counts.min() >= 2 else None
        pool_idx, test_idx = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                              stratify=strat)
        bud = int(min(budget, len(pool_idx)))
        stp = int(step or max(5, bud // 15))
        settings = {"budget": bud, "step": stp, "initial": initial, "n_pool": len(pool_idx),
                    "n_test": len(test_idx), "classes": classes, "epochs": epochs,
                    "random_fraction": random_fraction}
        rng = np.random.default_rng(1000 + seed)
        start = rng.choice(len(pool_idx), size=min(initial, bud), replace=False)
        xp_raw, yp = x[pool_idx], y_all[pool_idx]
        for strategy in strategies:
            labelled = np.zeros(len(pool_idx), bool)
            labelled[start] = True
            n_l, acc, bacc = [], [], []
            rnd = 0
            while True:
                if len(np.unique(yp[labelled])) < 2:
                    # cannot train yet: add random labels until two classes are present
                    more = rng.choice(np.flatnonzero(~labelled), size=min(stp, (~labelled).sum()),
                                      replace=False)
                    labelled[more] = True
                    continue
                xs, mu, sd = standardise_features(xp_raw[labelled])
                xe = np.concatenate([xp_raw, x[test_idx]])
                xe, _, _ = standardise_features(xe, mean=mu, std=sd)
                probs, mc = _train_and_score(xs, yp[labelled], xe, classes, seed=seed + rnd,
                                             epochs=epochs, need_mc=strategy == "bald")
                pt = probs[len(pool_idx):]
                pred = pt.argmax(1)
                yt = y_all[test_idx]
                n_l.append(int(labelled.sum()))
                acc.append(float((pred == yt).mean()))
                rec = [float((pred[yt == c] == c).mean()) for c in np.unique(yt)]
                bacc.append(float(np.mean(rec)))
                if labelled.sum() >= bud:
                    break
                n = int(min(stp, bud - labelled.sum()))
                picks, _ = acquire(
                    strategy, n, probs=probs[:len(pool_idx)],
                    mc_probs=None if mc is None else mc[:, :len(pool_idx)],
                    embeddings=xp_raw,
                    clusters=None if "clusters" not in aux else aux["clusters"][pool_idx],
                    anomaly=None if "anomaly" not in aux else aux["anomaly"][pool_idx],
                    labelled_mask=labelled, random_fraction=random_fraction,
                    seed=seed * 1000 + rnd)
                labelled[picks] = True
                rnd += 1
            curves[strategy][str(seed)] = {"n_labels": n_l, "accuracy": acc,
                                           "balanced_accuracy": bacc}
            if progress is not None:
                progress(f"seed {seed} {strategy}: {n_l[-1]} labels, accuracy {acc[-1]:.3f}")
    mean = {}
    for s, per in curves.items():
        length = min(len(v["n_labels"]) for v in per.values())
        mean[s] = {"n_labels": list(per[str(seed_list[0])]["n_labels"][:length]),
                   "accuracy": np.mean([v["accuracy"][:length] for v in per.values()],
                                       axis=0).round(4).tolist(),
                   "accuracy_std": np.std([v["accuracy"][:length] for v in per.values()],
                                          axis=0).round(4).tolist()}
    out = {"settings": {**settings, "seeds": seed_list, "strategies": list(strategies)},
           "curves": curves, "mean": mean}
    out["labels_needed"] = labels_needed(out)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def labels_needed(result: dict, *, baseline: str = "random") -> dict:
    """Labels each strategy needs (seed-averaged curve) to reach ``baseline``'s final
    accuracy. Returns {"target_accuracy", "table": {strategy: {"labels", "saving"}}}, with
    ``labels`` None where a strategy never reaches the target and ``saving`` the fraction
    of the baseline's labels saved."""
    mean = result["mean"]
    if baseline not in mean:
        return {"target_accuracy": None, "baseline": baseline, "table": {}}
    target = mean[baseline]["accuracy"][-1]
    base_n = None
    table = {}
    for s, m in mean.items():
        hit = [n for n, a in zip(m["n_labels"], m["accuracy"]) if a >= target - 1e-9]
        table[s] = {"labels": int(hit[0]) if hit else None,
                    "final_accuracy": m["accuracy"][-1]}
        if s == baseline:
            base_n = table[s]["labels"]
    for s in table:
        n = table[s]["labels"]
        table[s]["saving"] = None if (n is None or not base_n) else round(1 - n / base_n, 3)
    return {"target_accuracy": target, "baseline": baseline, "table": table}


def plot_learning_curves(result: dict, path, *, title: str = "") -> None:
    """Save a PNG of the mean learning curves (shaded +- 1 std over seeds)."""
    from matplotlib.figure import Figure  # no pyplot: a live kernel's backend stays as it is

    from workbench.io._atomic import replacing

    fig = Figure(figsize=(6, 4), dpi=110)
    ax = fig.subplots()
    for s, m in result["mean"].items():
        n = np.asarray(m["n_labels"])
        a = np.asarray(m["accuracy"])
        sd = np.asarray(m.get("accuracy_std", np.zeros_like(a)))
        ax.plot(n, a, label=s, lw=2 if s != "random" else 2.5,
                color="k" if s == "random" else None)
        ax.fill_between(n, a - sd, a + sd, alpha=0.15, color="k" if s == "random" else None)
    tgt = result.get("labels_needed", {}).get("target_accuracy")
    if tgt is not None:
        ax.axhline(tgt, ls=":", color="grey", lw=1)
    ax.set_xlabel("labels used")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or "active learning vs random")
    ax.legend()
    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".").lower() or "png")
