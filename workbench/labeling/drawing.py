"""What a labeling view draws of an item: its images, and of its catalog row only what the
annotator may see.

:func:`blind_item` is the one place where an item is cut down for drawing: the panels
(:func:`workbench.labeling.panels.item_panels`) see the images, the axes and only the shown
columns plus :data:`DRAW_COLUMNS` (pixel scale and beam, which are drawn as shapes, and
the kind of item). The notebook Labeler (through :meth:`Session.panels`) and the server's
image cache both draw through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

__all__ = ["DRAW_COLUMNS", "load_item", "blind_item", "blind_panels"]

#: Catalog columns the panels need to draw (pixel scale, restoring beam, the kind of item).
#: They reach the drawing code, never the annotator's text (the beam is drawn as a shape).
DRAW_COLUMNS = ("kind", "pixscale_arcsec", "bmaj", "bmin", "bpa", "beam_maj_arcsec",
                "bmaj_arcsec", "beam_fwhm_arcsec", "beam_min_arcsec", "bmin_arcsec",
                "beam_pa_deg", "bpa_deg")


def load_item(coll, item_id):
    """``coll[item_id]`` with its products' channel names as ``item._channels``."""
    item = coll[item_id]
    item._channels = {p: tuple(s.channels) for p, s in coll.products.items()}
    return item


def blind_item(item, shown: Iterable[str]):
    """``item`` (from :func:`load_item`) with a catalog row of only the ``shown`` columns
    plus :data:`DRAW_COLUMNS`; images and axes as they are."""
    row = item.meta
    keep = {str(c) for c in shown} | set(DRAW_COLUMNS)
    # by position (a label list costs pandas a lookup per label: a third of a millisecond)
    meta = row.iloc[[k for k, c in enumerate(row.index) if str(c) in keep]]
    return SimpleNamespace(id=item.id, index=getattr(item, "index", None), images=item.images,
                           axes=item.axes, meta=meta,
                           _channels=getattr(item, "_channels", {}))


def blind_panels(item, shown: Iterable[str], **options) -> list[dict]:
    """The panels of ``item`` drawn from the ``shown`` columns only (see the module
    docstring); ``options`` as :func:`workbench.labeling.panels.item_panels` takes them."""
    from workbench.labeling.panels import item_panels

    return item_panels(blind_item(item, shown), **options)
