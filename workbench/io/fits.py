"""Reading 2-D images out of FITS files the way they come from real surveys.

Handles gzip and tile-compressed HDUs, BSCALE/BZERO and BLANK, radio cubes whose FREQ/STOKES
axes have length 1, broken or missing WCS (warn, no sky position) and non-standard header
cards (tolerated). Anything unusable raises :class:`~workbench.errors.FITSError` naming the
file and what to do. Sizes a header claims are checked against the file before any data is
read (:mod:`workbench.io.fits_open`, which documents the limits); WCS cards that are not
finite numbers, a zero or implausible (>= 180 deg) pixel size, or a latitude outside
[-90, 90] give a note and no sky position rather than a wrong one (:func:`wcs_problems`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from workbench.core.errors import FITSError
from workbench.io.fits_open import UNPARSABLE, card_value, open_fits, require_file

__all__ = ["FitsImage", "read_fits_image", "require_file", "sky_from_header", "fit_to_shape",
           "pick_image_hdu", "squeeze_to_2d", "wcs_header", "wcs_problems", "beam_from_header",
           "to_float32"]


@dataclass
class FitsImage:
    """A 2-D image read from a FITS file.

    Attributes
    ----------
    data : ndarray, float32, shape (ny, nx)
        Pixel values with blanks as NaN (physical units after BSCALE/BZERO).
    header : astropy.io.fits.Header
    hdu : int
        Index of the HDU the image came from.
    wcs : astropy.wcs.WCS or None
        The celestial WCS, or None where it is missing or broken.
    ra, dec : float
        Sky position (ICRS deg) of the image centre, NaN without a WCS.
    pixscale_arcsec : float
        Mean pixel scale, NaN without a WCS.
    notes : list of str
        Problems that were tolerated (non-standard cards, broken WCS, ...).
    """

    data: np.ndarray
    header: object
    hdu: int
    path: str
    wcs: object = None
    ra: float = float("nan")
    dec: float = float("nan")
    pixscale_arcsec: float = float("nan")
    bunit: str = ""
    notes: list = field(default_factory=list)


_DEGENERATE_OK = ("FREQ", "STOKES", "VRAD", "VOPT", "FELO", "VELO", "ZOPT", "WAVE", "")


def _axis_names(header, naxis: int) -> list[str]:
    """CTYPE of FITS axes 1..naxis, upper-case, without the projection part."""
    return [str(card_value(header, f"CTYPE{i}", "")).split("-")[0].strip().upper()
            for i in range(1, naxis + 1)]


def _naxis(header) -> int:
    v = card_value(header, "NAXIS", 0)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def pick_image_hdu(hdul, path, hdu):
    """``(index, hdu)`` of HDU ``hdu``, or of the first image HDU with NAXIS >= 2; judged
    from the headers alone (no data is read)."""
    if hdu is not None:
        try:
            h = hdul[hdu]
        except (IndexError, KeyError) as exc:
            raise FITSError(f"has no HDU {hdu!r} (it has {len(hdul)})", path=path) from exc
        n = _naxis(h.header)
        if (not getattr(h, "is_image", False) or n < 2
                or any(card_value(h.header, f"NAXIS{i}", 0) == 0 for i in range(1, n + 1))):
            raise FITSError(f"HDU {hdu!r} holds no image", path=path)
        return hdul.index_of(hdu) if not isinstance(hdu, int) else hdu, h
    for i, h in enumerate(hdul):
        if getattr(h, "is_image", False) and _naxis(h.header) >= 2:
            return i, h
    raise FITSError("has no image HDU (no HDU with NAXIS >= 2)", path=path,
                    hint="is it a table? pass a file that holds an image")


def squeeze_to_2d(data: np.ndarray, header, path, channel) -> np.ndarray:
    """Drop length-1 axes (FREQ/STOKES planes); choose a plane of a real cube by ``channel``."""
    naxis = data.ndim
    names = _axis_names(header, naxis)[::-1]  # numpy order: last FITS axis first
    if naxis == 2:
        return data
    extra = [(i, n, data.shape[i]) for i, n in enumerate(names[: naxis - 2])]
    big = [(i, n, s) for i, n, s in extra if s > 1]
    if not big:
        return data.reshape(data.shape[-2:])
    if channel is None:
        desc = ", ".join(f"{n or 'axis ' + str(naxis - i)} (length {s})" for i, n, s in big)
        ctypes = ", ".join(n or "?" for n in _axis_names(header, naxis))
        raise FITSError(f"has {naxis} axes ({ctypes}) with non-degenerate {desc}",
                        path=path, hint="pass channel= (CLI: --channel) to choose which plane")
    if len(big) > 1:
        raise FITSError(f"has {len(big)} non-degenerate non-spatial axes; only one plane "
                        "axis can be chosen with channel=", path=path)
    i, name, size = big[0]
    if not 0 <= channel < size:
        raise FITSError(f"channel {channel} out of range: {name or 'the cube axis'} has "
                        f"{size} planes", path=path)
    idx = [0] * (naxis - 2)
    idx[i] = channel
    return data[tuple(idx)]


_WCS_KEY = re.compile(
    r"^(NAXIS\d*|WCSAXES|CTYPE\d+|CRVAL\d+|CRPIX\d+|CDELT\d+|CROTA\d+|CUNIT\d+|CD\d+_\d+|"
    r"PC\d+_\d+|PV\d+_\d+|PS\d+_\d+|RADESYS|RADECSYS|EQUINOX|EPOCH|LONPOLE|LATPOLE|MJD-OBS|"
    r"DATE-OBS|RESTFRQ|RESTFREQ|SPECSYS)$")


def wcs_header(header):
    """The WCS keywords of ``header`` only, as a new Header, plus a note if any card of the
    original is non-standard (e.g. commentary cards with tab characters).

    Real survey headers carry hundreds of history cards; astropy re-validates every card
    when a WCS is built from the full header, which is both slow and noisy.
    """
    from astropy.io import fits

    out = fits.Header()
    odd = False
    for card in header.cards:
        try:
            key, value = card.keyword, card.value
        except Exception:  # corrupt bytes: astropy cannot parse the card (VerifyError)
            odd = True
            continue
        if key in ("COMMENT", "HISTORY", ""):
            if isinstance(value, str) and not value.isprintable():
                odd = True
            continue
        if _WCS_KEY.match(key):
            try:
                out[key] = value
            except (ValueError, TypeError):
                odd = True
    return out, odd


_CELESTIAL = ("RA", "DEC", "GLON", "GLAT", "ELON", "ELAT", "SLON", "SLAT", "HPLN", "HPLT")
_LATITUDE = ("DEC", "GLAT", "ELAT", "SLAT", "HPLT")
#: Largest plausible |CDELT| or |CDi_j| of a celestial axis, in degrees.
MAX_PIXEL_DEG = 180.0


def wcs_problems(header) -> list[str]:
    """Why the celestial WCS cards of ``header`` cannot give a true sky position (empty if
    they can, or if there is no celestial pair of axes).

    wcslib silently ignores a card whose value is not a number (and uses its default, e.g.
    CDELT = 1 deg), so the cards are checked here first: CRVAL and CRPIX of both celestial
    axes present, finite numbers; either a CD matrix (finite, non-singular, every element
    under :data:`MAX_PIXEL_DEG`) or CDELT (finite, non-zero, under :data:`MAX_PIXEL_DEG`)
    with finite PC/CROTA; the latitude's CRVAL within [-90, 90]; finite LONPOLE, LATPOLE
    and PV cards of those axes.
    """
    n = card_value(header, "WCSAXES", None)
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 99:
        n = min(max(_naxis(header), 2), 99)
    names = _axis_names(header, n)
    sky = [i + 1 for i, name in enumerate(names) if name in _CELESTIAL]
    if len(sky) != 2:
        return []
    problems: list[str] = []

    def num(key, required=True):
        v = card_value(header, key, None, raw=True)
        if v is None:
            if required:
                problems.append(f"missing WCS card {key}")
            return None
        if v is UNPARSABLE:
            problems.append(f"invalid WCS card {key} (unparsable value)")
        elif isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            problems.append(f"invalid WCS card {key} (not a number: {str(v)[:40]!r})")
        elif not np.isfinite(v):
            problems.append(f"invalid WCS card {key} (not finite: {v})")
        else:
            return float(v)
        return None

    lat = next((i for i in sky if names[i - 1] in _LATITUDE), sky[1])
    for i in sky:
        crval = num(f"CRVAL{i}")
        num(f"CRPIX{i}")
        if i == lat and crval is not None and not -90.0 <= crval <= 90.0:
            problems.append(f"invalid WCS card CRVAL{i} (latitude {crval} outside [-90, 90])")
    cd_keys = [f"CD{i}_{j}" for i in sky for j in sky]
    if any(card_value(header, k, None, raw=True) is not None for k in cd_keys):
        cd = [num(k, required=False) for k in cd_keys]
        if all(v is not None or card_value(header, k, None, raw=True) is None
               for k, v in zip(cd_keys, cd)):
            a, b, c, d = (v or 0.0 for v in cd)
            if a * d - b * c == 0:
                problems.append("invalid WCS cards CD (singular matrix: no pixel scale)")
            elif max(abs(a), abs(b), abs(c), abs(d)) >= MAX_PIXEL_DEG:
                problems.append(f"invalid WCS cards CD (implausible pixel size "
                                f">= {MAX_PIXEL_DEG:g} deg)")
    else:
        for i in sky:
            cdelt = num(f"CDELT{i}")
            if cdelt == 0:
                problems.append(f"invalid WCS card CDELT{i} (zero)")
            elif cdelt is not None and abs(cdelt) >= MAX_PIXEL_DEG:
                problems.append(f"invalid WCS card CDELT{i} (implausible pixel size "
                                f"{cdelt:g} deg)")
            num(f"CROTA{i}", required=False)
        for i in sky:
            for j in sky:
                num(f"PC{i}_{j}", required=False)
    for key in ("LONPOLE", "LATPOLE"):
        num(key, required=False)
    for i in sky:
        for m in range(0, 10):
            num(f"PV{i}_{m}", required=False)
    return list(dict.fromkeys(problems))


def _celestial_wcs(hdr):
    """The celestial part of a WCS. If the full WCS cannot be set up (e.g. a degenerate FREQ
    or STOKES axis with CDELT = 0 makes the matrix singular), build it from the two
    celestial axes alone."""
    from astropy.wcs import WCS, FITSFixedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            w = WCS(hdr, naxis=None)
            w.wcs.set()
            return w.celestial
        except Exception:
            n = int(hdr.get("NAXIS", hdr.get("WCSAXES", 2)) or 2)
            sky = [i for i in range(1, n + 1)
                   if str(hdr.get(f"CTYPE{i}", "")).split("-")[0].upper() in _CELESTIAL]
            if len(sky) != 2:
                raise
            return WCS(hdr, naxis=sky)


def sky_from_header(header, shape, notes: list | None = None, path=None):
    """Celestial WCS, centre (ra, dec) in deg and pixel scale in arcsec, or Nones/NaN.

    A missing or broken WCS is noted (in ``notes``) and gives no sky position, and so do
    WCS cards that cannot give a true one (:func:`wcs_problems`).
    """
    from astropy.wcs.utils import proj_plane_pixel_scales

    notes = notes if notes is not None else []
    nan = float("nan")
    problems = wcs_problems(header)
    if problems:
        notes.extend(f"{p}: no sky position" for p in problems)
        return None, nan, nan, nan
    try:
        w = _celestial_wcs(wcs_header(header)[0])
        if not w.has_celestial or w.naxis != 2:
            notes.append("no celestial WCS: no sky position")
            return None, nan, nan, nan
        ny, nx = shape
        ra, dec = w.all_pix2world([(nx - 1) / 2.0], [(ny - 1) / 2.0], 0)
        scale = float(np.mean(np.abs(proj_plane_pixel_scales(w))) * 3600.0)
        ra, dec = float(ra[0]), float(dec[0])
        if not (np.isfinite(ra) and np.isfinite(dec) and np.isfinite(scale) and scale > 0):
            notes.append("WCS gives no finite sky position: no sky position")
            return None, nan, nan, nan
        return w, ra % 360.0, dec, scale
    except Exception as exc:  # astropy raises many types for broken keywords
        notes.append(f"broken WCS ({type(exc).__name__}: {exc}): no sky position")
        return None, nan, nan, nan


def read_fits_image(path, *, hdu=None, channel: int | None = None,
                    allow_constant: bool = False) -> FitsImage:
    """Read one 2-D image from a FITS file.

    Parameters
    ----------
    path : path-like
        ``.fits``, ``.fits.gz``, ``.fz`` or any FITS file.
    hdu : int or str, optional
        Which HDU; by default the first HDU holding an image (tile-compressed included).
    channel : int, optional
        Plane of a cube whose third axis has length > 1.
    allow_constant : bool
        Accept an image whose finite pixels all have one value.

    Raises
    ------
    FITSError
        Empty, truncated or corrupt file (any failure of astropy or of a decompressor),
        a header claiming more data than the file holds (see
        :mod:`workbench.io.fits_open` for the limits), no image HDU, ambiguous cube,
        all-NaN or constant image.
    """
    from astropy.io.fits.verify import VerifyWarning

    path = require_file(path)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_fits(path) as ff:  # every failure in here is a FITSError naming the file
            idx, h = pick_image_hdu(ff.hdul, path, hdu)
            header = h.header
            raw = ff.read_data(idx)
            if raw is None:
                raise FITSError(f"HDU {idx} has no data", path=path)
            raw = np.asarray(raw)
    _, odd_cards = wcs_header(header)
    if odd_cards:
        notes.append("non-standard header cards (tolerated)")
    for w in caught:
        if issubclass(w.category, VerifyWarning):
            if not any("non-standard" in n for n in notes):
                notes.append("non-standard header cards (tolerated)")
        if "truncated" in str(w.message).lower():
            raise FITSError("is truncated (shorter than its header says)", path=path,
                            hint="download or copy it again")
    if raw.size == 0 or 0 in raw.shape:
        raise FITSError(f"image has zero size (shape {raw.shape})", path=path)
    data = squeeze_to_2d(to_float32(raw, header), header, path, channel)
    if data.ndim != 2:
        raise FITSError(f"image has {data.ndim} dimensions after dropping length-1 axes",
                        path=path)
    finite = np.isfinite(data)  # +-inf are NaN already (to_float32)
    if not finite.any():
        raise FITSError("image is all NaN/blank", path=path, hint="nothing to show; remove it")
    if not allow_constant:
        vals = data[finite]
        if vals.min() == vals.max():
            raise FITSError(f"image is constant (every pixel = {vals.min():g})", path=path,
                            hint="nothing to show; remove it")
    wcs, ra, dec, scale = sky_from_header(header, data.shape, notes, path)
    return FitsImage(data=np.ascontiguousarray(data, dtype=np.float32), header=header, hdu=idx,
                     path=str(path), wcs=wcs, ra=ra, dec=dec, pixscale_arcsec=scale,
                     bunit=str(card_value(header, "BUNIT", "")), notes=notes)


def to_float32(raw: np.ndarray, header) -> np.ndarray:
    """Pixel values as float32 with blanks as NaN: ``BLANK`` in integer images (a ``BLANK``
    that is not a whole number is ignored), and +-inf (some pipelines write it for masked
    pixels)."""
    if raw.dtype.kind in "iu":
        data = raw.astype(np.float32)
        blank = card_value(header, "BLANK")
        if isinstance(blank, (int, np.integer)) and not isinstance(blank, bool):
            data[raw == blank] = np.nan
        return data
    data = raw.astype(np.float32, copy=False)
    bad = np.isinf(data)
    return np.where(bad, np.float32(np.nan), data) if bad.any() else data


_AIPS_BEAM = re.compile(r"BMAJ\s*=\s*([-+0-9.EeDd]+)\s+BMIN\s*=\s*([-+0-9.EeDd]+)"
                        r"(?:\s+BPA\s*=\s*([-+0-9.EeDd]+))?")


def beam_from_header(header) -> tuple[float, float, float]:
    """The restoring beam of a radio image: ``(bmaj, bmin, bpa)``.

    ``bmaj``/``bmin`` are FWHM in arcsec and ``bpa`` the position angle in deg east of
    north, from the ``BMAJ``/``BMIN``/``BPA`` cards (deg), or else from the last AIPS
    ``HISTORY ... CLEAN BMAJ= ... BMIN= ... BPA= ...`` card. NaN where the header has no
    (valid) beam.
    """
    nan = float("nan")

    def num(v):
        try:
            v = float(str(v).replace("D", "E").replace("d", "e"))
        except (TypeError, ValueError):
            return nan
        return v if np.isfinite(v) else nan

    bmaj, bmin, bpa = (num(card_value(header, k, nan)) for k in ("BMAJ", "BMIN", "BPA"))
    if not bmaj > 0:
        hist = [str(c) for c in card_value(header, "HISTORY", [])]
        for line in reversed(hist):
            m = _AIPS_BEAM.search(line)
            if m:
                bmaj, bmin = num(m.group(1)), num(m.group(2))
                bpa = num(m.group(3)) if m.group(3) else 0.0
                break
    if not bmaj > 0:
        return nan, nan, nan
    bmin = bmin if bmin > 0 else bmaj
    return bmaj * 3600.0, bmin * 3600.0, (bpa if np.isfinite(bpa) else 0.0)


def fit_to_shape(data: np.ndarray, shape: tuple[int, int], wcs=None):
    """Centre-crop and/or NaN-pad ``data`` to ``shape``; shift the WCS reference pixel to match.

    Returns ``(array, wcs, action)`` with action one of ``"none"``, ``"crop"``, ``"pad"``,
    ``"crop+pad"``.
    """
    ny, nx = data.shape
    ty, tx = shape
    out = np.full((ty, tx), np.nan, np.float32)
    # offset of the source's (0,0) in the target grid, per axis (negative: crop)
    oy, ox = (ty - ny) // 2, (tx - nx) // 2
    sy0, sx0 = max(0, -oy), max(0, -ox)
    dy0, dx0 = max(0, oy), max(0, ox)
    h, w = min(ny - sy0, ty - dy0), min(nx - sx0, tx - dx0)
    out[dy0:dy0 + h, dx0:dx0 + w] = data[sy0:sy0 + h, sx0:sx0 + w]
    actions = []
    if ny > ty or nx > tx:
        actions.append("crop")
    if ny < ty or nx < tx:
        actions.append("pad")
    if wcs is not None and (oy or ox):
        wcs = wcs.deepcopy()
        wcs.wcs.crpix = [wcs.wcs.crpix[0] + ox, wcs.wcs.crpix[1] + oy]
    return out, wcs, "+".join(actions) or "none"
