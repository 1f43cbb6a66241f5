"""HoloViews/Bokeh views for notebooks (layer ``plots``: imports core, io and embed; never
torch or widget libraries).

>>> import workbench.plots as p                                   # doctest: +SKIP
>>> p.candidates(coll) + p.catalog(coll, "flux_jy", "snr")         # doctest: +SKIP
>>> p.learning_curve(loop) + p.confusion(loop)                     # doctest: +SKIP

Every view is a function returning a HoloViews object (Bokeh backend, loaded on first use)
that composes with ``+`` and ``*`` and is restyled with ``.opts``. Each is built from a data
frame computed by a ``*_data`` function beside it, so what a plot shows can be checked
without drawing it:

- :func:`candidates`, :func:`catalog`, :func:`sky`: point views of a Collection
  (:mod:`workbench.plots.points`); above :data:`RASTERIZE_ABOVE` points they are binned
  in the kernel into an image of the visible window (:mod:`workbench.plots.raster`);
- :func:`learning_curve`, :func:`per_class`, :func:`confusion`: active-learning rounds
  (:mod:`workbench.plots.learning`);
- :func:`roc`: a ranking's ROC curve with TPR0 and TPR10 marked (:mod:`workbench.plots.ranking`);
- :func:`campaign`: a labeling campaign's progress (:mod:`workbench.plots.campaign`).

The point views take ``selection=`` (a :class:`~workbench.core.selection.Selection`): a box
select or tap in the plot sets it, and its ids (and its focus, the item last clicked in a
Gallery) are drawn highlighted on top.
"""

from __future__ import annotations

import importlib

from workbench.core.selection import Selection
from workbench.plots._style import bokeh_backend
from workbench.plots.campaign import campaign  # eager: the module shares the function's name

__all__ = ["bokeh_backend", "Selection", "candidates", "catalog", "sky", "learning_curve",
           "per_class", "confusion", "roc", "campaign", "RASTERIZE_ABOVE"]

_LAZY = {"candidates": "points", "catalog": "points", "sky": "points",
         "RASTERIZE_ABOVE": "raster", "learning_curve": "learning", "per_class": "learning",
         "confusion": "learning", "roc": "ranking"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"workbench.plots.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'workbench.plots' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
