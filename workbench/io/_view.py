"""Which items a Collection object stands for: the whole Collection or a view of it.

:class:`View` is a mixin of :class:`workbench.io.collection.Collection`; its public members
(:attr:`~View.root`, :attr:`~View.is_view`, :attr:`~View.rows`, :attr:`~View.ids`,
:attr:`~View.catalog`, :meth:`~View.select`, ``len()``) are documented there as part of the
Collection.

A view (what :meth:`~View.select` returns) is a read-only Collection object over some of the
items of its :attr:`~View.root`, in the order selected. It shares the root's manifest and
catalog; it holds only its items' absolute catalog rows (:attr:`~View.rows`). Derived data
read or written through a view goes to the root (see :mod:`workbench.io._derived`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from workbench.io.collection import Collection

__all__ = ["View"]


class View:
    """The items a Collection object stands for (mixed into :class:`Collection`).

    Set by the Collection's constructor: ``_index`` (absolute rows of a view, None for the
    whole Collection) and ``_parent`` (the root of a view, None for the whole Collection).
    """

    _index: np.ndarray | None
    _parent: Collection | None

    @property
    def root(self) -> Collection:
        """The whole Collection this is a view of; the Collection itself when it is not a
        view. Derived data is stored in the root (a view reads it aligned to its items)."""
        return self if self._parent is None else self._parent

    @property
    def is_view(self) -> bool:
        """True for a view made by :meth:`select` (read-only, some of the root's items)."""
        return self._parent is not None

    @property
    def rows(self) -> np.ndarray:
        """The absolute catalog rows of these items, in this object's order: position ``i``
        here is row ``rows[i]`` of the root's catalog (what :meth:`read` takes). For the
        whole Collection ``0 .. len-1``. A read-only int64 array."""
        rows = np.arange(self._n_total(), dtype=np.int64) if self._index is None \
            else self._index.view()
        rows.flags.writeable = False
        return rows

    def __len__(self) -> int:
        return self._n_total() if self._index is None else len(self._index)

    @property
    def catalog(self) -> pd.DataFrame:
        """The catalog rows of these items (with derived columns), index 0..len-1."""
        cat = self._full_catalog()
        if self._index is not None:
            cat = cat.iloc[self._index]
        return cat.reset_index(drop=True)

    @property
    def ids(self) -> list[str]:
        """The ids of these items, in this object's order."""
        cat = self._base_catalog()
        if cat is None:
            return []
        ids = cat["id"].astype(str).to_numpy()
        return list(ids if self._index is None else ids[self._index])

    def _resolve(self, key) -> int:
        """Position within this view (int) or item id (str) -> absolute row."""
        if isinstance(key, (int, np.integer)):
            n = len(self)
            i = int(key)
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError(f"item index {key} out of range for {n} items")
            return i if self._index is None else int(self._index[i])
        if isinstance(key, str):
            if self._id_rows is None:
                cat = self._base_catalog()
                ids = [] if cat is None else cat["id"].astype(str)
                rows = range(len(ids)) if self._index is None else self._index
                self._id_rows = {ids[int(r)]: int(r) for r in rows}
            if key not in self._id_rows:
                raise KeyError(f"no item with id {key!r} in {self.path}")
            return self._id_rows[key]
        raise TypeError(f"index items by int position or str id, not {type(key).__name__}")

    def select(self, query: str | None = None, *, ids: Iterable[str] | None = None,
               mask=None) -> Collection:
        """A read-only view of the items matching a ``query`` on the catalog (with derived
        columns), a list of ``ids``, or a boolean ``mask`` over this view.

        The query is in the workbench's own expression language (:mod:`workbench.io.query`:
        columns, literals, comparisons, and/or/not, ``in [...]``, arithmetic and a few column
        methods), never run as Python; anything outside it raises
        :class:`~workbench.core.errors.QueryError` before any of it is evaluated.

        The view's :attr:`root` is this object's root (a view of a view is a view of the
        whole Collection)."""
        from workbench.io.query import query_mask

        cat = self.catalog
        rows = self.rows
        if query is not None:
            keep = query_mask(query, cat, path=self.path)
            rows = rows[keep]
            cat = cat[keep]
        if ids is not None:
            want = pd.Index([str(i) for i in ids])
            pos = pd.Index(cat["id"].astype(str)).get_indexer(want)
            if (pos < 0).any():
                missing = list(want[pos < 0][:5])
                raise KeyError(f"ids not in {self.path}: {missing}")
            rows = rows[pos]
        if mask is not None:
            rows = rows[np.asarray(mask, dtype=bool)]
        return self.root.view_of_rows(rows)

    def view_of_rows(self, rows) -> Collection:
        """A read-only view of this Collection's root holding the absolute catalog ``rows``
        (in that order; see :attr:`rows`). IndexError if a row is out of range."""
        root = self.root
        rows = np.array(rows, dtype=np.int64, copy=True).reshape(-1)
        n = root._n_total()
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise IndexError(f"rows out of range for {n} items")
        return type(root)(root.path, "r", _index=rows, _parent=root)
