"""Item views: a radio map, a transient candidate, a lens candidate; ``view_item`` picks one.

>>> from workbench.widgets import view_item
>>> view_item(coll, 0)                 # doctest: +SKIP

Each view is an anywidget; the image crosses to the browser as raw RGBA bytes with its
overlays (contours, beam, scale bar, sky transform) as small arrays. Changing a control
(stretch, limits, colour map, contours) re-renders in the kernel.
"""

from __future__ import annotations

import anywidget
import traitlets

from workbench.widgets import _panels, render
from workbench.widgets._common import esm, load_item

__all__ = ["RadioView", "TransientView", "LensView", "ImageView", "view_item"]


class _ItemView(anywidget.AnyWidget):
    _esm = esm("views.js")
    panels = traitlets.List([]).tag(sync=True)
    size = traitlets.Int(300).tag(sync=True)
    _controls = traitlets.Dict({}).tag(sync=True)
    _redraw_on: tuple = ()  # display traits without an on-screen control
    item_id = traitlets.Unicode("").tag(sync=True)

    def __init__(self, coll, key=0, **kwargs):
        super().__init__(**kwargs)
        self._coll = coll
        self._item = load_item(coll, key)
        self.item_id = self._item.id
        self._update()
        names = [n for n in (*self._controls, *self._redraw_on) if self.has_trait(n)]
        if names:
            self.observe(lambda _change: self._update(), names=names)

    @property
    def item(self):
        """The :class:`workbench.Item` shown."""
        return self._item

    def _update(self) -> None:
        self.panels = self._panels()

    def _panels(self) -> list[dict]:  # pragma: no cover - overridden
        raise NotImplementedError


class RadioView(_ItemView):
    """A radio cutout: stretch (linear, sqrt, log, asinh), limits (zscale, percentile,
    minmax), colour map, contours at ``nsigma x sigma x 2**k``, an infrared/optical image
    underneath (when the item has one and ``show_ir``), the beam, a scale bar and RA/Dec
    under the pointer.

    Parameters
    ----------
    coll : Collection
    key : int or str
        Position or id of the item.
    """

    stretch = traitlets.Unicode("asinh").tag(sync=True)
    interval = traitlets.Unicode("percentile").tag(sync=True)
    cmap = traitlets.Unicode("inferno").tag(sync=True)
    contours = traitlets.Bool(True).tag(sync=True)
    show_ir = traitlets.Bool(True).tag(sync=True)
    nsigma = traitlets.Float(3.0).tag(sync=True)
    _redraw_on = ("nsigma",)

    def __init__(self, coll, key=0, **kwargs):
        kwargs.setdefault("_controls", {
            "stretch": list(render.STRETCHES), "interval": list(render.LIMITS),
            "cmap": ["inferno", "viridis", "magma", "gray", "cubehelix", "gist_heat"],
            "contours": "bool", "show_ir": "bool"})
        super().__init__(coll, key, **kwargs)

    def _panels(self):
        return _panels.radio_panels(self._item, stretch=self.stretch, interval=self.interval,
                                    cmap=self.cmap, contours=self.contours,
                                    nsigma=self.nsigma, show_ir=self.show_ir)


class TransientView(_ItemView):
    """A single-pulse candidate: DM-time and frequency-time side by side with physical
    axes (pc cm^-3, s, MHz) and the candidate's S/N, DM and width."""

    cmap = traitlets.Unicode("viridis").tag(sync=True)
    stretch = traitlets.Unicode("linear").tag(sync=True)

    def __init__(self, coll, key=0, **kwargs):
        kwargs.setdefault("_controls", {"stretch": list(render.STRETCHES),
                                        "cmap": ["viridis", "inferno", "gray", "magma"]})
        super().__init__(coll, key, **kwargs)

    def _panels(self):
        return _panels.transient_panels(self._item, cmap=self.cmap, stretch=self.stretch)


class LensView(_ItemView):
    """A lens candidate: colour composite plus the single bands."""

    stretch = traitlets.Unicode("asinh").tag(sync=True)

    def __init__(self, coll, key=0, **kwargs):
        kwargs.setdefault("_controls", {"stretch": list(render.STRETCHES)})
        kwargs.setdefault("size", 200)
        super().__init__(coll, key, **kwargs)

    def _panels(self):
        return _panels.lens_panels(self._item, stretch=self.stretch)


class ImageView(_ItemView):
    """Any other item: every channel of every product."""

    stretch = traitlets.Unicode("asinh").tag(sync=True)

    def __init__(self, coll, key=0, **kwargs):
        kwargs.setdefault("_controls", {"stretch": list(render.STRETCHES)})
        super().__init__(coll, key, **kwargs)

    def _panels(self):
        return _panels.image_panels(self._item, stretch=self.stretch)


_BY_KIND = {"radio": RadioView, "transient": TransientView, "lens": LensView}


def view_item(coll, key=0, **kwargs) -> _ItemView:
    """The right view for item ``key`` (position or id) of ``coll``, chosen by its kind."""
    kind = str(coll.catalog["kind"].iloc[key] if isinstance(key, int) else
               coll[key].meta["kind"])
    return _BY_KIND.get(kind, ImageView)(coll, key, **kwargs)
