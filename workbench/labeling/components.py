"""Component label maps of radio items, and which component a click lands on.

The component ids of an ``rgz`` answer are those of the Collection's stored maps
(``workbench components COLLECTION``, :mod:`workbench.io.components`), so they mean the same
thing to every annotator and to consensus. A Collection without stored maps gets them
computed and stored on first use when it is writable; a read-only one (or a view) gets the
same maps computed per item, in memory.
"""

from __future__ import annotations

import numpy as np

from workbench.labeling import render

__all__ = ["ComponentMaps", "pick_component"]


class ComponentMaps:
    """Integer label maps ``(ny, nx)`` (0 = background) of the items of one Collection."""

    def __init__(self, coll):
        self.coll = coll
        self._stored = None  # the derived array, {} when there is none (per-item maps)
        self._pos_of = None

    def _load(self) -> None:
        arr = _derived(self.coll)
        if arr is None:
            try:
                from workbench.io.components import compute_components

                compute_components(self.coll)
                arr = _derived(self.coll)
            except Exception:  # noqa: BLE001 - read-only view: the same maps, per item
                arr = None
        self._stored = arr if arr is not None else {}
        self._pos_of = {i: k for k, i in enumerate(self.coll.ids)}

    def get(self, item) -> np.ndarray:
        """The label map of ``item`` (an :class:`~workbench.io.collection_types.Item`)."""
        if self._stored is None:
            self._load()
        if isinstance(self._stored, dict):
            if item.id not in self._stored:
                from workbench.imaging.islands import find_components
                from workbench.labeling.panels import find_radio

                self._stored[item.id] = find_components(find_radio(item)[1])[0]
            return self._stored[item.id]
        a = self._stored[self._pos_of[item.id]]
        a = a[0] if a.ndim == 3 else a
        return np.nan_to_num(a, nan=0).astype(np.int32)


def _derived(coll):
    try:
        return coll.derived_array("components")
    except KeyError:
        return None


def pick_component(labels: np.ndarray, x: float, y: float, *, radius: float = 3.0) -> int:
    """The component under display pixel ``(x, y)``, else the nearest within ``radius``
    pixels; 0 when there is none."""
    row, col = render.display_to_array(x, y, labels.shape)
    cid = int(labels[row, col])
    if cid == 0:
        yy, xx = np.nonzero(labels)
        if len(yy):
            d = (yy - row) ** 2 + (xx - col) ** 2
            k = int(np.argmin(d))
            if d[k] <= radius * radius:
                cid = int(labels[yy[k], xx[k]])
    return cid
