"""Oracle simulation of active learning: how many labels does each acquisition strategy need?

(Named for the oracle, the known labels that answer the queries; the survey simulators are
in :mod:`workbench.sims`.)

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

__all__ = ["simulate_strategies", "labels_needed", "features_for_simulation", "aux_inputs",
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


def aux_inputs(x: np.ndarray, strategies: Sequence[str], seed: int) -> dict:
    """What the ``strategies`` need besides the model, for features ``x`` (n, d):
    ``{"clusters": labels (n,)}`` for cluster-balanced and cold-start strategies and
    ``{"anomaly": scores (n,)}`` for ``anomaly_first``, from the estimators `workbench map`
    / `anomalies` use (HDBSCAN, kNN anomaly score)."""
    aux = {}
    if any(s.startswith("cluster_balanced") or s.endswith("+cold") for s in strategies):
        from workbench.embed.cluster import HDBSCANClusterer

        aux["clusters"] = HDBSCANClusterer(min_cluster_size=max(5, len(x) // 50),
                                           random_state=seed).fit(x).labels_
    if "anomaly_first" in strategies:
        from workbench.embed.anomaly import AnomalyScorer

        aux["anomaly"] = AnomalyScorer("knn", k=min(5, len(x) - 1),
                                       random_state=seed).fit(x).scores_
    return aux


def _split_name(strategy: str) -> tuple[str, str, int | None]:
    """``"margin+cold"`` -> ``("margin", "cold", None)``: a cluster-balanced cold start (the
    first labels drawn round-robin from HDBSCAN clusters instead of at random);
    ``"margin+typical"`` -> ``("margin", "typical", None)``: a TypiClust start;
    ``"margin+typical48"`` -> ``("margin", "typical", 48)``: TypiClust picks until 48
    labels are used, then margin; no suffix -> ``(name, "random", None)``."""
    base, plus, tag = strategy.partition("+")
    if not plus:
        return base, "random", None
    if tag == "cold":
        return base, "cold", None
    if tag.startswith("typical") and (tag == "typical" or tag[7:].isdigit()):
        return base, "typical", int(tag[7:]) if tag[7:] else None
    raise InputError(f"unknown strategy modifier {strategy!r}",
                     hint="'+cold', '+typical' or '+typicalN' (N labels by TypiClust)")


def simulate_strategies(features: np.ndarray, labels: Sequence, *,
                        strategies: Sequence[str] = ("random", "margin"), budget: int = 200,
                        seeds: int | Sequence[int] = 3, initial: int = 10,
                        step: int | None = None, test_fraction: float = 0.3,
                        random_fraction: float = 0.1, epochs: int = 150, head: str = "mlp",
                        n_boot: int = 2000,
                        progress: Callable[[str], None] | None = None) -> dict:
    """Run the oracle simulation.

    Parameters
    ----------
    features : array (n_items, d)
        One feature vector per item (standardised inside).
    labels : sequence of str, length n_items
        The oracle's answers (ground truth).
    strategies : names from :mod:`workbench.active.acquisition`
        A ``+cold`` suffix (``margin+cold``) replaces the random start of that strategy by
        a cluster-balanced one (round-robin over HDBSCAN clusters of the pool); ``+typical``
        by a TypiClust one (:func:`~workbench.active.acquisition.typiclust_order` on the
        pool's features), and ``+typicalN`` keeps picking by TypiClust until N labels are
        used, then switches to the strategy.
    budget : int
        Labels to spend in total (capped at the pool size).
    seeds : int or list of int
        Number of repetitions (seeds 0..n-1) or the seeds themselves.
    initial : int
        Random labels every strategy starts from (the same ones for every strategy).
    step : int, optional
        Labels per round (default ``max(5, budget // 15)``).
    test_fraction : float
        Share of items held out (stratified) to measure accuracy.
    head : {"mlp", "logistic", "ensemble"} or a head object with ``by_index = True``
        The classifier retrained every round (:mod:`workbench.active.heads`). A
        ``by_index`` head (:class:`workbench.learn.finetune.FinetuneHead`) is called with
        item indices (rows of ``features``) instead of standardised feature rows, and its
        ``name`` goes into the settings; ``features`` still serve the distance-based
        strategies (core-set, clusters).
    n_boot : int
        Bootstrap resamples (of seeds) for the intervals of :func:`labels_needed`.

    Returns
    -------
    dict with ``curves`` {strategy: {seed: {"n_labels": [...], "accuracy": [...],
    "balanced_accuracy": [...]}}}, ``mean`` {strategy: {"n_labels", "accuracy",
    "accuracy_std", "accuracy_ci"}}, ``labels_needed`` (see :func:`labels_needed`),
    ``settings`` and ``seconds``.
    """
    import torch

    t0 = time.perf_counter()
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only add contention
    try:
        return _simulate(features, labels, strategies=strategies, budget=budget, seeds=seeds,
                         initial=initial, step=step, test_fraction=test_fraction,
                         random_fraction=random_fraction, epochs=epochs, head=head,
                         n_boot=n_boot, progress=progress, t0=t0)
    finally:
        torch.set_num_threads(n_threads)


def _simulate(features, labels, *, strategies, budget, seeds, initial, step, test_fraction,
              random_fraction, epochs, head, n_boot, progress, t0):
    from sklearn.model_selection import train_test_split

    from workbench.active.acquisition import (
        acquire,
        available,
        cluster_balanced_order,
        typiclust_order,
    )
    from workbench.active.heads import HEADS, train_head
    from workbench.learn._prep import standardise_features

    x = np.asarray(features, np.float32)
    lab = np.asarray([str(v) for v in labels], dtype=object)
    if len(x) != len(lab):
        raise InputError(f"{len(x)} feature rows but {len(lab)} labels")
    classes = sorted(set(lab))
    if len(classes) < 2:
        raise InputError(f"the oracle labels have only one class {classes}")
    unknown = [s for s in strategies if _split_name(s)[0] not in available()]
    if unknown:
        raise InputError(f"unknown strategies {unknown}", hint=f"choose from {available()}")
    by_index = getattr(head, "by_index", False)
    if not by_index and head not in HEADS:
        raise InputError(f"unknown head {head!r}", hint=f"choose one of {sorted(HEADS)}")
    head_name = getattr(head, "name", head)
    if head == "logistic" and any(_split_name(s)[0] == "bald" for s in strategies):
        raise InputError("BALD needs posterior samples: use head 'mlp' (MC dropout) or "
                         "'ensemble', not 'logistic'")
    y_all = np.array([classes.index(v) for v in lab])
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    aux = aux_inputs(x, strategies, 0)
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
                    "random_fraction": random_fraction, "head": head_name}
        rng = np.random.default_rng(1000 + seed)
        start = rng.choice(len(pool_idx), size=min(initial, bud), replace=False)
        xp_raw, yp = x[pool_idx], y_all[pool_idx]
        xp_std = standardise_features(xp_raw)[0] if any(
            _split_name(s)[1] == "typical" for s in strategies) else None
        for strategy in strategies:
            base, start_kind, typical_until = _split_name(strategy)
            labelled = np.zeros(len(pool_idx), bool)
            if start_kind == "cold":
                labelled[cluster_balanced_order(aux["clusters"][pool_idx], labelled,
                                                min(initial, bud), seed=seed)] = True
            elif start_kind == "typical":
                labelled[typiclust_order(xp_std, labelled, min(initial, bud),
                                         seed=seed)] = True
            else:
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
                if by_index:  # the head reads its own per-item inputs (e.g. FinetuneHead)
                    probs, mc, hid = head(pool_idx[labelled], yp[labelled],
                                          np.concatenate([pool_idx, test_idx]), len(classes),
                                          seed + rnd, base == "bald")
                elif head == "mlp":
                    probs, mc, hid = HEADS["mlp"](xs, yp[labelled], xe, len(classes),
                                                 seed + rnd, base == "bald", epochs=epochs)
                else:
                    probs, mc, hid = train_head(head, xs, yp[labelled], xe, len(classes),
                                                seed=seed + rnd, need_samples=base == "bald")
                npool = len(pool_idx)
                pt = probs[npool:]
                pred = pt.argmax(1)
                yt = y_all[test_idx]
                n_l.append(int(labelled.sum()))
                acc.append(float((pred == yt).mean()))
                rec = [float((pred[yt == c] == c).mean()) for c in np.unique(yt)]
                bacc.append(float(np.mean(rec)))
                if labelled.sum() >= bud:
                    break
                n = int(min(stp, bud - labelled.sum()))
                use = base
                if typical_until is not None and labelled.sum() < typical_until:
                    use = "typiclust"
                    n = int(min(n, typical_until - labelled.sum()))
                picks, _ = acquire(
                    use, n, probs=probs[:npool],
                    mc_probs=None if mc is None else mc[:, :npool],
                    embeddings=xe[:npool], hidden=None if hid is None else hid[:npool],
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
    out = {"settings": {**settings, "seeds": seed_list, "strategies": list(strategies)},
           "curves": curves, "mean": _mean_curves(curves, n_boot)}
    out["labels_needed"] = labels_needed(out, n_boot=n_boot)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _mean_curves(curves: dict, n_boot: int) -> dict:
    from workbench.active.evidence import bootstrap_indices, curve_matrix

    mean = {}
    for s, per in curves.items():
        grid, m = curve_matrix(per)
        boot = m[bootstrap_indices(len(m), n_boot, seed=1)].mean(1)  # (n_boot, len(grid))
        mean[s] = {"n_labels": [int(v) for v in grid],
                   "accuracy": m.mean(0).round(4).tolist(),
                   "accuracy_std": m.std(0).round(4).tolist(),
                   "accuracy_ci": [np.quantile(boot, 0.025, axis=0).round(4).tolist(),
                                   np.quantile(boot, 0.975, axis=0).round(4).tolist()]}
    return mean


def labels_needed(result: dict, *, baseline: str = "random", n_boot: int = 2000) -> dict:
    """Labels each strategy needs (seed-averaged curve) to reach ``baseline``'s final
    accuracy, with bootstrap intervals over seeds.

    Returns {"target_accuracy", "baseline", "table": {strategy: {"labels", "saving",
    "final_accuracy", "saving_ci", "labels_ci", "reached", "area", "area_ci"}}, ...}:
    ``labels`` is None where a strategy never reaches the target, ``saving`` the fraction
    of the baseline's labels saved, ``saving_ci`` its 95% bootstrap interval and ``area``
    the mean accuracy gained over the whole curve (see :func:`workbench.active.evidence.
    saving_table`)."""
    from workbench.active.evidence import saving_table

    if baseline not in result.get("curves", {}):
        return {"target_accuracy": None, "baseline": baseline, "table": {}}
    return saving_table(result["curves"], baseline=baseline, n_boot=n_boot)


def plot_learning_curves(result: dict, path=None, *, title: str = ""):
    """The mean learning curves, shaded by their 95% bootstrap band over seeds (+- 1 std
    for older results); saved to ``path`` if given. Returns the matplotlib Figure."""
    from matplotlib.figure import Figure  # no pyplot: a live kernel's backend stays as it is

    from workbench.io._atomic import replacing

    fig = Figure(figsize=(6, 4), dpi=110)
    ax = fig.subplots()
    for s, m in result["mean"].items():
        n = np.asarray(m["n_labels"])
        a = np.asarray(m["accuracy"])
        if "accuracy_ci" in m:
            lo, hi = (np.asarray(v) for v in m["accuracy_ci"])
        else:
            sd = np.asarray(m.get("accuracy_std", np.zeros_like(a)))
            lo, hi = a - sd, a + sd
        line, = ax.plot(n, a, label=s, lw=2 if s != "random" else 2.5,
                        color="k" if s == "random" else None)
        ax.fill_between(n, lo, hi, alpha=0.15, color=line.get_color())
    tgt = result.get("labels_needed", {}).get("target_accuracy")
    if tgt is not None:
        ax.axhline(tgt, ls=":", color="grey", lw=1)
    ax.set_xlabel("labels used")
    ax.set_ylabel("test accuracy")
    ax.set_title(title or "active learning vs random")
    ax.legend()
    fig.tight_layout()
    if path is not None:
        with replacing(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip(".").lower() or "png")
    return fig
