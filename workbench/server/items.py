"""Items read once for every annotator: a bounded, thread-safe cache shared by a server.

An item (its images and catalog row, :func:`workbench.labeling.drawing.load_item`) is the
same for every annotator of a campaign, and a campaign item is shown to several of them
(its retirement count). :class:`ItemCache` reads it from the Collection once and hands the
same object to every labeling session of the server (``Session(loader=...)``) and to the
image renderer (:class:`workbench.server.payload.ImageCache`); nobody modifies it.
:class:`Memo` is the cache underneath: least recently used entries go first, and a second
caller asking for a value being made waits for the first one's result instead of making it
again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future

__all__ = ["Memo", "ItemCache"]


class Memo:
    """``get(key, make)``: the value of ``key``, made by ``make()`` once (see the module
    docstring). ``size``: entries kept."""

    def __init__(self, size: int):
        self.size = max(1, int(size))
        self._done: OrderedDict = OrderedDict()
        self._busy: dict = {}
        self._lock = threading.Lock()

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._done or key in self._busy

    def get(self, key, make):
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            fut = self._busy.get(key)
            mine = fut is None
            if mine:
                fut = self._busy[key] = Future()
        if not mine:
            return fut.result()
        try:
            value = make()
        except BaseException as exc:
            with self._lock:
                self._busy.pop(key, None)
            fut.set_exception(exc)
            raise
        with self._lock:
            self._busy.pop(key, None)
            self._done[key] = value
            while len(self._done) > self.size:
                self._done.popitem(last=False)
        fut.set_result(value)
        return value


class ItemCache:
    """Items of the served Collections by ``(Collection folder, item id)``, and one
    :class:`~workbench.labeling.components.ComponentMaps` per Collection.

    Parameters
    ----------
    size : int
        Items kept (least recently used go first).
    """

    def __init__(self, size: int = 256):
        self._items = Memo(size)
        self._shared: dict = {}
        self._lock = threading.Lock()

    def get(self, coll, item_id: str):
        """``item_id`` of ``coll`` (read now if needed)."""
        from workbench.labeling.drawing import load_item

        iid = str(item_id)
        return self._items.get((str(coll.path), iid), lambda: load_item(coll, iid))

    def loader(self, coll):
        """``loader(item_id)`` for a :class:`~workbench.labeling.Session` of ``coll``."""
        return lambda item_id: self.get(coll, item_id)

    def ids(self, coll) -> tuple[list[str], set[str]]:
        """``(list, set)`` of the item ids of ``coll`` (made once per Collection)."""
        key = ("ids", str(coll.path))
        with self._lock:
            hit = self._shared.get(key)
        if hit is None:
            ids = [str(i) for i in coll.ids]
            hit = (ids, set(ids))
            with self._lock:
                hit = self._shared.setdefault(key, hit)
        return hit

    def maps(self, coll):
        """The component maps of ``coll`` (one object per Collection)."""
        with self._lock:
            m = self._shared.get(str(coll.path))
            if m is None:
                from workbench.labeling.components import ComponentMaps

                m = self._shared[str(coll.path)] = ComponentMaps(coll)
            return m
