"""What every view shares: the Bokeh backend loaded once, and the palette of categories."""

from __future__ import annotations

__all__ = ["bokeh_backend", "PALETTE", "NOISE"]

#: Colours of categories (labels, predictions, cluster ids), in order (the Explorer's).
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
           "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#393b79", "#637939"]
#: Colour of missing values and of noise (cluster -1).
NOISE = "#8a8a8a"


def bokeh_backend():
    """Import HoloViews with its Bokeh backend loaded (once) and return the module."""
    import holoviews as hv

    if "bokeh" not in hv.Store.loaded_backends():
        # inline: Bokeh's JS travels with the notebook output (no CDN: offline, Binder)
        hv.extension("bokeh", logo=False, inline=True)
    return hv
