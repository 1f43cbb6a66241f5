"""Strategy advisor: which acquisition strategy is ahead on *your* labels so far?

:func:`advise` runs the oracle simulation (:func:`workbench.active.oracle.
simulate_strategies`) on the items the user has already labelled, their labels playing the
annotator, and :func:`advice_from_result` turns its bootstrap intervals into one sentence.
A strategy is called ahead only when the 95% interval of its label saving over random lies
entirely above 0; otherwise the advice says that no strategy is clearly ahead (and names
the best point estimate with its interval, so the user sees why).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.core.errors import InputError

__all__ = ["advise", "advice_from_result", "DEFAULT_STRATEGIES"]

DEFAULT_STRATEGIES = ("random", "margin", "badge", "cluster_balanced")


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def advice_from_result(result: dict, *, baseline: str = "random") -> dict:
    """The advice a simulation supports.

    Parameters
    ----------
    result : dict
        :func:`~workbench.active.oracle.simulate_strategies` output (or anything with a
        ``labels_needed`` section from :func:`~workbench.active.evidence.saving_table`).

    Returns
    -------
    dict with ``ahead`` (strategy name or None), ``saving`` and ``saving_ci`` (of the
    strategy named, the clear winner or else the best point estimate), ``best`` (that
    strategy), ``n_seeds``, ``level`` and ``message`` (one sentence).
    """
    ln = result.get("labels_needed") or {}
    table = {s: r for s, r in (ln.get("table") or {}).items() if s != baseline}
    level = ln.get("level", 0.95)
    st = result.get("settings") or {}
    n_lab = (st["n_pool"] + st.get("n_test", 0)) if "n_pool" in st else None
    where = f" on your {n_lab} labelled items" if n_lab else ""
    out = {"ahead": None, "best": None, "saving": None, "saving_ci": None,
           "n_seeds": ln.get("n_seeds"), "level": level, "baseline": baseline}
    rows = [(s, r) for s, r in table.items() if r.get("saving_ci") is not None]
    if not rows:
        out["message"] = f"not enough simulation results to compare strategies{where}"
        return out
    clear = [(s, r) for s, r in rows if r["saving_ci"][0] > 0 and r.get("saving") is not None]

    def key(item):
        s, r = item
        sav = r.get("saving")
        return (sav if sav is not None else -np.inf, r["saving_ci"][0])

    pick = max(clear or rows, key=key)
    s, r = pick
    lo, hi = r["saving_ci"]
    out.update(best=s, saving=r.get("saving"), saving_ci=[lo, hi])
    ci = f"{level:.0%} interval {_pct(lo)} to {_pct(hi)}"
    if clear:
        out["ahead"] = s
        out["message"] = (f"{s} is ahead of {baseline}{where}: it needed {_pct(r['saving'])} "
                          f"fewer labels to reach {baseline}'s final accuracy ({ci}, "
                          f"{ln.get('n_seeds')} simulated runs)")
    else:
        sav = "never reached the target" if r.get("saving") is None else \
            f"saved {_pct(r['saving'])}"
        out["message"] = (f"no strategy is clearly ahead of {baseline}{where}: the best, {s}, "
                          f"{sav} but its {ci} includes 0")
    return out


def advise(features, labels, *, strategies: Sequence[str] = DEFAULT_STRATEGIES,
           seeds: int = 5, budget: int | None = None, initial: int | None = None,
           step: int | None = None, head: str = "logistic", n_boot: int = 1000) -> dict:
    """Simulate ``strategies`` on the labelled items (``features``, ``labels``) and advise.

    Parameters
    ----------
    features : array (n_labelled, d)
    labels : sequence of str
        The user's labels so far (the oracle of the simulation).
    strategies : names from :mod:`workbench.active.acquisition`; random is always added.
    seeds, budget, initial, step, head
        Simulation settings; by default the budget is the whole pool (70% of the items),
        ``initial`` a tenth of it (at least 4) and ``step`` a tenth (at least 2).

    Returns
    -------
    :func:`advice_from_result`'s dict, plus ``simulation`` (the full result).
    """
    from workbench.active.oracle import simulate_strategies

    lab = np.asarray([str(v) for v in labels], dtype=object)
    if len(lab) < 20:
        raise InputError(f"the advisor needs at least 20 labelled items, not {len(lab)}")
    if len(set(lab)) < 2:
        raise InputError("the advisor needs labels of at least two classes")
    strategies = list(dict.fromkeys(["random", *strategies]))
    pool = int(len(lab) * 0.7)
    budget = pool if budget is None else int(budget)
    initial = max(4, pool // 10) if initial is None else int(initial)
    step = max(2, (budget - initial) // 10) if step is None else int(step)
    res = simulate_strategies(features, lab, strategies=strategies, seeds=seeds,
                              budget=budget, initial=initial, step=step, head=head,
                              n_boot=n_boot)
    return {**advice_from_result(res), "simulation": res}
