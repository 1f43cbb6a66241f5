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
from collections.abc import Mapping

import numpy as np

__all__ = ["dumps", "loads", "expand", "linear", "sky", "SkyAxes"]


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
        return SkyAxes(desc["header"], shape)
    raise ValueError(f"unknown axes descriptor type {desc['type']!r}")


class SkyAxes(Mapping):
    """Sky coordinates of a map's pixel grid, computed on first use.

    Keys: ``"wcs"`` (astropy WCS), ``"ra"`` and ``"dec"`` (ICRS degrees, arrays of shape
    ``(ny, nx)``), ``"pixscale_arcsec"``. Building the WCS and the coordinate grids costs
    milliseconds, so nothing is computed until a key is read.
    """

    _KEYS = ("wcs", "ra", "dec", "pixscale_arcsec")

    def __init__(self, header: str, shape: tuple[int, int]):
        self._header, self._shape, self._cache = header, tuple(shape), {}

    def __getitem__(self, key):
        if key not in self._KEYS:
            raise KeyError(key)
        if key not in self._cache:
            self._compute(key)
        return self._cache[key]

    def __iter__(self):
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)

    def __repr__(self) -> str:
        return f"SkyAxes(shape={self._shape}, keys={list(self._KEYS)})"

    def _compute(self, key) -> None:
        if "wcs" not in self._cache:
            from astropy.io import fits
            from astropy.wcs import WCS, FITSFixedWarning
            from astropy.wcs.utils import proj_plane_pixel_scales

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                w = WCS(fits.Header.fromstring(self._header))
            self._cache["wcs"] = w
            self._cache["pixscale_arcsec"] = float(np.mean(proj_plane_pixel_scales(w)) * 3600.0)
        if key in ("ra", "dec"):
            ny, nx = self._shape
            yy, xx = np.mgrid[0:ny, 0:nx]
            self._cache["ra"], self._cache["dec"] = self._cache["wcs"].all_pix2world(xx, yy, 0)
