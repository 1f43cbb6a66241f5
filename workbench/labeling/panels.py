"""Items -> drawable panels (see :func:`workbench.labeling.render.panel`), one function per kind.

Shared by the views, the Gallery's detail pane, the Labeler and the served labeling page
(``workbench.widgets._panels`` re-exports this module). No widget library is imported.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.labeling import render

__all__ = ["radio_panels", "transient_panels", "lens_panels", "image_panels", "item_panels",
           "find_radio", "meta_value", "thumbnail", "thumbnails"]

_IR_NAMES = ("ir", "infrared", "wise", "w1", "optical", "opt", "host", "irac", "ks")


def meta_value(meta, *names, default=None):
    """The first non-missing value among catalog columns ``names`` (case-insensitive)."""
    import pandas as pd

    lower = {str(k).lower(): k for k in meta.index}
    for n in names:
        k = lower.get(n.lower())
        if k is None:
            continue
        v = meta[k]
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            continue
        return v
    return default


def find_radio(item) -> tuple[str, np.ndarray, np.ndarray | None, str | None]:
    """``(product, radio (ny, nx), ir (ny, nx) or None, ir_name)`` of a radio item.

    The radio image is the product named ``radio`` (else the first one), channel 0; an
    infrared/optical image is a channel or product whose name looks like one (``ir``,
    ``wise``, ``optical``, ...).
    """
    names = list(item.images)
    prod = "radio" if "radio" in names else names[0]
    arr = item.images[prod]
    ir, ir_name = None, None
    if arr.ndim == 3:
        radio = arr[0]
        chans = list(getattr(item, "_channels", {}).get(prod, ()))
        for k in range(1, arr.shape[0]):
            nm = chans[k].lower() if k < len(chans) else ""
            if any(t in nm for t in _IR_NAMES) or not chans:
                ir, ir_name = arr[k], (chans[k] if k < len(chans) else f"channel {k}")
                break
    else:
        radio = arr
    if ir is None:
        for other in names:
            if other != prod and any(t in other.lower() for t in _IR_NAMES):
                a = item.images[other]
                a = a[0] if a.ndim == 3 else a
                if a.shape == radio.shape and np.isfinite(a).any():
                    ir, ir_name = a, other
                    break
    if ir is not None and not np.isfinite(ir).any():
        ir, ir_name = None, None
    return prod, radio, ir, ir_name


def radio_panels(item, *, stretch: str = "asinh", interval: str = "percentile",
                 cmap: str = "inferno", contours: bool = True, nsigma: float = 3.0,
                 show_ir: bool = True, size: str = "full") -> list[dict]:
    """Panels of a radio item: the radio map (stretched, colour-mapped) with contours at
    ``nsigma x sigma x 2**k``, the beam (catalog columns ``bmaj``/``bmin`` in arcsec and
    ``bpa`` in deg, when present) and a scale bar; with an infrared/optical image and
    ``show_ir``, that image in grey is underneath and the radio contours are drawn over it."""
    prod, radio, ir, ir_name = find_radio(item)
    ax = item.axes.get(prod) or {}
    pixscale = ax.get("pixscale_arcsec") or meta_value(item.meta, "pixscale_arcsec")
    pixscale = float(pixscale) if pixscale is not None else float("nan")
    sigma = render.robust_sigma(radio)  # once: the contour levels and the info line
    levels = render.contour_levels(radio, nsigma=nsigma, sigma=sigma) if contours \
        else np.zeros(0)
    lines = render.contour_lines(radio, levels) if contours else None
    if ir is not None and show_ir:
        rgba = render.to_rgba(ir, stretch="asinh", limits="zscale", cmap="gray")
        title = f"{prod} contours on {ir_name}"
    else:
        rgba = render.to_rgba(radio, stretch=stretch, limits=interval, cmap=cmap)
        title = prod
    bmaj = meta_value(item.meta, "bmaj", "beam_maj_arcsec", "bmaj_arcsec", "beam_fwhm_arcsec")
    bmin = meta_value(item.meta, "bmin", "beam_min_arcsec", "bmin_arcsec", default=bmaj)
    bpa = meta_value(item.meta, "bpa", "beam_pa_deg", "bpa_deg", default=0.0)
    beam = None
    if bmaj is not None and np.isfinite(pixscale):
        beam = render.beam_polygon(float(bmaj), float(bmin), float(bpa), pixscale, radio.shape)
    info = [f"σ = {sigma:.3g}; contours at {nsigma:g}σ × 2^k ({len(levels)} levels)"] \
        if contours else []
    return [render.panel(rgba, title=title, lines=lines, levels=levels, beam=beam,
                         bar=render.scale_bar(pixscale, radio.shape[1]),
                         sky=render.sky_transform(ax.get("wcs"), radio.shape), info=info)]


def _linear_axes(ax: dict, shape) -> tuple[dict | None, dict | None]:
    units = ax.get("units", {})
    names = list(units)
    if len(names) != 2:
        return None, None
    rows, cols = names
    r, c = np.asarray(ax[rows]), np.asarray(ax[cols])

    def edges(v):
        step = float(v[1] - v[0]) if len(v) > 1 else 1.0
        return float(v[0]) - step / 2, float(v[-1]) + step / 2

    pretty = {"dm": "DM", "time": "time", "freq": "frequency", "frequency": "frequency"}
    y0, y1 = edges(r)
    x0, x1 = edges(c)
    return ({"label": pretty.get(cols, cols), "unit": units[cols], "lo": x0, "hi": x1},
            {"label": pretty.get(rows, rows), "unit": units[rows], "lo": y0, "hi": y1})


def transient_panels(item, *, cmap: str = "viridis", stretch: str = "linear",
                     interval: str = "percentile") -> list[dict]:
    """DM-time and frequency-time panels of a transient candidate, side by side, with
    physical axes (DM in pc cm^-3, time in s, frequency in MHz) and S/N, DM, width."""
    panels = []
    info = []
    snr = meta_value(item.meta, "snr", "s/n", "sn", "sigma")
    dm = meta_value(item.meta, "dm", "dm_pc_cm3")
    width, wunit = None, ""
    for col, unit in (("width_ms", "ms"), ("boxcar_ms", "ms"), ("width_s", "s"), ("width", "ms")):
        width = meta_value(item.meta, col)
        if width is not None:
            wunit = unit
            break
    if snr is not None:
        info.append(f"S/N {float(snr):.1f}")
    if dm is not None:
        info.append(f"DM {float(dm):.1f} pc cm^-3")
    if width is not None:
        info.append(f"width {float(width):.3g} {wunit}")
    order = sorted(item.images, key=lambda p: (0 if "dm" in p.lower() else 1, p))
    for prod in order:
        arr = item.images[prod]
        chans = [arr] if arr.ndim == 2 else list(arr)
        for k, a in enumerate(chans):
            x_axis, y_axis = _linear_axes(item.axes.get(prod) or {}, a.shape)
            rgba = render.to_rgba(a, stretch=stretch, limits=interval, cmap=cmap)
            title = prod if len(chans) == 1 else f"{prod}[{k}]"
            panels.append(render.panel(rgba, title=title, x_axis=x_axis, y_axis=y_axis))
    if panels:
        panels[0]["info"] = info
    return panels


def lens_panels(item, *, stretch: str = "asinh", interval: str = "percentile",
                cmap: str = "gray", q: float = 8.0) -> list[dict]:
    """A lens candidate: an RGB colour composite (Lupton et al. 2004, reddest band as R)
    of the first multi-band product, then each band alone."""
    prod = next((p for p, a in item.images.items() if a.ndim == 3 and a.shape[0] >= 3),
                next(iter(item.images)))
    arr = item.images[prod]
    bands = list(getattr(item, "_channels", {}).get(prod, ())) or \
        [f"band {k}" for k in range(arr.shape[0] if arr.ndim == 3 else 1)]
    panels = []
    if arr.ndim == 3 and arr.shape[0] >= 3:
        rgb = _composite(arr, bands)
        panels.append(render.panel(render.rgb_to_rgba(rgb), title=f"{prod} composite "
                                   f"({', '.join(str(b) for b in bands[-1:-4:-1])} as RGB)"))
    chans = [arr] if arr.ndim == 2 else list(arr)
    for k, a in enumerate(chans):
        rgba = render.to_rgba(a, stretch=stretch, limits=interval, cmap=cmap)
        panels.append(render.panel(rgba, title=str(bands[k]) if k < len(bands) else f"{k}"))
    return panels


def _composite(arr: np.ndarray, bands=None) -> np.ndarray:
    """RGB (ny, nx, 3) uint8 from bands (c, ny, nx) ordered blue first (Lupton et al. 2004,
    via :func:`workbench.imaging.composite.lupton_rgb`)."""
    from workbench.imaging.composite import lupton_rgb

    return lupton_rgb(arr)


def image_panels(item, *, stretch: str = "asinh", interval: str = "percentile",
                 cmap: str = "gray") -> list[dict]:
    """Any other item: each channel of each product."""
    out = []
    for prod, arr in item.images.items():
        chans = [arr] if arr.ndim == 2 else list(arr)
        for k, a in enumerate(chans):
            rgba = render.to_rgba(a, stretch=stretch, limits=interval, cmap=cmap)
            out.append(render.panel(rgba, title=prod if len(chans) == 1 else f"{prod}[{k}]"))
    return out


def item_panels(item, **options) -> list[dict]:
    """Panels for any item, chosen by its ``kind``."""
    kind = str(item.meta.get("kind", "image"))
    fn = {"radio": radio_panels, "transient": transient_panels, "lens": lens_panels}.get(
        kind, image_panels)
    import inspect

    ok = set(inspect.signature(fn).parameters)
    return fn(item, **{k: v for k, v in options.items() if k in ok})


def thumbnail(images: np.ndarray, kind: str, size: int = 64) -> np.ndarray:
    """A small display RGBA (size, size, 4) uint8 for one item's first product
    ``(c, ny, nx)``: colour composite for lenses, first channel otherwise."""
    a = np.asarray(images, np.float32)
    if kind == "lens" and a.shape[0] >= 3:
        rgba = render.rgb_to_rgba(_composite(a))
    else:
        cm = "inferno" if kind == "radio" else ("viridis" if kind == "transient" else "gray")
        rgba = render.to_rgba(a[0], stretch="asinh" if kind != "transient" else "linear",
                              limits="percentile", cmap=cm)
    ny, nx = rgba.shape[:2]
    yi = (np.arange(size) * ny / size).astype(int)
    xi = (np.arange(size) * nx / size).astype(int)
    return rgba[yi][:, xi]


def thumbnails(images: np.ndarray, kind: str, size: int = 64) -> np.ndarray:
    """:func:`thumbnail` of each item of a stack ``(n, c, ny, nx)`` of one ``kind`` ->
    ``(n, size, size, 4)`` uint8, equal byte for byte; the first channels are stretched in
    one vectorised call (:func:`workbench.imaging.stretch.stack_to_rgba_uint8`) instead of
    one call per item (lens composites still go one by one)."""
    from workbench.imaging.stretch import stack_to_rgba_uint8

    a = np.asarray(images, np.float32)
    if a.ndim != 4:
        raise ValueError(f"thumbnails needs a stack of shape (n, c, ny, nx), got {a.shape}")
    if not len(a) or (kind == "lens" and a.shape[1] >= 3):
        return np.stack([thumbnail(x, kind, size) for x in a]) if len(a) else \
            np.zeros((0, size, size, 4), np.uint8)
    cm = "inferno" if kind == "radio" else ("viridis" if kind == "transient" else "gray")
    first = a[:, 0]
    rgba = stack_to_rgba_uint8(first, stretch="asinh" if kind != "transient" else "linear",
                               limits="percentile", cmap=render.colormap_lut(cm))
    rgba[~np.isfinite(first)] = 0  # render.to_rgba's transparent non-finite pixels
    ny, nx = first.shape[1:]
    yi = (np.arange(size) * ny / size).astype(int)
    xi = (np.arange(size) * nx / size).astype(int)
    return rgba[:, ::-1][:, yi][:, :, xi]
