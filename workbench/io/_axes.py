"""Per-item descriptions of the physical axes of an image product.

Two kinds are stored (as JSON strings, one per item and product):

``{"type": "wcs", "header": "<FITS header text of a 2-D celestial WCS>"}``
    A sky map. Expanded to ``{"wcs": astropy WCS, "ra": (ny, nx) deg, "dec": (ny, nx) deg,
    "pixscale_arcsec": float}``.
``{"type": "linear", "axes": [ROWS, COLUMNS]}``, each ``{"name", "unit", "start", "step"}``
    or ``{"name", "unit", "values": [...]}``. A regular grid such as DM-time (rows: DM in
    pc cm^-3, columns: time in s). Expanded to ``{ROWS.name: array (ny,), COLUMNS.name:
    array (nx,), "units": {name: unit}}`` plus any extra keys given in ``"extra"``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

__all__ = ["dumps", "loads", "expand", "linear", "sky"]


def linear(rows: dict, columns: dict, **extra) -> dict:
    """A linear-axes descriptor; ``rows``/``columns`` are ``{"name","unit","start","step"}``."""
    d = {"type": "linear", "axes": [dict(rows), dict(columns)]}
    if extra:
        d["extra"] = extra
    return d


def sky(header) -> dict:
    """A sky descriptor from an astropy WCS or header (only the celestial part is kept)."""
    from astropy.wcs import WCS

    w = header if isinstance(header, WCS) else WCS(header)
    return {"type": "wcs", "header": w.celestial.to_header().tostring()}


def dumps(desc) -> str | None:
    return None if desc is None else json.dumps(desc, default=float)


def loads(text):
    return None if text is None else json.loads(text)


def _axis_values(ax: dict, n: int) -> np.ndarray:
    if "values" in ax:
        return np.asarray(ax["values"], dtype=np.float64)
    return float(ax["start"]) + float(ax["step"]) * np.arange(n)


def expand(desc: dict | None, shape: tuple[int, int]) -> dict | None:
    """Turn a stored descriptor into coordinates for a pixel grid of ``shape=(ny, nx)``."""
    if desc is None:
        return None
    ny, nx = shape
    if desc["type"] == "linear":
        rows, cols = desc["axes"]
        out = {rows["name"]: _axis_values(rows, ny), cols["name"]: _axis_values(cols, nx),
               "units": {rows["name"]: rows.get("unit", ""), cols["name"]: cols.get("unit", "")}}
        out.update(desc.get("extra", {}))
        return out
    if desc["type"] == "wcs":
        from astropy.io import fits
        from astropy.wcs import WCS, FITSFixedWarning
        from astropy.wcs.utils import proj_plane_pixel_scales

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            w = WCS(fits.Header.fromstring(desc["header"]))
        yy, xx = np.mgrid[0:ny, 0:nx]
        ra, dec = w.all_pix2world(xx, yy, 0)
        scale = float(np.mean(proj_plane_pixel_scales(w)) * 3600.0)
        return {"wcs": w, "ra": ra, "dec": dec, "pixscale_arcsec": scale}
    raise ValueError(f"unknown axes descriptor type {desc['type']!r}")
