"""The Gallery: a pageable, sortable grid of thumbnails of any Collection or selection.

>>> g = Gallery(coll.select("snr > 8"), store=store, badges=["pred_class"])   # doctest: +SKIP
>>> g.selected          # ids picked with shift/ctrl-click                        # doctest: +SKIP

One page crosses to the browser as one PNG sprite sheet (``thumb x thumb`` tiles) plus a
list of captions and badges (drawn as text, never as HTML). A click opens the item in the
view for its kind below the grid; shift- or ctrl-click adds it to :attr:`selected`.

With ``selection=`` (a shared :class:`~workbench.core.selection.Selection`) the Gallery
follows it: it shows exactly the selected items of ``coll`` (in selection order; none while
nothing is selected), re-drawn in place whenever a plot, the Explorer or code changes the
selection; a click puts the item in the selection's focus (the plots ring it), and "select
picked" makes the shift/ctrl-clicked items the selection.

>>> sel = workbench.plots.Selection()                                          # doctest: +SKIP
>>> Gallery(coll, selection=sel); workbench.plots.candidates(coll, selection=sel)  # doctest: +SKIP
"""

from __future__ import annotations

import anywidget
import numpy as np
import pandas as pd
import traitlets

from workbench.widgets import _panels, render
from workbench.widgets._common import esm, load_item, majority_labels

__all__ = ["Gallery"]


class Gallery(anywidget.AnyWidget):
    """Thumbnails of ``coll`` (a Collection or a view of one).

    Parameters
    ----------
    coll : Collection
    store : LabelStore, optional
        Shows each item's labels (the majority answer of the scheme's class question and the
        number of live annotations) as a badge.
    badges : list of str, optional
        Catalog columns shown as badges (e.g. predictions, cluster ids, consensus).
        Defaults to the columns whose names start with ``pred``, ``consensus`` or ``label``.
    sort_by : str, optional
        Catalog column to sort by (any column; change it in the widget too).
    page_size : int
        Thumbnails per page.
    thumb : int
        Thumbnail size in pixels.
    selection : Selection, optional
        Follow this shared selection (see the module docstring).
    """

    _esm = esm("gallery.js")
    sprite = traitlets.Bytes(b"").tag(sync=True)
    tiles = traitlets.List([]).tag(sync=True)
    columns = traitlets.List([]).tag(sync=True)
    sort_by = traitlets.Unicode("").tag(sync=True)
    ascending = traitlets.Bool(True).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    n_pages = traitlets.Int(1).tag(sync=True)
    page_size = traitlets.Int(100).tag(sync=True)
    thumb = traitlets.Int(64).tag(sync=True)
    n_cols = traitlets.Int(10).tag(sync=True)
    selected = traitlets.List(traitlets.Unicode(), []).tag(sync=True)
    opened = traitlets.Unicode("").tag(sync=True)
    detail = traitlets.List([]).tag(sync=True)
    linked = traitlets.Bool(False).tag(sync=True)
    n_items = traitlets.Int(0).tag(sync=True)

    def __init__(self, coll, *, store=None, badges=None, sort_by: str | None = None,
                 ascending: bool = True, page_size: int = 100, thumb: int = 64,
                 n_cols: int = 10, selection=None):
        super().__init__(page_size=page_size, thumb=thumb, n_cols=n_cols, ascending=ascending)
        self.coll = coll
        self.store = store
        self.selection = selection
        self._all_cat = coll.catalog
        self._all_rows = np.asarray(coll.rows)
        self._all_index = None
        self._cat, self._rows = self._all_cat, self._all_rows
        self._product = next(iter(coll.products))
        if badges is None:
            badges = [c for c in self._cat.columns
                      if str(c).lower().startswith(("pred", "consensus", "label"))]
        self.badge_columns = list(badges)
        self.columns = [str(c) for c in self._cat.columns]
        if sort_by is not None and sort_by not in self._cat.columns:
            raise KeyError(f"no catalog column {sort_by!r}; columns are {self.columns}")
        self.sort_by = sort_by or ""
        self._labels = self._store_labels()
        self.observe(lambda _c: self._render_page(), names=["sort_by", "ascending", "page",
                                                            "page_size"])
        self.observe(self._on_open, names=["opened"])
        self.on_msg(self._on_msg)
        if selection is not None:
            self.linked = True
            self._show(selection.ids, render=False)
            selection.observe(self._follow, "ids")
        self._render_page()

    # ------------------------------------------------------------------ data
    def _store_labels(self) -> dict:
        if self.store is None:
            return {}
        return {iid: f"{label or 'labelled'} ({n})"
                for iid, (label, n) in majority_labels(self.store, self.coll.ids).items()}

    @property
    def shown_ids(self) -> list[str]:
        """Ids of every item the Gallery shows (all pages, catalog/selection order)."""
        return list(self._cat["id"].astype(str))

    def _show(self, ids, *, render: bool = True) -> None:
        """Show the items of ``coll`` among ``ids`` (in that order; others are ignored)."""
        if self._all_index is None:  # object dtype on both sides: pandas' fast hash lookup
            self._all_index = pd.Index(self._all_cat["id"].astype(str).to_numpy(dtype=object))
        pos = self._all_index.get_indexer(np.asarray(list(ids), dtype=object))
        pos = pos[pos >= 0]
        self._cat = self._all_cat.iloc[pos].reset_index(drop=True)
        self._rows = self._all_rows[pos]
        if render:
            with self.hold_sync():
                self.selected = []
                self.opened = ""
                if self.page != 0:
                    self.page = 0  # re-renders
                else:
                    self._render_page()

    def _follow(self, ids) -> None:
        self._show(ids)

    def order(self) -> np.ndarray:
        """Positions (within ``coll``) in display order."""
        n = len(self._cat)
        if not self.sort_by:
            return np.arange(n) if self.ascending else np.arange(n)[::-1].copy()
        col = self._cat[self.sort_by]
        return np.asarray(col.reset_index(drop=True).sort_values(
            ascending=self.ascending, na_position="last", kind="stable").index)

    def _render_page(self) -> None:
        order = self.order()
        n = len(order)
        self.n_pages = max(1, -(-n // self.page_size))
        page = min(max(self.page, 0), self.n_pages - 1)
        pos = order[page * self.page_size:(page + 1) * self.page_size]
        t, cols = self.thumb, self.n_cols
        nrow = max(1, -(-len(pos) // cols))
        sheet = np.zeros((nrow * t, cols * t, 4), np.uint8)
        tiles = []
        if len(pos):
            rows = self._rows[pos]
            srt = np.argsort(rows)
            imgs = self.coll.read(rows[srt], [self._product])[self._product]
            inv = np.empty_like(srt)
            inv[srt] = np.arange(len(srt))
            imgs = imgs[inv]
            page_cat = self._cat.iloc[pos]  # one lookup per page, not per tile
            col = {c: page_cat[c].to_numpy(dtype=object)
                   for c in dict.fromkeys(["id", "kind", *self.badge_columns,
                                           *([self.sort_by] if self.sort_by else [])])
                   if c in page_cat.columns}
            sheet = _page_sheet(imgs, col["kind"], t, cols, nrow)
            for k in range(len(pos)):
                iid = str(col["id"][k])
                badges = []
                if iid in self._labels:
                    badges.append(f"label: {self._labels[iid]}")
                for b in self.badge_columns:
                    v = col[b][k] if b in col else None
                    if v is not None and v is not pd.NA and v == v:
                        badges.append(f"{b}: {_short(v)}")
                cap = iid if not self.sort_by or self.sort_by == "id" else \
                    f"{iid} · {self.sort_by}={_short(col[self.sort_by][k])}"
                tiles.append({"id": iid, "caption": cap, "badges": badges})
        self.n_items = n
        with self.hold_sync():
            if page != self.page:
                self.page = page
            self.sprite = render.encode_png(sheet)
            self.tiles = tiles

    # ------------------------------------------------------------------ events
    def _on_msg(self, _w, content, _buffers) -> None:
        if content.get("type") == "open":
            iid = str(content.get("id", ""))
            if self.selection is not None:  # first: the plots redraw after this message
                self.selection.set_focus(iid or None, source=self)
            self.opened = iid
        elif content.get("type") == "select_picked" and self.selection is not None:
            picked = list(self.selected)
            if picked:
                self.selection.set(picked, source=self)

    def _on_open(self, change) -> None:
        iid = change["new"]
        self.detail = _panels.item_panels(load_item(self.coll, iid)) if iid else []


def _page_sheet(imgs, kinds, t: int, cols: int, nrow: int) -> np.ndarray:
    """The page's sprite sheet ``(nrow * t, cols * t, 4)``: tile ``k`` (row-major) is the
    thumbnail of ``imgs[k]``, made for all items of a kind at once
    (:func:`~workbench.labeling.panels.thumbnails`)."""
    kinds = np.asarray([str(k) for k in kinds], dtype=object)
    tiles = np.zeros((nrow * cols, t, t, 4), np.uint8)
    for kind in dict.fromkeys(kinds):
        at = np.flatnonzero(kinds == kind)
        tiles[at] = _panels.thumbnails(imgs[at], kind, t)
    return tiles.reshape(nrow, cols, t, t, 4).transpose(0, 2, 1, 3, 4).reshape(
        nrow * t, cols * t, 4)


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    s = str(v)
    return s if len(s) <= 24 else s[:23] + "…"
