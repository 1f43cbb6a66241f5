"""Helpers shared by the widgets: ESM assembly and item loading."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["esm", "load_item"]

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
