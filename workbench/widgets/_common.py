"""Helpers shared by the widgets: ESM assembly, item loading, labels from the store."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["esm", "load_item", "majority_labels"]

_HERE = Path(__file__).parent


@cache
def esm(name: str) -> str:
    """The ESM of one widget: the shared drawing code (``_draw.js``) followed by the
    widget's own ``name`` file (both beside this module; no build step)."""
    return (_HERE / "_draw.js").read_text() + "\n" + (_HERE / name).read_text()


def load_item(coll, key):
    """``coll[key]`` with the product channel names attached as ``item._channels``."""
    item = coll[key]
    item._channels = {p: tuple(s.channels) for p, s in coll.products.items()}
    return item


def majority_labels(store, ids) -> dict:
    """Per item of ``ids`` with live annotations: ``(label, n_annotations)``.

    The label is the most common answer to each annotation's class question (for a scheme
    without one, its first scalar answer; ties go to the alphabetically first), or None
    where no annotation has such an answer.
    """
    from workbench.core.schemes import get_scheme

    df = store.annotations()
    wanted = {str(i) for i in ids}
    questions: dict = {}
    votes: dict = {}
    for iid, ans, sch in zip(df["item_id"].astype(str), df["answers"], df["scheme"]):
        if iid not in wanted:
            continue
        if sch not in questions:
            try:
                questions[sch] = get_scheme(sch).class_question
            except Exception:  # noqa: BLE001 - a scheme this installation does not know
                questions[sch] = None
        cq, ans = questions[sch], ans or {}
        v = ans.get(cq) if cq else next(iter(ans.values()), None)
        bucket = votes.setdefault(iid, [])
        bucket.append(str(v) if v is not None and not isinstance(v, (list, dict)) else None)
    out = {}
    for iid, vals in votes.items():
        named = [v for v in vals if v is not None]
        out[iid] = (max(sorted(set(named)), key=named.count) if named else None, len(vals))
    return out
