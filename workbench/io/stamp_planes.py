"""Reading the band planes of stamp files (see :mod:`workbench.io.ingest_stamps` for the
layouts): one FITS file -> its (object, band, image) planes, and the band and object a
file name gives."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.bands import FILTER_KEYS, band_or_none, resolve_band
from workbench.core.errors import FITSError, InputError
from workbench.io.fits import to_float32
from workbench.io.fits_open import card_value, open_fits
from workbench.io.ingest_fits import _stem
from workbench.io.lens_challenge import challenge_name

__all__ = ["read_band_planes", "band_from_filename"]

_SEP = re.compile(r"[_\-.]")


@dataclass
class _Plane:
    obj: str
    band: str
    data: np.ndarray  # (ny, nx) float32
    header: object
    path: str
    hdu: int
    layout: str

    @property
    def where(self) -> str:
        return f"{self.path}[{self.hdu}]" if self.layout != "file-per-band" else self.path


def band_from_filename(path) -> tuple[str | None, str]:
    """``(band, object)`` from a file name such as ``obj12_g.fits`` (band None if none).

    The last (or else the first) part of the name split at ``_``, ``-`` or ``.`` is tried as
    a band; the object is the rest of the name, or the parent folder's name when the file
    name is the band alone (``obj12/g.fits``).
    """
    p = Path(str(path))
    stem = _stem(p.name)
    hit = challenge_name(stem)  # imageSDSS_R-100002, imageEUC_VIS-200013
    if hit is not None:
        return hit
    parts = [t for t in _SEP.split(stem) if t]
    if len(parts) == 1:
        b = band_or_none(parts[0])
        if b is not None:
            return b.name, p.parent.name or stem
        return None, stem
    for pos in (-1, 0):
        b = band_or_none(parts[pos])
        if b is not None:
            if pos == -1:
                rest = stem[: stem.rfind(parts[-1])]
            else:
                rest = stem[len(parts[0]):]
            return b.name, rest.strip("_-.") or stem
    return None, stem


def _header_band(*headers) -> tuple[str | None, str | None]:
    """(canonical band or None, the raw value) from the first FILTER-like key present."""
    for h in headers:
        if h is None:
            continue
        for key in FILTER_KEYS:
            if str(card_value(h, key, "")).strip():
                raw = str(card_value(h, key)).strip()
                b = band_or_none(raw)
                return (b.name if b else None), raw
    return None, None


def _squeeze(data: np.ndarray) -> np.ndarray:
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    return data


def _cube_band_names(n: int, *headers) -> list[str] | None:
    for h in headers:
        if h is None:
            continue
        if card_value(h, "BANDS") is not None:
            text = str(card_value(h, "BANDS")).strip()
            names = [t.strip() for t in re.split(r"[,\s]+", text) if t.strip()]
            if len(names) == 1 and len(text) == n:
                names = list(text)  # Legacy Survey cutouts: BANDS = 'grz'
            if len(names) == n:
                return names
        for prefix in ("BAND", "FILTER"):
            for first in (1, 0):  # FITS plane order, or 0-based (BAND0 = 'g' in Legacy Survey)
                keys = [f"{prefix}{i}" for i in range(first, first + n)]
                if all(card_value(h, k) is not None for k in keys):
                    return [str(card_value(h, k)).strip() for k in keys]
    return None


# One band's image with its companion planes (HSC/LSST: IMAGE, MASK, VARIANCE; DES and HST
# style: SCI with WHT/ERR/DQ): the science plane is the band, the others are not bands.
_SCIENCE_EXT = {"IMAGE", "SCI", "SCIENCE", "DATA", "FLUX"}
_COMPANION_EXT = {"MASK", "MSK", "BPM", "DQ", "VARIANCE", "VAR", "WEIGHT", "WHT", "WGT", "INVVAR",
                  "IVAR", "ERR", "ERROR", "SIGMA", "RMS", "NOISE", "PSF", "EXP", "EXPMAP"}


def _science_only(hdus: list) -> list:
    """Keep only the science HDU of a one-band file with mask/variance companions."""
    names = [str(card_value(hdr, "EXTNAME", "")).strip().upper() for _, hdr, _ in hdus]
    sci = [k for k, n in enumerate(names) if n in _SCIENCE_EXT]
    if len(hdus) > 1 and len(sci) == 1 and all(
            n in _COMPANION_EXT for k, n in enumerate(names) if k != sci[0]):
        return [hdus[sci[0]]]
    return hdus


def read_band_planes(path) -> list[_Plane]:
    """Every (object, band) image plane of one FITS file.

    Raises
    ------
    FITSError
        Unreadable, truncated or corrupt file (any failure of astropy's), a header claiming
        more data than the file holds, no image, a cube without band names.
    InputError
        A band that cannot be told or is not a known band.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_fits(path) as ff:  # every failure in here is a FITSError naming the file
            path = ff.path
            hdus = []
            for i, h in enumerate(ff.hdul):
                naxis = card_value(h.header, "NAXIS", 0)
                if not getattr(h, "is_image", False) or not isinstance(naxis, int) or naxis < 2:
                    continue
                if ff.data_bytes(i) == 0:
                    continue
                data = ff.read_data(i)
                hdus.append((i, h.header, to_float32(np.asarray(data), h.header)))
            primary = ff.hdul[0].header
    if not hdus:
        raise FITSError("has no image HDU (no HDU with NAXIS >= 2)", path=path)
    name_band, name_obj = band_from_filename(path)
    obj_hdr = str(card_value(primary, "OBJECT", "")).strip() or None

    hdus = _science_only(hdus)
    if len(hdus) > 1:  # multi-extension: one band per HDU
        planes = []
        obj = obj_hdr or _stem(path.name)
        for i, hdr, data in hdus:
            data = _squeeze(data)
            if data.ndim != 2:
                raise FITSError(f"HDU {i} has {data.ndim} dimensions; a multi-extension stamp "
                                "file needs one 2-D band per HDU", path=path)
            raw = str(hdr.get("EXTNAME", "")).strip()
            b = band_or_none(raw) if raw else None
            if b is None:
                hb, hraw = _header_band(hdr)
                if hb is None and (hraw or raw):
                    resolve_band(hraw or raw, path=f"{path}[{i}]")  # raises: unknown band
                if hb is None:
                    raise InputError(f"HDU {i} does not name its band", path=path,
                                     hint="set EXTNAME or FILTER to the band (g, r, i, ...)")
                band = hb
            else:
                band = b.name
            planes.append(_Plane(obj, band, data, hdr, str(path), i, "multi-extension"))
        return planes

    i, hdr, data = hdus[0]
    data = _squeeze(data)
    if data.ndim == 3:  # cube with a band axis
        names = _cube_band_names(data.shape[0], hdr, primary)
        if names is None:
            raise FITSError(f"is a cube of {data.shape[0]} planes without band names",
                            path=path, hint="add header keys BAND1..BANDn (or BANDS='g,r,i') "
                            "naming the planes in order")
        obj = obj_hdr or _stem(path.name)
        return [_Plane(obj, resolve_band(n, path=path).name, data[k], hdr, str(path), i, "cube")
                for k, n in enumerate(names)]
    if data.ndim != 2:
        raise FITSError(f"image has {data.ndim} dimensions after dropping length-1 axes",
                        path=path)
    hb, hraw = _header_band(hdr, primary)
    if name_band is not None:
        if hb is not None and hb != name_band:
            raise InputError(f"file name says band {name_band} but the header says {hraw!r}",
                             path=path, hint="rename the file or fix its FILTER key")
        return [_Plane(name_obj, name_band, data, hdr, str(path), i, "file-per-band")]
    if hb is None:
        if hraw is not None:
            resolve_band(hraw, path=path)  # raises with the known names
        raise InputError("cannot tell which band this file holds", path=path,
                         hint="put the band in the file name (obj_g.fits) or a FILTER/BAND "
                         "header key")
    return [_Plane(obj_hdr or _stem(path.name), hb, data, hdr, str(path), i, "file-per-band")]
