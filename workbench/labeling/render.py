"""Pure image rendering: arrays in, RGBA bytes and overlay geometry out.

Everything here is a plain function of numpy arrays (no widget state, no widget library), so
the notebook views, the Gallery, the Labeler and the served labeling page draw the same way
and the tests can check the numbers. (``workbench.widgets.render`` re-exports this module.)

Display convention: images are shown with the first row at the **bottom** (``origin="lower"``,
north up for sky maps, DM or frequency increasing upwards). Every coordinate returned for
drawing (contour vertices, beam centre, ...) is in *display pixels*: ``x`` to the right from
the left edge, ``y`` downwards from the top edge, in units of image pixels, so the centre of
array element ``[row, col]`` of an image with ``ny`` rows is at ``(col + 0.5, ny - row - 0.5)``.
:func:`display_to_array` converts a click back to ``(row, col)``.

matplotlib (colour maps), contourpy (contours) and PIL (PNG) are imported where used.
"""

from __future__ import annotations

import io

import numpy as np

from workbench.core.cache import BoundedCache
from workbench.imaging.stretch import LIMITS, STRETCHES, to_rgba_uint8

__all__ = [
    "STRETCHES", "LIMITS", "colormap_lut", "COLORMAP_LUTS", "to_rgba", "encode_png",
    "robust_sigma", "contour_levels", "contour_lines", "pack_lines",
    "beam_polygon", "scale_bar", "display_to_array", "array_to_display",
    "component_outlines", "sky_transform", "panel",
]


# --------------------------------------------------------------------------- stretch + colour
# One stretch API: :mod:`workbench.imaging.stretch` (``STRETCHES`` and ``LIMITS`` are its
# names, re-exported; limits and stretching are its functions).

#: Colour-map lookup tables made by :func:`colormap_lut`, by name: at most 32 (1 kB each),
#: for the life of the process (matplotlib's colour maps do not change).
COLORMAP_LUTS = BoundedCache(32, name="colour-map lookup tables")


def colormap_lut(name: str = "inferno") -> np.ndarray:
    """A matplotlib colour map as a lookup table, array of shape (256, 4) uint8 RGBA
    (read-only; kept in :data:`COLORMAP_LUTS`)."""
    def make():
        import matplotlib

        try:
            cmap = matplotlib.colormaps[name]
        except KeyError as exc:
            raise ValueError(f"unknown colour map {name!r}; try 'inferno', 'viridis', "
                             f"'gray', 'magma', 'cubehelix'") from exc
        lut = (cmap(np.linspace(0.0, 1.0, 256)) * 255.0 + 0.5).astype(np.uint8)
        lut.setflags(write=False)
        return lut

    return COLORMAP_LUTS.get_or_make(name, make)


def to_rgba(data: np.ndarray, *, stretch: str = "linear", limits="percentile",
            cmap: str = "inferno", nan_rgba=(0, 0, 0, 0)) -> np.ndarray:
    """Render a 2-D image to display RGBA:
    :func:`workbench.imaging.stretch.to_rgba_uint8` with the colour map's lookup table,
    flipped for display.

    Parameters
    ----------
    data : array of shape (ny, nx)
    stretch : one of :data:`STRETCHES`
    limits : one of :data:`LIMITS` (``"zscale"``, ``"percentile"``: the central 99.5 per cent,
        ``"minmax"``) or ``(vmin, vmax)``
        As in :func:`workbench.imaging.stretch.stretch_image`.
    cmap : str
        matplotlib colour map name.
    nan_rgba : 4 ints
        Colour of non-finite pixels.

    Returns
    -------
    ndarray of uint8, shape (ny, nx, 4), flipped so that row 0 of the result is the top of
    the display (the last row of ``data``).
    """
    if stretch not in STRETCHES:
        raise ValueError(f"stretch must be one of {STRETCHES}, not {stretch!r}")
    lim = tuple(limits) if not isinstance(limits, str) else limits
    rgba = to_rgba_uint8(data, stretch=stretch, limits=lim, cmap=colormap_lut(cmap))
    nan = ~np.isfinite(np.asarray(data))
    if nan.any():
        rgba[nan] = nan_rgba
    return np.ascontiguousarray(rgba[::-1])


def rgb_to_rgba(rgb: np.ndarray) -> np.ndarray:
    """An RGB image (ny, nx, 3) in [0, 1] float or uint8 -> display RGBA (ny, nx, 4) uint8,
    flipped like :func:`to_rgba`."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        rgb = (np.clip(np.nan_to_num(rgb), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    out = np.empty((*rgb.shape[:2], 4), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = 255
    return np.ascontiguousarray(out[::-1])


def encode_png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an RGBA (ny, nx, 4) uint8 image (fast compression)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba, dtype=np.uint8), "RGBA").save(
        buf, format="PNG", compress_level=1)
    return buf.getvalue()


# --------------------------------------------------------------------------- contours
def robust_sigma(data: np.ndarray) -> float:
    """Noise estimate: 1.4826 x the median absolute deviation of the finite pixels."""
    v = np.asarray(data, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    med = np.median(v)
    return float(1.4826 * np.median(np.abs(v - med)))


def contour_levels(data: np.ndarray, *, nsigma: float = 3.0, factor: float = 2.0,
                   max_levels: int = 8, sigma: float | None = None) -> np.ndarray:
    """Contour levels at ``nsigma x sigma x factor**k`` (k = 0, 1, ...) up to the peak.

    ``sigma`` defaults to :func:`robust_sigma` of ``data``. Returns an empty array when the
    image has no pixel above the first level (or no noise estimate).
    """
    sigma = robust_sigma(data) if sigma is None else float(sigma)
    peak = np.nanmax(data) if np.isfinite(data).any() else np.nan
    if not (np.isfinite(sigma) and sigma > 0 and np.isfinite(peak)):
        return np.zeros(0)
    levels = nsigma * sigma * float(factor) ** np.arange(max_levels)
    return levels[levels < peak]


def contour_lines(data: np.ndarray, levels) -> list[tuple[int, np.ndarray]]:
    """Contour polylines of ``data`` at ``levels``, in display pixel coordinates.

    Returns
    -------
    list of (level_index, array of shape (m, 2) float32 with columns x, y)
    """
    levels = np.atleast_1d(np.asarray(levels, dtype=np.float64))
    if levels.size == 0:
        return []
    import contourpy

    z = np.asarray(data, np.float64)
    ny = z.shape[0]
    if not np.isfinite(z).all():
        z = np.ma.masked_invalid(z)
    gen = contourpy.contour_generator(z=z, line_type=contourpy.LineType.Separate)
    out = []
    for k, lev in enumerate(levels):
        for line in gen.lines(float(lev)):
            if len(line) < 2:
                continue
            xy = np.empty((len(line), 2), np.float32)
            xy[:, 0] = line[:, 0] + 0.5
            xy[:, 1] = ny - line[:, 1] - 0.5
            out.append((k, xy))
    return out


def pack_lines(lines: list[tuple[int, np.ndarray]]) -> dict:
    """Pack polylines for the browser: ``{"xy": float32 bytes (x0,y0,x1,y1,...),
    "starts": int32 bytes (first vertex of each line, plus the total), "tags": int32 bytes}``."""
    if not lines:
        return {"xy": b"", "starts": np.zeros(1, np.int32).tobytes(), "tags": b"", "n": 0}
    tags = np.array([t for t, _ in lines], np.int32)
    lens = np.array([len(xy) for _, xy in lines], np.int32)
    starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    xy = np.concatenate([xy for _, xy in lines]).astype(np.float32)
    return {"xy": xy.tobytes(), "starts": starts.tobytes(), "tags": tags.tobytes(),
            "n": int(len(lines))}


def component_outlines(labels: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Outlines of every component of an integer label map (0 = background).

    Returns a list of ``(component_id, polyline)`` in display pixel coordinates.
    """
    from scipy import ndimage

    lab = np.nan_to_num(np.asarray(labels), nan=0).astype(np.int64)
    ny = lab.shape[0]
    out = []
    for k, sl in enumerate(ndimage.find_objects(lab)):
        if sl is None:
            continue
        cid = k + 1
        r0, c0 = sl[0].start, sl[1].start
        mask = np.pad((lab[sl] == cid).astype(np.float64), 1)
        for _, xy in contour_lines(mask, [0.5]):
            xy = xy.copy()
            # crop (padded) display coords -> full display coords
            xy[:, 0] += c0 - 1.0
            xy[:, 1] += (ny - (r0 - 1 + mask.shape[0]))
            out.append((cid, xy))
    return out


def display_to_array(x: float, y: float, shape: tuple[int, int]) -> tuple[int, int]:
    """Display pixel coordinates -> array index ``(row, col)`` (clipped into the image)."""
    ny, nx = shape
    col = int(np.clip(np.floor(x), 0, nx - 1))
    row = int(np.clip(ny - 1 - np.floor(y), 0, ny - 1))
    return row, col


def array_to_display(row: float, col: float, shape: tuple[int, int]) -> tuple[float, float]:
    """Array index ``(row, col)`` (pixel centre) -> display pixel coordinates ``(x, y)``."""
    ny, _ = shape
    return float(col) + 0.5, float(ny) - float(row) - 0.5


# --------------------------------------------------------------------------- beam, scale, sky
def beam_polygon(bmaj_arcsec: float, bmin_arcsec: float, bpa_deg: float,
                 pixscale_arcsec: float, shape: tuple[int, int], *, n: int = 48,
                 margin: float = 3.0) -> np.ndarray:
    """The restoring beam as an ellipse polygon in the lower-left corner (display pixels).

    ``bmaj``/``bmin`` are FWHM in arcsec, ``bpa`` the position angle east of north in deg.
    Returns an array of shape (n, 2) float32 (x, y).
    """
    a = 0.5 * float(bmaj_arcsec) / float(pixscale_arcsec)
    b = 0.5 * float(bmin_arcsec) / float(pixscale_arcsec)
    ny, _ = shape
    cx, cy = margin + a, ny - margin - a
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    # PA east of north: north is up (-y on screen), east is left (-x) on the sky
    pa = np.deg2rad(bpa_deg)
    u, v = b * np.cos(t), a * np.sin(t)  # u across, v along the major axis
    x = cx - (u * np.cos(pa) + v * np.sin(pa))
    y = cy - (-u * np.sin(pa) + v * np.cos(pa))
    return np.stack([x, y], axis=1).astype(np.float32)


def scale_bar(pixscale_arcsec: float, nx: int) -> dict | None:
    """A round-numbered scale bar of about a quarter of the image width.

    Returns ``{"px": length in display pixels, "label": "30″"}`` or None when the pixel
    scale is unknown.
    """
    if not (pixscale_arcsec and np.isfinite(pixscale_arcsec) and pixscale_arcsec > 0):
        return None
    target = 0.25 * nx * pixscale_arcsec
    nice = np.array([1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200])
    arcsec = float(nice[nice <= max(target, 1)].max()) if (nice <= target).any() else 1.0
    label = f"{arcsec / 60:g}′" if arcsec >= 60 and arcsec < 3600 else (
        f"{arcsec / 3600:g}°" if arcsec >= 3600 else f"{arcsec:g}″")
    return {"px": arcsec / pixscale_arcsec, "label": label}


def sky_transform(wcs, shape: tuple[int, int]) -> dict | None:
    """A gnomonic (TAN) description of a celestial WCS in display pixels, for the browser
    to turn the pointer position into RA/Dec: ``{"crpix": [x, y], "crval": [ra, dec],
    "cd": [[a, b], [c, d]]}`` (deg per display pixel; display y runs downwards)."""
    if wcs is None:
        return None
    try:
        # a 2-D WCS whose axes are (longitude, latitude) is its own celestial part:
        # ``.celestial`` would build a second WCS (about a millisecond) to equal it
        plain = wcs.naxis == 2 and (wcs.wcs.lng, wcs.wcs.lat) == (0, 1)
        w = wcs if plain else wcs.celestial
        cd = np.asarray(w.pixel_scale_matrix, float)
        crpix = np.asarray(w.wcs.crpix, float)  # 1-based FITS pixel
        crval = np.asarray(w.wcs.crval, float)
    except Exception:  # noqa: BLE001 - any odd WCS: no pointer coordinates
        return None
    ny, _ = shape
    # array col = X - 1 (0-based), display x = col + 0.5; display y = ny - row - 0.5
    x0 = crpix[0] - 1 + 0.5
    y0 = ny - (crpix[1] - 1) - 0.5
    # d(world)/d(display): dy_display = -d(row)
    m = cd @ np.diag([1.0, -1.0])
    return {"crpix": [float(x0), float(y0)], "crval": [float(crval[0]), float(crval[1])],
            "cd": m.tolist()}


# --------------------------------------------------------------------------- panel spec
def panel(rgba: np.ndarray, *, title: str = "", x_axis: dict | None = None,
          y_axis: dict | None = None, lines: list | None = None, levels=None,
          beam: np.ndarray | None = None, bar: dict | None = None, sky: dict | None = None,
          info: list[str] | None = None) -> dict:
    """One drawable panel for the browser (see ``_draw.js``): raw RGBA bytes, size, axes,
    contour polylines, beam polygon, scale bar, sky transform and info lines (all text is
    drawn with ``textContent`` / canvas text, never parsed as HTML)."""
    h, w = rgba.shape[:2]
    spec = {"w": int(w), "h": int(h), "rgba": np.ascontiguousarray(rgba).tobytes(),
            "title": str(title), "x": x_axis, "y": y_axis, "info": [str(s) for s in info or []]}
    if lines is not None:
        spec["contours"] = pack_lines(lines)
        spec["levels"] = [float(v) for v in (levels if levels is not None else [])]
    if beam is not None:
        spec["beam"] = np.asarray(beam, np.float32).ravel().tolist()
    if bar is not None:
        spec["scalebar"] = bar
    if sky is not None:
        spec["sky"] = sky
    return spec
