"""Reading source catalogues (CSV, FITS tables, VOTable, Parquet) and finding RA/Dec."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CatalogError

__all__ = ["read_table", "find_radec", "sky_positions", "FILE_COLUMNS"]

# ``*_cont``: ASKAP Selavy component/island catalogues (RACS, EMU, VAST).
_RA_NAMES = ("ra", "ra_deg", "radeg", "raj2000", "ra_j2000", "_raj2000", "ra_icrs", "alpha_j2000",
             "ra_d", "right_ascension", "ra_deg_cont", "ra_hms", "ra_str", "ra_hms_cont")
_DEC_NAMES = ("dec", "dec_deg", "decdeg", "dej2000", "decj2000", "dec_j2000", "_dej2000", "de_icrs",
              "dec_icrs", "delta_j2000", "dec_d", "declination", "dec_deg_cont", "dec_dms",
              "dec_str", "dec_dms_cont")
#: Column names (case-insensitive) that name an item's file in a catalogue.
FILE_COLUMNS = ("file", "filename", "file_name", "fits", "fits_file", "path", "image", "name")


def read_table(path) -> pd.DataFrame:
    """Read a catalogue: ``.csv``/``.tsv``/``.txt``, ``.parquet``, FITS table, VOTable ``.xml``/``.vot``."""
    path = Path(path)
    if not path.exists():
        raise CatalogError("no such catalogue file", path=path)
    if path.stat().st_size == 0:
        raise CatalogError("catalogue file is empty", path=path)
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".fits", ".fit", ".fts", ".fits.gz") or suffix in (".vot", ".xml", ".votable"):
            from astropy.table import Table

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fmt = "fits" if "fit" in suffix else "votable"
                t = Table.read(path, format=fmt)
            names = [n for n in t.colnames if len(t[n].shape) <= 1]
            df = t[names].to_pandas()
            for c in df.columns:  # FITS/VOTable text columns arrive as bytes
                if df[c].dtype == object and len(df) and isinstance(df[c].iloc[0], bytes):
                    df[c] = df[c].map(lambda b: b.decode("utf-8", "replace").strip()
                                      if isinstance(b, bytes) else b)
            return df
        if suffix in (".csv", ".csv.gz"):
            return pd.read_csv(path, comment="#", skipinitialspace=True)
        if suffix in (".tsv", ".tsv.gz"):
            return pd.read_csv(path, sep="\t", comment="#", skipinitialspace=True)
        # anything else: let the sniffer find the delimiter (commas, tabs, spaces)
        return pd.read_csv(path, sep=None, engine="python", comment="#", skipinitialspace=True)
    except CatalogError:
        raise
    except Exception as exc:
        raise CatalogError(f"cannot read catalogue ({type(exc).__name__}: {exc})", path=path) from exc


def find_radec(df: pd.DataFrame, path=None) -> tuple[str, str]:
    """Names of the RA and Dec columns of a catalogue (common spellings, any case)."""
    lower = {c.lower().strip(): c for c in df.columns}
    ra = next((lower[n] for n in _RA_NAMES if n in lower), None)
    dec = next((lower[n] for n in _DEC_NAMES if n in lower), None)
    if ra is None or dec is None:
        raise CatalogError(
            f"has no RA/Dec columns (columns: {list(df.columns)})", path=path,
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
                           f"sexagesimal ({exc})", path=path) from exc
    return c.ra.deg, c.dec.deg
