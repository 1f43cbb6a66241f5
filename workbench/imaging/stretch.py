"""Single-band display stretches: linear, sqrt, log, asinh with zscale or percentile limits.

Pure functions over numpy arrays (any 2-D image: optical stamps, radio maps, DM-time
planes). The one stretch API of the workbench: the widgets, the Labeler's panels and the
served labeling page render through it (:func:`workbench.labeling.render.to_rgba` is
:func:`to_rgba_uint8` with a colour-map lookup table, flipped for display), and their
``stretch``/``limits`` options are the names below. The intervals and stretches are those of
``astropy.visualization``; astropy imports matplotlib when that subpackage loads, so it is
imported inside the functions, never when this module is imported.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STRETCHES", "LIMITS", "image_limits", "stack_limits", "stretch_image",
           "stretch_stack", "to_rgba_uint8", "stack_to_rgba_uint8"]

#: Stretch names understood by :func:`stretch_image`.
STRETCHES = ("linear", "sqrt", "log", "asinh")
#: Ways of choosing the display limits.
LIMITS = ("zscale", "percentile", "minmax")


def image_limits(data, *, limits="zscale", percentile: float = 99.5) -> tuple[float, float]:
    """Display limits ``(vmin, vmax)`` of an image from its finite pixels.

    Parameters
    ----------
    data : array_like
        Image of any shape; NaN/inf pixels are ignored.
    limits : {"zscale", "percentile", "minmax"} or (float, float)
        IRAF zscale (good for sky-dominated images), the central ``percentile`` per cent
        of the pixels (astropy ``PercentileInterval``), the full range, or explicit limits.
    percentile : float
        Per cent of pixels kept for ``limits="percentile"`` (cut equally at both ends).

    Returns
    -------
    (float, float)
        NaN, NaN when the image has no finite pixel.
    """
    if not isinstance(limits, str):
        lo, hi = limits
        return float(lo), float(hi)
    if limits not in LIMITS:
        raise ValueError(f"limits must be one of {LIMITS} or (vmin, vmax), got {limits!r}")
    a = np.asarray(data, dtype=np.float64)
    vals = a[np.isfinite(a)]
    if vals.size == 0:
        return float("nan"), float("nan")
    if limits == "minmax":
        return float(vals.min()), float(vals.max())
    from astropy.visualization import PercentileInterval, ZScaleInterval

    interval = ZScaleInterval() if limits == "zscale" else PercentileInterval(float(percentile))
    lo, hi = interval.get_limits(vals)
    return float(lo), float(hi)


def stack_limits(stack, *, limits="zscale", percentile: float = 99.5):
    """:func:`image_limits` of each image of a stack, in one vectorised call where it can.

    Parameters
    ----------
    stack : array_like of shape (n, ...)
        ``n`` images of one shape.
    limits, percentile
        As in :func:`image_limits`.

    Returns
    -------
    (ndarray, ndarray) of float64, shape (n,)
        ``lo[k], hi[k] == image_limits(stack[k], ...)`` exactly: ``"percentile"`` and
        ``"minmax"`` take every image whose pixels are all finite in one ``np.percentile``
        / min / max over the pixel axis (the computation astropy's interval does per image);
        images with non-finite pixels, and ``"zscale"``, go one by one.
    """
    a = np.asarray(stack, dtype=np.float64)
    if a.ndim < 1:
        raise ValueError(f"a stack of images needs a leading axis, got shape {a.shape}")
    n = a.shape[0]
    if not isinstance(limits, str):
        lo, hi = image_limits(None, limits=limits)
        return np.full(n, lo), np.full(n, hi)
    if limits not in LIMITS:
        raise ValueError(f"limits must be one of {LIMITS} or (vmin, vmax), got {limits!r}")
    lo, hi = np.full(n, np.nan), np.full(n, np.nan)
    flat = a.reshape(n, int(np.prod(a.shape[1:], dtype=np.int64)))
    whole = np.isfinite(flat).all(axis=1) & (flat.shape[1] > 0)
    if limits != "zscale" and whole.any():
        rows = flat[whole]
        if limits == "minmax":
            lo[whole], hi[whole] = rows.min(axis=1), rows.max(axis=1)
        else:
            cut = (100 - float(percentile)) * 0.5
            lo[whole], hi[whole] = np.percentile(rows, (cut, 100 - cut), axis=1)
        rest = np.flatnonzero(~whole)
    else:
        rest = np.arange(n)
    for k in rest:
        lo[k], hi[k] = image_limits(a[k], limits=limits, percentile=percentile)
    return lo, hi


def stretch_stack(stack, *, stretch: str = "asinh", limits="zscale", percentile: float = 99.5,
                  a: float | None = None) -> np.ndarray:
    """:func:`stretch_image` of each image of a stack ``(n, ...)``, vectorised: the limits
    from :func:`stack_limits`, then one clip and one stretch over the whole stack. Equal,
    value for value, to stretching each image on its own."""
    arr = np.asarray(stack, dtype=np.float64)
    lo, hi = stack_limits(arr, limits=limits, percentile=percentile)
    finite = np.isfinite(arr)
    out = np.where(finite, 0.0, np.nan)
    good = np.isfinite(lo) & np.isfinite(hi) & (hi > lo)
    if good.any():
        shape = (-1,) + (1,) * (arr.ndim - 1)
        g_lo, g_span = lo[good].reshape(shape), (hi[good] - lo[good]).reshape(shape)
        sub = arr[good]
        with np.errstate(invalid="ignore"):
            norm = np.clip((sub - g_lo) / g_span, 0.0, 1.0)
        norm = np.where(finite[good], norm, 0.0)
        val = np.clip(_stretch_object(stretch, a)(norm, clip=True), 0.0, 1.0)
        out[good] = np.where(finite[good], val, np.nan)
    return out


def _stretch_object(stretch: str, a: float | None):
    from astropy.visualization import AsinhStretch, LinearStretch, LogStretch, SqrtStretch

    if stretch == "linear":
        return LinearStretch()
    if stretch == "sqrt":
        return SqrtStretch()
    if stretch == "log":
        return LogStretch(a=1000.0 if a is None else a)
    if stretch == "asinh":
        return AsinhStretch(a=0.1 if a is None else a)
    raise ValueError(f"stretch must be one of {STRETCHES}, got {stretch!r}")


def stretch_image(data, *, stretch: str = "asinh", limits="zscale", percentile: float = 99.5,
                  a: float | None = None) -> np.ndarray:
    """Map an image to display values in [0, 1].

    Parameters
    ----------
    data : array_like of shape (ny, nx) (any shape works)
        Pixel values in any unit.
    stretch : {"linear", "sqrt", "log", "asinh"}
        Display stretch applied after clipping to the limits and scaling to [0, 1].
    limits : {"zscale", "percentile", "minmax"} or (vmin, vmax)
        How the limits are chosen (see :func:`image_limits`).
    percentile : float
        Per cent of pixels kept for ``limits="percentile"``.
    a : float, optional
        The stretch parameter (asinh: 0.1, log: 1000 by default; smaller asinh ``a`` shows
        fainter structure).

    Returns
    -------
    ndarray of float64, same shape as ``data``
        Values in [0, 1]; NaN where the input is not finite. An image with no finite pixel,
        or with equal limits, maps to 0 (NaN stays NaN).
    """
    arr = np.asarray(data, dtype=np.float64)
    finite = np.isfinite(arr)
    out = np.full(arr.shape, np.nan)
    lo, hi = image_limits(arr, limits=limits, percentile=percentile)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        out[finite] = 0.0
        return out
    norm = np.clip((arr[finite] - lo) / (hi - lo), 0.0, 1.0)
    out[finite] = np.clip(_stretch_object(stretch, a)(norm, clip=True), 0.0, 1.0)
    return out


def to_rgba_uint8(data, *, stretch: str = "asinh", limits="zscale", percentile: float = 99.5,
                  a: float | None = None, cmap=None) -> np.ndarray:
    """Stretch an image and turn it into RGBA bytes for display.

    Parameters
    ----------
    data : array_like of shape (ny, nx)
    stretch, limits, percentile, a
        See :func:`stretch_image`.
    cmap : None, str, callable or array of shape (m, 3) or (m, 4)
        None: grey scale. A name: a matplotlib colormap (matplotlib is imported only then).
        A callable mapping [0, 1] floats to RGBA floats, or a lookup table: floats in
        [0, 1], or uint8 RGBA bytes of shape (m, 4) used as they are (the fast path of
        :func:`workbench.labeling.render.to_rgba`). A value ``v`` takes the nearest entry,
        ``floor(v * (m - 1) + 0.5)``.

    Returns
    -------
    ndarray of uint8, shape (ny, nx, 4)
        Non-finite input pixels are fully transparent.
    """
    v = stretch_image(data, stretch=stretch, limits=limits, percentile=percentile, a=a)
    return _colourize(v, cmap)


def stack_to_rgba_uint8(stack, *, stretch: str = "asinh", limits="zscale",
                        percentile: float = 99.5, a: float | None = None,
                        cmap=None) -> np.ndarray:
    """:func:`to_rgba_uint8` of each image of a stack ``(n, ny, nx)`` -> ``(n, ny, nx, 4)``,
    each with its own limits (:func:`stretch_stack`); equal, byte for byte, to converting the
    images one by one."""
    v = stretch_stack(stack, stretch=stretch, limits=limits, percentile=percentile, a=a)
    return _colourize(v, cmap)


def _colourize(v: np.ndarray, cmap) -> np.ndarray:
    """RGBA bytes of display values ``v`` in [0, 1] (NaN: transparent); ``cmap`` as in
    :func:`to_rgba_uint8`."""
    nan = ~np.isfinite(v)
    v = np.where(nan, 0.0, v)
    if isinstance(cmap, np.ndarray) and cmap.dtype == np.uint8:
        if cmap.ndim != 2 or cmap.shape[1] != 4 or not len(cmap):
            raise ValueError(f"a uint8 lookup-table cmap must have shape (m, 4), got "
                             f"{cmap.shape}")
        out = cmap[_lut_index(v, len(cmap))]
        out[nan, 3] = 0
        return out
    if cmap is None:
        g = v[..., None]
        rgba = np.concatenate([g, g, g, np.ones_like(g)], axis=-1)
    else:
        if isinstance(cmap, str):
            import matplotlib  # only when a named colormap is asked for

            cmap = matplotlib.colormaps[cmap]
        if callable(cmap):
            rgba = np.asarray(cmap(v), dtype=np.float64)
        else:
            lut = np.asarray(cmap, dtype=np.float64)
            if lut.ndim != 2 or lut.shape[1] not in (3, 4):
                raise ValueError(f"a lookup-table cmap must have shape (m, 3) or (m, 4), got "
                                 f"{lut.shape}")
            rgba = lut[_lut_index(v, len(lut))]
        if rgba.shape[-1] == 3:
            rgba = np.concatenate([rgba, np.ones((*rgba.shape[:-1], 1))], axis=-1)
    out = np.clip(np.rint(rgba * 255.0), 0, 255).astype(np.uint8)
    out[nan, 3] = 0
    return out


def _lut_index(v: np.ndarray, m: int) -> np.ndarray:
    """Nearest lookup-table entry of values ``v`` in [0, 1] (halves round up)."""
    return np.clip((v * (m - 1) + 0.5).astype(np.intp), 0, m - 1)
