"""Reading source catalogues (CSV, FITS tables, VOTable, Parquet) and finding RA/Dec.

Besides plain tables, three layouts of radio source finders are recognised by content:

* **PyBDSF ASCII/CSV source and Gaussian lists** (``write_catalog(format="ascii"|"csv")``,
  ``.srl``/``.gaul``): a few ``#`` comment lines, then the column names on a line that
  begins with ``# `` (``# Source_id Isl_id RA E_RA DEC E_DEC Total_flux ...``), then the
  rows (space- or comma-separated). A text table whose first data line is all numbers and
  whose last comment line names as many columns is read with those names.
* **PyBDSF/LoTSS FITS tables** (``Source_id``/``Source_Name``, ``RA``, ``DEC``, ...) are
  plain FITS tables.
* **The Radio Galaxy Zoo pipeline's flat CSV** (``static_rgz_flat*.csv``: dotted names
  ``radio.ra``, ``radio.dec``, ``consensus.ir_ra``, ``component.peak_ras`` ...): ``-99``
  (number or text) means missing and becomes NaN/None; per-component values stay
  ``;``-joined text, split by :func:`rgz_components` into one row per component, whose
  count must match ``radio.number_components``. The source position is
  ``radio.ra``/``radio.dec``; the infrared host is ``consensus.ir_ra``/``consensus.ir_dec``.

:func:`find_id_column` picks the identifier column (``Source_Name``, ``Source_id``,
``rgz_name``, ``catalog_id``, ``zooniverse_id``, ... : the first that is complete and unique).

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

__all__ = ["read_table", "find_radec", "sky_positions", "find_id_column", "rgz_components",
           "FILE_COLUMNS", "ID_COLUMNS", "MAX_VOTABLE_ARRAYSIZE"]

#: Most elements one VOTable cell may declare (FIELD/PARAM ``arraysize``, all dimensions).
MAX_VOTABLE_ARRAYSIZE = 65536
_ARRAYSIZE = re.compile(rb"""arraysize\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_HREF = re.compile(rb"<\s*(?:\w+:)?STREAM\b[^>]*\bhref\s*=", re.IGNORECASE)

# ``*_cont``: ASKAP Selavy component/island catalogues (RACS, EMU, VAST).
_RA_NAMES = ("ra", "radio.ra", "ra_deg", "radeg", "raj2000", "ra_j2000", "_raj2000", "ra_icrs", "alpha_j2000",
             "ra_d", "right_ascension", "ra_deg_cont", "ra_hms", "ra_str", "ra_hms_cont")
_DEC_NAMES = ("dec", "radio.dec", "dec_deg", "decdeg", "dej2000", "decj2000", "dec_j2000", "_dej2000", "de_icrs",
              "dec_icrs", "delta_j2000", "dec_d", "declination", "dec_deg_cont", "dec_dms",
              "dec_str", "dec_dms_cont")
#: Column names (case-insensitive) that name an item's file in a catalogue.
FILE_COLUMNS = ("file", "filename", "file_name", "fits", "fits_file", "path", "image", "name")
#: Identifier column names (case-insensitive), in order of preference: PyBDSF/LoTSS
#: (``Source_Name``, ``Source_id``, ``Gaus_id``), RGZ (``rgz_name``, ``catalog_id``,
#: ``zooniverse_id``), Selavy (``island_id``, ``component_id``) and generic names.
ID_COLUMNS = ("id", "source_name", "source_id", "rgz_name", "catalog_id", "zooniverse_id",
              "name", "island_id", "component_id", "gaus_id")
#: The RGZ flat CSV's missing value.
RGZ_MISSING = -99
#: Most lines read to find a commented header line (PyBDSF writes four or five).
_MAX_HEADER_LINES = 200


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
            commented = _commented_header(path)
            if commented is not None:
                names, sep, skip = commented
                df = pd.read_csv(path, sep=sep, names=names, skiprows=skip, comment="#",
                                 skipinitialspace=True, engine="python" if sep != "," else "c",
                                 index_col=False)
                if len(df) and df.iloc[:, -1].isna().any():
                    _check_field_counts(path, len(names), sep)
            elif suffix in (".csv", ".csv.gz"):
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
    if _is_rgz(df):
        df = _rgz_missing(df)
    return df


def _open_text(path: Path):
    import gzip

    return gzip.open(path, "rt", errors="replace") if path.suffix.lower() == ".gz" else \
        open(path, errors="replace")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.lower() in ("nan", "inf", "-inf")
    return True


def _commented_header(path: Path):
    """``(names, sep, lines to skip)`` when the column names sit on the last ``#`` line
    before an all-number first data line (PyBDSF's ASCII/CSV lists), else None."""
    last_comment, n = None, 0
    with _open_text(path) as fh:
        for n, line in enumerate(fh):
            if n >= _MAX_HEADER_LINES:
                return None
            text = line.strip()
            if not text:
                continue
            if text.startswith("#"):
                last_comment = text.lstrip("#").strip()
                continue
            break
        else:
            return None
    if not last_comment:
        return None
    sep = "," if "," in text else None
    fields = [f.strip() for f in (text.split(",") if sep else text.split())]
    names = [f.strip() for f in (last_comment.split(",") if sep else last_comment.split())]
    if len(fields) != len(names) or len(names) < 2 or not any(map(_is_number, fields[:3])):
        return None
    if any(_is_number(nm) or not nm for nm in names) or len(set(names)) != len(names):
        return None
    return names, ("," if sep else r"\s+"), n


def _check_field_counts(path: Path, n: int, sep: str) -> None:
    """A commented-header table's short rows come back NaN-filled: find the first one."""
    with _open_text(path) as fh:
        for k, line in enumerate(fh, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            got = len(text.split(",")) if sep == "," else len(text.split())
            if got != n:
                raise CatalogError(f"line {k} has {got} fields, the header line names {n}",
                                   path=path, hint="is the file complete?")


def _is_rgz(df: pd.DataFrame) -> bool:
    cols = {str(c).lower() for c in df.columns}
    return "radio.ra" in cols and "radio.dec" in cols


def _rgz_missing(df: pd.DataFrame) -> pd.DataFrame:
    """The RGZ flat CSV's ``-99`` (number or text) -> NaN / None."""
    df = df.copy()
    for c in df.columns:
        col = df[c]
        if col.dtype.kind in "fi":
            if (col == RGZ_MISSING).any():
                df[c] = col.astype(np.float64).where(col != RGZ_MISSING)
        elif col.dtype == object or pd.api.types.is_string_dtype(col):
            miss = col.astype(str).str.strip().isin({"-99", "-99.0"})
            if miss.any():
                df[c] = col.where(~miss, None)
            num = pd.to_numeric(df[c], errors="coerce")
            if num.notna().sum() == df[c].notna().sum() and df[c].notna().any():
                df[c] = num.astype(np.float64)
    return df


def rgz_components(df: pd.DataFrame, path=None) -> pd.DataFrame:
    """One row per radio component of an RGZ flat catalogue: ``row`` (the source's row),
    ``component`` (0, 1, ...) and each ``component.*`` column's value (the ``;``-joined
    text split and read as numbers; missing stays NaN).

    Raises
    ------
    CatalogError
        A value that is not a number, or a source whose lists have a different length than
        ``radio.number_components`` (or than each other); the message names the column and
        the row.
    """
    comp_cols = [c for c in df.columns if str(c).lower().startswith("component.")]
    if not comp_cols:
        raise CatalogError("has no RGZ component columns (component.peak_ras, ...)", path=path)
    lower = {str(c).lower(): c for c in df.columns}
    ncol = lower.get("radio.number_components")
    out = []
    for i in range(len(df)):
        lists = {}
        for c in comp_cols:
            v = df[c].iloc[i]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            parts = [p.strip() for p in str(v).split(";")]
            try:
                vals = [np.nan if p in ("", "-99", "-99.0") else float(p) for p in parts]
            except ValueError:
                raise CatalogError(f"column {c!r}, row {i}: {str(v)[:60]!r} is not a "
                                   f"';'-joined list of numbers", path=path) from None
            lists[c] = vals
        lens = {len(v) for v in lists.values()}
        want = None
        if ncol is not None and pd.notna(df[ncol].iloc[i]):
            want = int(df[ncol].iloc[i])
        if len(lens) > 1 or (want is not None and lens and lens != {want}):
            raise CatalogError(f"row {i}: the component lists have {sorted(lens)} values but "
                               f"radio.number_components says {want}", path=path)
        n = lens.pop() if lens else 0
        for k in range(n):
            out.append({"row": i, "component": k, **{c: lists[c][k] for c in lists}})
    cols = ["row", "component", *comp_cols]
    return pd.DataFrame(out, columns=cols)


def find_id_column(df: pd.DataFrame) -> str | None:
    """The identifier column of a catalogue: the first of :data:`ID_COLUMNS` (any case)
    whose values are all present and distinct; None if there is none."""
    lower = {str(c).lower(): c for c in df.columns}
    for name in ID_COLUMNS:
        c = lower.get(name)
        if c is not None and df[c].notna().all() and not df[c].astype(str).duplicated().any():
            return c
    return None


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
