"""Item kinds known to the workbench and the catalog columns every Collection has."""

from __future__ import annotations

__all__ = ["KINDS", "BASE_COLUMNS", "RADIO", "TRANSIENT", "LENS", "IMAGE"]

RADIO = "radio"  #: a radio continuum cutout (optionally with an infrared/optical host channel)
TRANSIENT = "transient"  #: a single-pulse candidate: DM-time and frequency-time images
LENS = "lens"  #: a strong-lens candidate: multi-band optical stamps
IMAGE = "image"  #: any other image

KINDS = (RADIO, TRANSIENT, LENS, IMAGE)

#: Columns every catalog holds, with their pandas dtypes. ``ra``/``dec`` are ICRS degrees
#: (NaN where unknown), ``pixscale_arcsec`` the pixel size (NaN where unknown).
BASE_COLUMNS = {
    "id": "string",
    "kind": "string",
    "ra": "float64",
    "dec": "float64",
    "pixscale_arcsec": "float64",
    "source_file": "string",
    "source_hdu": "Int64",
}
