"""HoloViews/Bokeh views for notebooks (layer ``plots``: imports core, io and embed; never
torch or widget libraries).

>>> from workbench.plots.campaign import campaign     # doctest: +SKIP
>>> campaign(store, "fr")                             # a HoloViews layout  # doctest: +SKIP

Each view is a function that returns a HoloViews object built from data frames the
workbench computes elsewhere (for campaigns, :mod:`workbench.io.labels.report`), so what a
plot shows can be checked without drawing it. The Bokeh backend is loaded on first use.
"""

from __future__ import annotations

__all__ = ["bokeh_backend"]


def bokeh_backend():
    """Import HoloViews with its Bokeh backend loaded (once) and return the module."""
    import holoviews as hv

    if "bokeh" not in hv.Store.loaded_backends():
        hv.extension("bokeh", logo=False)
    return hv
