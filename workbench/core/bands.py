"""Photometric bands: names, aliases and effective wavelengths.

Multi-band stamps are stored with their bands ordered by wavelength (blue first), so a
colour composite can map the reddest band to red without being told. Band names come from
file names (``obj12_g.fits``) or FITS header keys (``FILTER``, ``BAND``, ...), written in many
ways (``g``, ``SDSS_g``, ``HSC-G``, ``g DECam SDSS c0001 4720.0 1520.0``); :func:`resolve_band`
turns each into one canonical :class:`Band`.

Effective wavelengths are approximate (nm), good for ordering and for labels, not for
photometry: LSST/SDSS-like ugrizy, 2MASS/VISTA JHK, Euclid VIS and NISP Y/J/H, WISE W1/W2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.core.errors import InputError

__all__ = ["Band", "BANDS", "resolve_band", "band_or_none", "sort_bands", "band_names",
           "FILTER_KEYS"]

#: Header keywords that may name the band of an image, in the order they are tried.
FILTER_KEYS = ("FILTER", "BAND", "FILTNAM", "FILTER1", "FILTNAME", "PHOTFILT", "HIERARCH FILTER")


@dataclass(frozen=True)
class Band:
    """A photometric band.

    Attributes
    ----------
    name : str
        Canonical name (``"g"``, ``"J"``, ``"VIS"``, ``"Y_E"``).
    wavelength_nm : float
        Effective (pivot-like) wavelength in nm.
    system : str
        Where it comes from (``"ugrizy"``, ``"2MASS/VISTA"``, ``"Euclid"``, ``"WISE"``).
    aliases : tuple of str
        Other spellings (matched without regard to case).
    """

    name: str
    wavelength_nm: float
    system: str
    aliases: tuple[str, ...] = ()


_TABLE = (
    Band("u", 367.0, "ugrizy", ("u'", "sdss_u", "lsst_u", "cfht_u", "megacam_u", "u_sdss")),
    Band("g", 482.0, "ugrizy", ("g'", "sdss_g", "lsst_g", "des_g", "hsc_g", "hsc-g", "decam_g",
                                "ps1_g", "kids_g", "g_sdss")),
    Band("r", 622.0, "ugrizy", ("r'", "sdss_r", "lsst_r", "des_r", "hsc_r", "hsc-r", "hsc-r2",
                                "decam_r", "ps1_r", "kids_r", "r_sdss")),
    Band("i", 755.0, "ugrizy", ("i'", "sdss_i", "lsst_i", "des_i", "hsc_i", "hsc-i", "hsc-i2",
                                "decam_i", "ps1_i", "kids_i", "i_sdss")),
    Band("z", 869.0, "ugrizy", ("z'", "sdss_z", "lsst_z", "des_z", "hsc_z", "hsc-z", "decam_z",
                                "ps1_z", "z_sdss")),
    Band("y", 971.0, "ugrizy", ("lsst_y", "des_y", "hsc_y", "hsc-y", "decam_y", "ps1_y", "Y")),
    Band("J", 1250.0, "2MASS/VISTA", ("2mass_j", "vista_j", "ukidss_j")),
    Band("H", 1650.0, "2MASS/VISTA", ("2mass_h", "vista_h", "ukidss_h")),
    Band("K", 2160.0, "2MASS/VISTA", ("Ks", "2mass_ks", "2mass_k", "vista_ks", "ukidss_k")),
    Band("VIS", 715.0, "Euclid", ("euclid_vis", "vis_e", "i_e", "ie")),
    Band("Y_E", 1081.0, "Euclid", ("euclid_y", "nisp_y", "ye", "y_nisp")),
    Band("J_E", 1367.0, "Euclid", ("euclid_j", "nisp_j", "je", "j_nisp")),
    Band("H_E", 1771.0, "Euclid", ("euclid_h", "nisp_h", "he", "h_nisp")),
    Band("W1", 3368.0, "WISE", ("wise_w1", "wise1")),
    Band("W2", 4618.0, "WISE", ("wise_w2", "wise2")),
)

#: Canonical name -> :class:`Band`.
BANDS: dict[str, Band] = {b.name: b for b in _TABLE}

# Exact spellings first (so "y" and "J" keep their case meaning), then case-folded aliases.
_EXACT: dict[str, Band] = {}
_FOLDED: dict[str, Band] = {}
for _b in _TABLE:
    _EXACT[_b.name] = _b
    for _a in _b.aliases:
        _EXACT.setdefault(_a, _b)
for _b in _TABLE:
    for _a in (_b.name, *_b.aliases):
        _FOLDED.setdefault(_a.casefold(), _b)


def _lookup(text: str) -> Band | None:
    return _EXACT.get(text) or _FOLDED.get(text.casefold())


def band_or_none(text) -> Band | None:
    """The band ``text`` names, or None when it names none (never raises).

    Tries the whole string, its first word (DECam writes ``"g DECam SDSS c0001 ..."``) and
    the last part after a separator (``"SDSS_g"``, ``"CFHT.MegaCam.r"``).
    """
    if text is None:
        return None
    t = str(text).strip()
    if not t:
        return None
    hit = _lookup(t)
    if hit is not None:
        return hit
    first = t.split()[0]
    hit = _lookup(first)
    if hit is not None:
        return hit
    parts = [p for p in re.split(r"[\s_.:/\-]+", t) if p]
    if len(parts) > 1:
        for cand in (parts[-1], parts[0]):
            hit = _EXACT.get(cand)
            if hit is not None:
                return hit
    return None


def resolve_band(text, *, path=None) -> Band:
    """The canonical :class:`Band` named by ``text``.

    Raises
    ------
    InputError
        The name is not a known band; the message lists the known names.
    """
    hit = band_or_none(text)
    if hit is None:
        raise InputError(f"unknown band name {str(text)!r}", path=path,
                         hint=f"known bands: {', '.join(BANDS)}")
    return hit


def sort_bands(names) -> list[str]:
    """Canonical names of ``names`` ordered by effective wavelength (blue first), unique."""
    bands = {resolve_band(n).name: resolve_band(n) for n in names}
    return [b.name for b in sorted(bands.values(), key=lambda b: b.wavelength_nm)]


def band_names() -> list[str]:
    """All canonical band names, blue first."""
    return [b.name for b in sorted(_TABLE, key=lambda b: b.wavelength_nm)]
