"""Component label maps of radio items, and which component a click lands on.

The component ids of an ``rgz`` answer are those of the Collection's stored maps
(``workbench components COLLECTION``, :mod:`workbench.io.components`), so they mean the same
thing to every annotator and to consensus. A Collection without stored maps gets them
computed and stored on first use when it is writable; a read-only one (or a view) gets the
same maps computed per item, in memory. Stored maps are read into memory at once when they
are small (:data:`WHOLE_BYTES`), else one item at a time. Loading (and computing) is
serialised by a lock, so server threads sharing a Collection do not compute its maps twice
at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from workbench.labeling import render

__all__ = ["ComponentMaps", "pick_component"]

_LOADING = threading.Lock()

#: Stored maps up to this size (as float64, the way they are read) are kept in memory whole.
WHOLE_BYTES = 256 * 2**20


class ComponentMaps:
    """Integer label maps ``(ny, nx)`` (0 = background) of the items of one Collection."""

    #: Maps kept when they are read or computed one item at a time (least recent go first).
    RECENT = 32

    def __init__(self, coll):
        self.coll = coll
        self._mode = None  # "whole" (all stored maps in memory), "stored" or "computed"
        self._whole = None
        self._pos_of = None
        self._recent: OrderedDict = OrderedDict()

    @property
    def mode(self) -> str | None:
        """How maps are read: ``"whole"`` (every stored map in memory), ``"stored"`` (one
        item at a time from the Collection), ``"computed"`` (found per item, for a read-only
        Collection without stored maps); None until the first :meth:`get`."""
        return self._mode

    @property
    def n_recent(self) -> int:
        """Per-item maps kept in memory now (at most :attr:`RECENT`)."""
        return len(self._recent)

    def _load(self) -> None:
        with _LOADING:
            if self._mode is None:
                self._mode = self._load_now()

    def _load_now(self) -> str:
        if "components" not in self.coll.derived:
            try:
                from workbench.io.components import compute_components

                compute_components(self.coll)
            except Exception:  # noqa: BLE001 - read-only view: the same maps, per item
                return "computed"
        shape = self.coll.derived["components"].get("shape") or [0]
        if 8 * int(np.prod(shape[1:], dtype=np.int64)) * len(self.coll) > WHOLE_BYTES:
            return "stored"
        self._pos_of = {i: k for k, i in enumerate(self.coll.ids)}
        self._whole = self.coll.derived_array("components")
        return "whole"

    def get(self, item) -> np.ndarray:
        """The label map of ``item`` (an :class:`~workbench.io.collection_types.Item`)."""
        if self._mode is None:
            self._load()
        if self._mode == "whole":
            a = self._whole[self._pos_of[item.id]]
            a = a[0] if a.ndim == 3 else a
            return np.nan_to_num(a, nan=0).astype(np.int32)
        hit = self._recent.get(item.id)
        if hit is None:
            if self._mode == "stored":
                from workbench.io.components import component_map

                hit = component_map(self.coll, item.id)
            else:
                from workbench.imaging.islands import find_components
                from workbench.labeling.panels import find_radio

                hit = find_components(find_radio(item)[1])[0]
            self._recent[item.id] = hit
            while len(self._recent) > self.RECENT:
                self._recent.popitem(last=False)
        return hit


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
