"""Reading source catalogues (CSV, FITS tables, VOTable, Parquet) and finding RA/Dec.

Catalogues may come from anyone, so a file that cannot be read as what its suffix says is a
one-line :class:`~workbench.errors.CatalogError` naming it. Limits: a FITS table's header
sizes are checked against the file before its rows are read
(:mod:`workbench.io.fits_open`); a VOTable cell may hold at most
:data:`MAX_VOTABLE_ARRAYSIZE` elements and may not point at another file or URL
(``STREAM href``); a text table may not hold NUL bytes; a catalogue needs at least one row.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CatalogError, WorkbenchError
from workbench.io.fits_open import open_fits, short_reason

__all__ = ["read_table", "find_radec", "sky_positions", "FILE_COLUMNS", "MAX_VOTABLE_ARRAYSIZE"]

#: Most elements one VOTable cell may declare (FIELD/PARAM ``arraysize``, all dimensions).
MAX_VOTABLE_ARRAYSIZE = 65536
_ARRAYSIZE = re.compile(rb"""arraysize\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_HREF = re.compile(rb"<\s*(?:\w+:)?STREAM\b[^>]*\bhref\s*=", re.IGNORECASE)

# ``*_cont``: ASKAP Selavy component/island catalogues (RACS, EMU, VAST).
_RA_NAMES = ("ra", "ra_deg", "radeg", "raj2000", "ra_j2000", "_raj2000", "ra_icrs", "alpha_j2000",
             "ra_d", "right_ascension", "ra_deg_cont", "ra_hms", "ra_str", "ra_hms_cont")
_DEC_NAMES = ("dec", "dec_deg", "decdeg", "dej2000", "decj2000", "dec_j2000", "_dej2000", "de_icrs",
              "dec_icrs", "delta_j2000", "dec_d", "declination", "dec_deg_cont", "dec_dms",
              "dec_str", "dec_dms_cont")
#: Column names (case-insensitive) that name an item's file in a catalogue.
FILE_COLUMNS = ("file", "filename", "file_name", "fits", "fits_file", "path", "image", "name")


def read_table(path) -> pd.DataFrame:
    """Read a catalogue: ``.csv``/``.tsv``/``.txt``, ``.parquet``, FITS table, VOTable ``.xml``/``.vot``.

    Raises
    ------
    CatalogError
        Missing, empty, corrupt or unreadable file, a table without rows, or one beyond the
        limits in the module docstring; always one line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError("no such catalogue file", path=path)
    if path.stat().st_size == 0:
        raise CatalogError("catalogue file is empty", path=path)
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif suffix in (".fits", ".fit", ".fts", ".fits.gz"):
            df = _read_fits_table(path)
        elif suffix in (".vot", ".xml", ".votable"):
            _check_votable(path)
            df = _astropy_table(path, "votable")
        else:
            _check_text(path)
            if suffix in (".csv", ".csv.gz"):
                df = pd.read_csv(path, comment="#", skipinitialspace=True)
            elif suffix in (".tsv", ".tsv.gz"):
                df = pd.read_csv(path, sep="\t", comment="#", skipinitialspace=True)
            else:  # anything else: let the sniffer find the delimiter (commas, tabs, spaces)
                df = pd.read_csv(path, sep=None, engine="python", comment="#",
                                 skipinitialspace=True)
    except WorkbenchError as exc:
        if isinstance(exc, CatalogError):
            raise
        raise CatalogError(exc.reason, path=path, hint=exc.hint) from exc
    except Exception as exc:
        raise CatalogError(f"cannot read catalogue ({short_reason(exc)})", path=path,
                           hint="is it the format its name says, and complete?") from exc
    if len(df) == 0:
        raise CatalogError("catalogue has no rows", path=path)
    return df


def _check_text(path: Path) -> None:
    """A text table holds no NUL bytes (a zeroed or binary file read as CSV gives nonsense)."""
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as fh:
        while chunk := fh.read(2**20):
            if b"\0" in chunk:
                raise CatalogError("is not a text table (it holds NUL bytes: zeroed or binary)",
                                   path=path, hint="is it the format its name says?")


def _check_votable(path: Path) -> None:
    """Refuse cells declaring more than MAX_VOTABLE_ARRAYSIZE elements and STREAM hrefs,
    scanning the raw text in chunks before astropy parses it."""
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(2**20):
            text = tail + chunk
            if _HREF.search(text):
                raise CatalogError("VOTable points at another file or URL (STREAM href)",
                                   path=path, hint="embed the data (TABLEDATA or BINARY)")
            for m in _ARRAYSIZE.finditer(text):
                n = 1
                for part in m.group(1).decode("ascii", "replace").split("x"):
                    part = part.strip().rstrip("*")
                    n *= int(part) if part.isdigit() else 1
                if n > MAX_VOTABLE_ARRAYSIZE:
                    raise CatalogError(f"VOTable declares a cell of {n} elements (arraysize="
                                       f"{m.group(1).decode('ascii', 'replace')[:30]!r}), more "
                                       f"than the {MAX_VOTABLE_ARRAYSIZE} allowed", path=path)
            tail = text[-256:]


def _read_fits_table(path: Path) -> pd.DataFrame:
    """The first table HDU of a FITS file, its sizes checked against the file first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's header complaints: the error says it all
        return _first_fits_table(path)


def _first_fits_table(path: Path) -> pd.DataFrame:
    from astropy.io import fits

    with open_fits(path, error=CatalogError) as ff:
        idx = next((i for i, h in enumerate(ff.hdul)
                    if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
        if idx is None:
            raise CatalogError("has no table HDU (or it is truncated)", path=path,
                               hint="is it an image? pass a FITS table")
        ff.data_bytes(idx)
        return _astropy_table(ff.hdul[idx], "fits")


def _astropy_table(source, fmt: str) -> pd.DataFrame:
    from astropy.table import Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = Table.read(source, format=fmt)
    names = [n for n in t.colnames if len(t[n].shape) <= 1]
    df = t[names].to_pandas()
    for c in df.columns:  # FITS/VOTable text columns arrive as bytes
        if df[c].dtype == object and len(df) and isinstance(df[c].iloc[0], bytes):
            df[c] = df[c].map(lambda b: b.decode("utf-8", "replace").strip()
                              if isinstance(b, bytes) else b)
    return df


def find_radec(df: pd.DataFrame, path=None) -> tuple[str, str]:
    """Names of the RA and Dec columns of a catalogue (common spellings, any case)."""
    lower = {c.lower().strip(): c for c in df.columns}
    ra = next((lower[n] for n in _RA_NAMES if n in lower), None)
    dec = next((lower[n] for n in _DEC_NAMES if n in lower), None)
    if ra is None or dec is None:
        cols = [str(c)[:40] for c in df.columns[:20]] + (["..."] if len(df.columns) > 20 else [])
        raise CatalogError(
            f"has no RA/Dec columns (columns: {cols})", path=path,
            hint="name them ra/dec (degrees or sexagesimal strings), RAJ2000/DEJ2000 or ra_deg/dec_deg")
    return ra, dec


def sky_positions(df: pd.DataFrame, path=None) -> tuple[np.ndarray, np.ndarray]:
    """ICRS RA and Dec in degrees for every row (degrees, or sexagesimal strings)."""
    ra_c, dec_c = find_radec(df, path)
    ra, dec = df[ra_c], df[dec_c]
    if ra.dtype.kind in "fi" and dec.dtype.kind in "fi":
        return ra.to_numpy(np.float64), dec.to_numpy(np.float64)
    ra_num = pd.to_numeric(ra, errors="coerce")
    dec_num = pd.to_numeric(dec, errors="coerce")
    if ra_num.notna().all() and dec_num.notna().all():
        return ra_num.to_numpy(np.float64), dec_num.to_numpy(np.float64)
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    try:
        c = SkyCoord(ra.astype(str).to_numpy(), dec.astype(str).to_numpy(),
                     unit=(u.hourangle, u.deg))
    except Exception as exc:
        raise CatalogError(f"RA/Dec columns {ra_c!r}/{dec_c!r} are neither degrees nor "
                           f"sexagesimal ({short_reason(exc)})", path=path) from exc
    return c.ra.deg, c.dec.deg
