"""Point views linked to a :class:`~workbench.core.selection.Selection` through HoloViews
streams, all in the kernel (the plot's comm carries the events; no server, no port).

- points sent to the browser: ``Selection1D`` (box select, lasso, tap) -> the selected rows'
  ids -> ``selection.set``;
- a binned image (:mod:`workbench.plots.raster`): ``BoundsXY`` (box select) -> the ids of
  the points inside the box, ``Tap`` -> the nearest point within a few pixels;
- the other way: every change of the selection (or of its focus) re-draws a small overlay
  of the selected items (open rings, at most :data:`MAX_HIGHLIGHT`) and of the item in
  focus (a large red ring), through a ``DynamicMap`` fed by a stream; in a kernel the
  re-draw waits for the end of the message being handled, so the other followers (a
  Gallery) go first.

Bokeh's own selection look is switched off on linked points (selected and unselected
points look alike), so what is highlighted is always the shared selection, wherever it
was made.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd

from workbench.plots._style import bokeh_backend

__all__ = ["MAX_HIGHLIGHT", "LinkedPoints", "deferred"]

#: Most selected items drawn in the highlight overlay (the selection itself may be larger).
MAX_HIGHLIGHT = 20_000


class LinkedPoints:
    """The kernel side of one linked point view: item ids and positions, the selection,
    and the callbacks between them.

    Parameters
    ----------
    ids : array of str
    x, y : array of float
        The positions drawn (data units).
    selection : Selection
    logx, logy : bool
        Whether the axes are logarithmic (a tap's "few pixels" are measured on them).
    """

    def __init__(self, ids, x, y, selection, *, x_name: str, y_name: str,
                 logx: bool = False, logy: bool = False):
        self.ids = np.asarray(ids).astype(str)
        self.x, self.y = np.asarray(x, float), np.asarray(y, float)
        self.x_name, self.y_name = x_name, y_name
        self.selection = selection
        self.logx, self.logy = logx, logy
        self._index = pd.Index(self.ids)
        self._stream = None
        self._deferred = None
        self.last_ms = None  # kernel time of the last selection made in this view

    # ------------------------------------------------------------------ plot -> selection
    def from_indices(self, index) -> list[str]:
        """Selection1D: rows of the drawn points -> select their ids."""
        idx = np.asarray(index if index is not None else [], dtype=np.int64)
        ids = self.ids[idx[(idx >= 0) & (idx < len(self.ids))]]
        self.selection.set(ids, source=self)
        return list(ids)

    def from_bounds(self, bounds) -> list[str]:
        """BoundsXY: ``(x0, y0, x1, y1)`` in data units -> select the ids inside."""
        if bounds is None:
            return self.selection.ids
        x0, y0, x1, y1 = (float(b) for b in bounds)
        xa, xb = sorted((x0, x1))
        ya, yb = sorted((y0, y1))
        m = (self.x >= xa) & (self.x <= xb) & (self.y >= ya) & (self.y <= yb)
        ids = self.ids[np.flatnonzero(m)]
        self.selection.set(ids, source=self)
        return list(ids)

    def from_tap(self, x, y, x_range=None, y_range=None, *, pixels: float = 6.0,
                 width: int = 700, height: int = 420) -> list[str]:
        """Tap at ``(x, y)``: select (and focus) the nearest item within ``pixels`` screen
        pixels of a ``width x height`` plot showing ``x_range`` x ``y_range``."""
        if x is None or y is None or not len(self.ids):
            return self.selection.ids
        tx = np.log10 if self.logx else (lambda v: v)
        ty = np.log10 if self.logy else (lambda v: v)
        with np.errstate(divide="ignore", invalid="ignore"):
            xr = x_range or (np.nanmin(self.x), np.nanmax(self.x))
            yr = y_range or (np.nanmin(self.y), np.nanmax(self.y))
            sx = width / max(float(tx(xr[1]) - tx(xr[0])), 1e-12)
            sy = height / max(float(ty(yr[1]) - ty(yr[0])), 1e-12)
            d = np.hypot((tx(self.x) - tx(x)) * sx, (ty(self.y) - ty(y)) * sy)
        if not np.isfinite(d).any():
            return self.selection.ids
        j = int(np.nanargmin(d))
        ids = [self.ids[j]] if d[j] <= pixels else []
        self.selection.set(ids, source=self)
        if ids:
            self.selection.set_focus(ids[0], source=self)
        return ids

    # ------------------------------------------------------------------ selection -> plot
    def highlight_frame(self) -> pd.DataFrame:
        """Positions of the selected items (at most :data:`MAX_HIGHLIGHT`) and of the focus
        (``role`` = ``selected`` / ``focus``)."""
        sel = self.selection.ids[:MAX_HIGHLIGHT]
        pos = self._index.get_indexer(sel)
        pos = pos[pos >= 0]
        roles = ["selected"] * len(pos)
        f = self.selection.focus
        fpos = self._index.get_indexer([f])[0] if f is not None else -1
        if fpos >= 0:
            pos = np.r_[pos, fpos]
            roles.append("focus")
        return pd.DataFrame({self.x_name: self.x[pos], self.y_name: self.y[pos],
                             "id": self.ids[pos], "role": roles})

    def overlay(self):
        """A DynamicMap of the highlighted items, re-drawn whenever the selection changes."""
        hv = bokeh_backend()
        self._stream = hv.streams.Counter()

        def draw(counter):
            d = self.highlight_frame()
            sel = d[d["role"] == "selected"]
            foc = d[d["role"] == "focus"]
            kd, vd = [self.x_name, self.y_name], ["id"]
            return (hv.Points(sel, kd, vd, group="Selected").opts(
                        fill_alpha=0, line_color="black", line_width=1.5, size=9,
                        marker="circle")
                    * hv.Points(foc, kd, vd, group="Focus").opts(
                        fill_alpha=0, line_color="red", line_width=3, size=18,
                        marker="circle"))

        dmap = hv.DynamicMap(draw, streams=[self._stream])
        poke = self._poke
        self.selection.observe(poke, "ids")
        self.selection.observe(poke, "focus")
        return dmap

    def _poke(self, _value=None) -> None:
        if self._stream is not None:
            self._later()

    @property
    def _later(self):
        if self._deferred is None:
            self._deferred = deferred(self._stream.event)
        return self._deferred


def deferred(fn):
    """A callable that runs ``fn()``: at once outside an event loop (scripts, tests); inside
    a kernel after the message being handled, once however often it was called meanwhile (so
    a Gallery following the same selection is drawn first, and a change of ids and focus
    together costs one re-draw)."""
    pending = []

    def flush():
        pending.clear()
        fn()

    def call(*_args) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            fn()
        elif not pending:
            pending.append(True)
            loop.call_soon(flush)

    return call
