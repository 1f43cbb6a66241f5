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

from workbench.core.cache import BoundedCache

__all__ = ["Memo", "ItemCache"]


class Memo(BoundedCache):
    """``get(key, make)``: the value of ``key``, made by ``make()`` once (see the module
    docstring): the package's one cache, :class:`workbench.core.cache.BoundedCache`, of
    ``size`` entries (``key in memo`` also while it is being made)."""

    def __init__(self, size: int):
        super().__init__(max(1, int(size)), name="server items")

    @property
    def size(self) -> int:
        return self.max_entries

    def get(self, key, make):
        return self.get_or_make(key, make)


class LightItem:
    """An item as a labeling session needs it between clicks: its id, row and catalog row
    at once; its images, axes and channel names (the full item, from ``full()``) only when
    something asks for them."""

    def __init__(self, item_id: str, index: int, meta, full):
        self.id, self.index, self.meta = item_id, index, meta
        self._full = full

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._full(), name)


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
        self._rows = Memo(4 * size)  # catalog rows of light items
        self._shared: dict = {}
        self._lock = threading.Lock()

    def get(self, coll, item_id: str):
        """``item_id`` of ``coll`` (read now if needed)."""
        from workbench.labeling.drawing import load_item

        iid = str(item_id)
        return self._items.get((str(coll.path), iid), lambda: load_item(coll, iid))

    @property
    def n_items(self) -> int:
        """Items held now (each read from its Collection once while it is held)."""
        return len(self._items)

    def light(self, coll, item_id: str) -> LightItem:
        """``item_id`` of ``coll`` as a :class:`LightItem`: the catalog row now, the images
        (through :meth:`get`) when first used. KeyError for an id not in ``coll``."""
        iid = str(item_id)
        key = ("catalog", str(coll.path))
        with self._lock:
            cat = self._shared.get(key)
        if cat is None:
            frame = coll.catalog
            cat = (frame, {str(i): k for k, i in enumerate(frame["id"])})
            with self._lock:
                cat = self._shared.setdefault(key, cat)
        frame, rows = cat
        if iid not in rows:
            raise KeyError(f"no item with id {iid!r} in {coll.path}")
        k = rows[iid]
        # the row, taken from the catalog once for the annotators of the item (a pandas row
        # costs a request a noticeable part of its time); nobody modifies it
        meta = self._rows.get((str(coll.path), iid), lambda: frame.iloc[k])
        return LightItem(iid, k, meta, lambda: self.get(coll, iid))

    def loader(self, coll):
        """``loader(item_id)`` for a :class:`~workbench.labeling.Session` of ``coll``: light
        items (:meth:`light`), whose images are read once for all annotators, and only
        if the session draws or picks components itself (the server draws elsewhere)."""
        return lambda item_id: self.light(coll, item_id)

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
