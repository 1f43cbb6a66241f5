"""Evidence from oracle simulations: labels saved, with bootstrap intervals over seeds.

Every strategy of a simulation is run on the same splits and from the same random start as
the baseline (random sampling) for each seed, so the seeds pair up: the bootstrap here
resamples *seeds* (the same resample for the strategy and the baseline) and recomputes the
statistic on the resampled seed-mean curves. Percentile intervals.

Statistics
----------
labels needed   the first point of a strategy's seed-mean curve at or above the
                baseline's final seed-mean accuracy (the target); ``saving`` is
                ``1 - labels / baseline labels``. A strategy that never reaches the target is
                counted, inside the bootstrap, as needing one step past its last point (a
                conservative stand-in: its true need is at least that).
tail target     the same, with the mean of the baseline's last ``tail`` seed-mean points
                as the target (default 3: 218-250 labels in rounds of 16 of 250) instead
                of its last point alone: a second, less noisy reading (``saving_tail``,
                ``saving_tail_ci``), reported beside the first, never instead of it.
area            the area between the seed-mean curves (strategy minus baseline) divided by
                the span of labels: the mean accuracy gained over the whole curve, which
                does not hinge on one noisy end point.
rare            labels spent until the first ``k`` items of a rare class are labelled, per
                seed; ``factor`` = baseline mean / strategy mean (5 = five times fewer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from workbench.core.errors import InputError

__all__ = ["curve_matrix", "first_reach", "saving_table", "labels_until", "rare_table",
           "bootstrap_indices", "percentile_ci"]


def bootstrap_indices(n_seeds: int, n_boot: int = 2000, *, seed: int = 0) -> np.ndarray:
    """``(n_boot, n_seeds)`` seed indices drawn with replacement (row 0 is not special)."""
    if n_seeds < 1:
        raise InputError("a bootstrap needs at least one seed")
    return np.random.default_rng(seed).integers(0, n_seeds, size=(int(n_boot), n_seeds))


def percentile_ci(values, level: float = 0.95) -> list[float] | None:
    """Percentile interval ``[lo, hi]`` of finite ``values`` (None if there are none)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return None
    a = (1 - level) / 2
    return [round(float(np.quantile(v, a)), 4), round(float(np.quantile(v, 1 - a)), 4)]


def curve_matrix(per_seed: Mapping, seeds: Sequence | None = None,
                 key: str = "accuracy") -> tuple[np.ndarray, np.ndarray]:
    """``(grid, A)``: the labels grid and a ``(n_seeds, len(grid))`` matrix of ``key``.

    Seeds whose grids differ (e.g. extra random labels to get two classes) are linearly
    interpolated onto the grid of the shortest curve."""
    seeds = list(per_seed) if seeds is None else [str(s) for s in seeds]
    if not seeds:
        raise InputError("no curves to compare")
    curves = [per_seed[s] for s in seeds]
    ref = min(curves, key=lambda c: len(c["n_labels"]))
    grid = np.asarray(ref["n_labels"], float)
    rows = []
    for c in curves:
        n = np.asarray(c["n_labels"], float)
        a = np.asarray(c[key], float)
        rows.append(a[:len(grid)] if len(n) >= len(grid) and np.array_equal(n[:len(grid)], grid)
                    else np.interp(grid, n, a))
    return grid, np.vstack(rows)


def first_reach(grid, acc, target: float) -> float | None:
    """The first ``grid`` value where ``acc >= target`` (None if never)."""
    hit = np.flatnonzero(np.asarray(acc, float) >= target - 1e-9)
    return float(np.asarray(grid)[hit[0]]) if len(hit) else None


def _area(grid, diff) -> float:
    span = grid[-1] - grid[0]
    if span <= 0:
        return float(diff.mean())
    return float(np.sum((diff[1:] + diff[:-1]) / 2 * np.diff(grid)) / span)


def saving_table(curves: Mapping, *, baseline: str = "random", n_boot: int = 2000,
                 level: float = 0.95, seed: int = 0, key: str = "accuracy",
                 tail: int = 3) -> dict:
    """Labels needed, saving and area between curves per strategy, with bootstrap CIs.

    Parameters
    ----------
    curves : {strategy: {seed: {"n_labels": [...], key: [...]}}}
        As :func:`workbench.active.oracle.simulate_strategies` returns them; every
        strategy must have the baseline's seeds.
    baseline : str
    n_boot, level, seed
        Bootstrap resamples (of seeds), interval level, and the resampling seed.
    tail : int
        Baseline points averaged for the second target (``labels_tail``, ``saving_tail``,
        ``saving_tail_ci``; ``target_tail``).

    Returns
    -------
    dict with ``target_accuracy``, ``baseline``, ``n_seeds``, ``n_boot``, ``level`` and
    ``table`` {strategy: {"labels", "saving", "saving_ci", "labels_ci", "reached",
    "area", "area_ci", "final_accuracy", "labels_tail", "saving_tail", "saving_tail_ci"}};
    ``reached`` is the share of resamples in which the strategy reached the target.
    """
    if tail < 1:
        raise InputError(f"tail must be at least 1, not {tail}")
    if baseline not in curves:
        raise InputError(f"no baseline strategy {baseline!r} in the simulation",
                         hint=f"strategies: {sorted(curves)}")
    seeds = list(curves[baseline])
    grid, base = curve_matrix(curves[baseline], seeds, key)
    mats = {}
    for s, per in curves.items():
        missing = [k for k in seeds if k not in per]
        if missing:
            raise InputError(f"strategy {s!r} lacks seeds {missing} that {baseline!r} has")
        g, m = curve_matrix(per, seeds, key)
        if len(g) != len(grid) or not np.allclose(g, grid):
            m = np.vstack([np.interp(grid, g, row) for row in m])
        mats[s] = m
    step = float(grid[-1] - grid[-2]) if len(grid) > 1 else 1.0
    censor = float(grid[-1] + step)
    boot = bootstrap_indices(len(seeds), n_boot, seed=seed)

    def stats(idx):
        b = base[idx].mean(0)
        target, target_t = b[-1], b[-tail:].mean()
        nb, nb_t = first_reach(grid, b, target), first_reach(grid, b, target_t)
        out = {}
        for s, m in mats.items():
            a = m[idx].mean(0)
            n, n_t = first_reach(grid, a, target), first_reach(grid, a, target_t)
            out[s] = (n, 1 - (censor if n is None else n) / nb, _area(grid, a - b),
                      n_t, 1 - (censor if n_t is None else n_t) / nb_t)
        return (target, target_t), (nb, nb_t), out

    (target, target_t), (nb, nb_t), point = stats(np.arange(len(seeds)))
    samples = [stats(i)[2] for i in boot]
    table = {}
    for s, (n, sav, area, n_t, sav_t) in point.items():
        ns = np.array([np.nan if r[s][0] is None else r[s][0] for r in samples])
        table[s] = {
            "labels": None if n is None else int(n),
            "saving": None if n is None else round(float(sav), 3),
            "saving_ci": percentile_ci([r[s][1] for r in samples], level),
            "labels_ci": percentile_ci(np.where(np.isnan(ns), censor, ns), level),
            "reached": round(float(np.isfinite(ns).mean()), 3),
            "area": round(area, 4),
            "area_ci": percentile_ci([r[s][2] for r in samples], level),
            "final_accuracy": round(float(mats[s][:, -1].mean()), 4),
            "labels_tail": None if n_t is None else int(n_t),
            "saving_tail": None if n_t is None else round(float(sav_t), 3),
            "saving_tail_ci": percentile_ci([r[s][4] for r in samples], level),
        }
    return {"target_accuracy": round(float(target), 4), "baseline": baseline,
            "baseline_labels": None if nb is None else int(nb), "n_seeds": len(seeds),
            "tail": int(tail), "target_tail": round(float(target_t), 4),
            "baseline_labels_tail": None if nb_t is None else int(nb_t),
            "n_boot": int(n_boot), "level": level, "censored_at": censor, "table": table}


def labels_until(sequence, rare, k: int = 10) -> int | None:
    """Labels spent (1-based position in the labelling ``sequence`` of classes) when the
    ``k``-th item of class ``rare`` is labelled; None if fewer than ``k`` are in it."""
    if k < 1:
        raise InputError(f"k must be at least 1, not {k}")
    hits = np.flatnonzero(np.asarray([str(v) for v in sequence], dtype=object) == str(rare))
    return int(hits[k - 1]) + 1 if len(hits) >= k else None


def rare_table(labels_spent: Mapping, *, baseline: str = "random", n_boot: int = 2000,
               level: float = 0.95, seed: int = 0, censor: int | None = None) -> dict:
    """Summary of labels spent until the ``k``-th rare item, per strategy.

    ``labels_spent``: {strategy: {seed: int or None}} (None: not found within the run;
    counted as ``censor``, default the largest finite value seen + 1, inside the means).
    ``factor`` = baseline mean / strategy mean with a paired bootstrap interval over seeds.
    """
    if baseline not in labels_spent:
        raise InputError(f"no baseline strategy {baseline!r}", hint=f"{sorted(labels_spent)}")
    seeds = list(labels_spent[baseline])
    finite = [v for per in labels_spent.values() for v in per.values() if v is not None]
    cens = censor if censor is not None else (max(finite) + 1 if finite else 1)
    mat = {s: np.array([cens if per[k] is None else per[k] for k in seeds], float)
           for s, per in labels_spent.items()}
    boot = bootstrap_indices(len(seeds), n_boot, seed=seed)
    b = mat[baseline]
    table = {}
    for s, v in mat.items():
        fac = [b[i].mean() / max(v[i].mean(), 1e-12) for i in boot]
        table[s] = {"labels_mean": round(float(v.mean()), 1),
                    "labels_median": float(np.median(v)),
                    "per_seed": [labels_spent[s][k] for k in seeds],
                    "not_found": int(sum(labels_spent[s][k] is None for k in seeds)),
                    "factor": round(float(b.mean() / max(v.mean(), 1e-12)), 2),
                    "factor_ci": percentile_ci(fac, level)}
    return {"baseline": baseline, "n_seeds": len(seeds), "censored_at": cens, "table": table}
