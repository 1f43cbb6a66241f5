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
    """Per item of ``ids`` with live annotations: ``(label, n_annotations)``: the workbench's
    one majority rule (ties to the answer listed first in the scheme), see
    :func:`workbench.labeling.consensus.majority_labels`."""
    from workbench.labeling.consensus import majority_labels as rule

    return rule(store, ids)
