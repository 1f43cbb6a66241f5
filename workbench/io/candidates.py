"""Read single-pulse candidate lists into one table: time (s), DM, width (s), S/N.

Accepted formats (detected from the file name and content):

Heimdall ``.cand`` (whitespace separated, no header)
    columns ``snr, sample, time_s, filter, dm_trial, dm, members, begin, end [, beam]``;
    the boxcar width is ``2**filter`` samples.
PRESTO ``.singlepulse`` (whitespace separated, ``#`` header)
    columns ``DM, Sigma, Time(s), Sample, Downfact``; the width is ``Downfact`` samples.
``your``'s ``cand.csv`` (recognised by its header: ``file, snr, stime, width, dm, label``,
    usually followed by ``chan_mask_path, num_files``)
    as ``your_candmaker.py`` reads it: ``stime`` in s, ``width`` as log2 of samples (whatever
    ``width_unit`` says), ``label`` (1/0) and ``file`` kept as columns (``file`` pairs rows with
    filterbanks, see :mod:`workbench.io.filterbank_pairs`; the path is never opened).
CSV / TSV with a header (TransientX exports, hand-made lists), names matched
    case-insensitively:

    - time: ``time_s``, ``tcand``, ``time``, ``stime``, ``t`` (s from the file start), or
      ``sample``/``sample_index`` (samples), or ``mjd`` (converted with the file's tstart);
    - DM: ``dm`` (pc cm^-3);
    - width: ``width_s`` (s), ``width_ms`` (ms), ``width_samples``/``boxcar``/``downfact``
      (samples), ``log2width``/``filter``/``boxcar_log2`` (log2 of samples, as Heimdall and
      ``your``), or ``width`` whose unit is given by ``width_unit`` (``"samples"`` by default,
      or ``"s"``, ``"ms"``, ``"log2"``); missing -> one sample;
    - S/N: ``snr``, ``sigma``, ``s/n``, ``det_snr`` (optional; NaN when absent).

Every other column is kept. Times are arrival times at the highest frequency of the band.
Rows that cannot be a real candidate are not dropped silently: they come back in
``rejected`` with a reason, so a batch can report them and go on. A row is rejected when its
time, DM or width is not a number, not finite (``inf``, or overflowing on conversion), the
DM is negative, the width is not positive, or a log2 width (Heimdall's ``filter``) is not a
whole number in ``0 .. 30`` (2**30 samples is already hours of data at any real sampling).
A file that cannot be parsed at all, or lacks a time or DM column, is a
:class:`~workbench.core.errors.FilterbankError` naming the file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import FilterbankError, InputError

__all__ = ["CandidateList", "read_candidates", "WIDTH_UNITS"]

WIDTH_UNITS = ("samples", "s", "ms", "log2")
_HEIMDALL = ["snr", "sample", "time_s", "filter", "dm_trial", "dm", "members", "begin", "end",
             "beam"]
_PRESTO = ["dm", "sigma", "time_s", "sample", "downfact"]
_TIME = ("time_s", "tcand", "time", "stime", "t", "time(s)")
_SAMPLE = ("sample", "sample_index", "isamp")
_SNR = ("snr", "sigma", "s/n", "det_snr")
MAX_LOG2_WIDTH = 30  # Heimdall filter numbers / log2 widths must be whole numbers 0 .. 30
_YOUR = {"file", "snr", "stime", "width", "dm", "label"}  # your's cand.csv header
_FIRST_LINE = 1 << 16  # bytes read to decide whether a .cand file has a header row
_WIDTH = {"width_s": "s", "width_ms": "ms", "width_samples": "samples", "boxcar": "samples",
          "downfact": "samples", "log2width": "log2", "filter": "log2", "boxcar_log2": "log2"}


@dataclass
class CandidateList:
    """Candidates read from a file.

    Attributes
    ----------
    table : DataFrame
        One row per usable candidate with ``time_s`` (s from file start), ``dm`` (pc cm^-3),
        ``width_s`` (s), ``snr``, ``row`` (line in the source table, 0-based) and every
        other column of the file.
    rejected : list of (row, reason)
        Rows that could not be used.
    path : str
    fmt : str
        ``"heimdall"``, ``"presto"``, ``"your"`` (a ``your`` cand.csv) or ``"csv"``.
    """

    table: pd.DataFrame
    rejected: list = field(default_factory=list)
    path: str = ""
    fmt: str = "csv"

    def __len__(self) -> int:
        return len(self.table)


def _load(path: Path) -> tuple[pd.DataFrame, str]:
    name = path.name.lower()
    try:
        if name.endswith((".cand", ".cands")) and _no_header(path):  # a header: CSV below
            df = pd.read_csv(path, sep=r"\s+", header=None, comment="#", dtype=str)
            df.columns = _HEIMDALL[: df.shape[1]] + [f"col{i}" for i in
                                                     range(len(_HEIMDALL), df.shape[1])]
            return df, "heimdall"
        if name.endswith(".singlepulse"):
            df = pd.read_csv(path, sep=r"\s+", header=None, comment="#", dtype=str)
            df.columns = _PRESTO[: df.shape[1]] + [f"col{i}" for i in
                                                   range(len(_PRESTO), df.shape[1])]
            return df, "presto"
        sep = "\t" if name.endswith((".tsv", ".tab")) else None
        df = pd.read_csv(path, sep=sep, engine="python", dtype=str, comment="#",
                         skipinitialspace=True)
        return df, "csv"
    except FileNotFoundError:
        raise FilterbankError("no such candidate file", path=path) from None
    except IsADirectoryError:
        raise FilterbankError("is a folder, not a candidate list", path=path) from None
    except pd.errors.EmptyDataError:
        raise FilterbankError("candidate list is empty", path=path,
                              hint="give at least one candidate (time_s,dm,width_s,snr)") from None
    except (ValueError, csv.Error) as exc:  # pandas' ParserError, UnicodeDecodeError, NUL bytes
        msg = " ".join(str(exc).split())[:200]
        raise FilterbankError(f"candidate list cannot be parsed ({msg})", path=path) from None
    except OSError as exc:
        raise FilterbankError(f"candidate list cannot be read ({exc.strerror or exc})",
                              path=path) from None


def _no_header(path: Path) -> bool:
    with open(path, "rb") as fh:
        first = fh.readline(_FIRST_LINE).split()
    try:
        [float(x) for x in first]
        return True
    except ValueError:
        return False


def read_candidates(path, *, tsamp: float | None = None, tstart: float | None = None,
                    width_unit: str = "samples") -> CandidateList:
    """Read a candidate list (see the module docstring for the formats and column names).

    Parameters
    ----------
    path : path-like or DataFrame
    tsamp : float, optional
        Sampling time of the filterbank, s; needed for widths or times in samples.
    tstart : float, optional
        MJD of the filterbank's first sample; needed for times given as ``mjd``.
    width_unit : {"samples", "s", "ms", "log2"}
        Unit of a column named plain ``width``.

    Raises
    ------
    FilterbankError
        The file is missing, empty, unparsable, lacks a time or DM column, or a column
        holds no numbers at all.
    """
    if width_unit not in WIDTH_UNITS:
        raise InputError(f"width_unit must be one of {WIDTH_UNITS}, not {width_unit!r}")
    if isinstance(path, pd.DataFrame):
        raw, fmt, src = path.astype(str), "csv", "<table>"
        raw.columns = [str(c) for c in raw.columns]
        if raw.columns.duplicated().any():
            dup = sorted(set(raw.columns[raw.columns.duplicated()]))
            raise FilterbankError(f"candidate table has duplicate column(s) {dup}", path=src)
    else:
        src = Path(path)
        raw, fmt = _load(src)
    if len(raw) == 0:
        raise FilterbankError("candidate list is empty", path=src,
                              hint="give at least one candidate (time_s,dm,width_s,snr)")
    lower = {str(c).strip().lower(): c for c in raw.columns}
    if fmt == "csv" and _YOUR <= set(lower):
        fmt, width_unit = "your", "log2"  # your_candmaker.py: width = 2**width samples

    def pick(names):
        return next((lower[n] for n in names if n in lower), None)

    def numeric(col):
        vals = pd.to_numeric(raw[col].str.strip(), errors="coerce")
        if vals.isna().all():
            raise FilterbankError(f"column {col!r} holds no numbers (e.g. {raw[col].iloc[0]!r})",
                                  path=src, hint="check the header and the separator")
        return vals.astype(np.float64)

    n = len(raw)
    out = pd.DataFrame(index=raw.index)
    used = set()
    if (c := pick(_TIME)) is not None:
        out["time_s"] = numeric(c)
    elif (c := pick(_SAMPLE)) is not None:
        if tsamp is None:
            raise FilterbankError("times are given in samples; the sampling time is needed",
                                  path=src)
        out["time_s"] = numeric(c) * tsamp
    elif (c := pick(("mjd",))) is not None:
        if tstart is None:
            raise FilterbankError("times are given as MJD; the file's tstart is needed", path=src)
        out["time_s"] = (numeric(c) - tstart) * 86400.0
    else:
        raise FilterbankError(f"candidate list has no time column (columns: {list(raw.columns)})",
                              path=src, hint=f"name it one of {list(_TIME)}")
    used.add(c)
    if (c := pick(("dm",))) is None:
        raise FilterbankError(f"candidate list has no DM column (columns: {list(raw.columns)})",
                              path=src, hint="name it 'dm' (pc cm^-3)")
    out["dm"] = numeric(c)
    used.add(c)
    log2_bad = pd.Series(False, index=raw.index)  # log2 widths outside 0..MAX_LOG2_WIDTH
    wcol = pick(list(_WIDTH))
    unit = _WIDTH.get(str(wcol).lower()) if wcol is not None else None
    if wcol is None and (wcol := pick(("width",))) is not None:
        unit = width_unit
    if wcol is None:
        out["width_s"] = np.nan if tsamp is None else tsamp
    else:
        w = numeric(wcol)
        used.add(wcol)
        if unit in ("samples", "log2") and tsamp is None:
            raise FilterbankError(f"widths are in {unit}; the sampling time is needed", path=src)
        if unit == "log2":  # out of range -> NaN here, rejected with its own reason below
            log2_ok = w.between(0, MAX_LOG2_WIDTH) & (w == np.round(w))
            log2_bad = w.notna() & ~log2_ok
            w = w.where(log2_ok)
        with np.errstate(over="ignore"):
            out["width_s"] = {"s": w, "ms": w * 1e-3, "samples": w * (tsamp or 0),
                              "log2": 2.0 ** w * (tsamp or 0)}[unit]
    c = pick(_SNR)
    out["snr"] = numeric(c) if c is not None else np.nan
    if c is not None:
        used.add(c)
    out["row"] = np.arange(n)
    for col in raw.columns:
        if col not in used and col not in out.columns:
            vals = pd.to_numeric(raw[col], errors="coerce")
            out[col] = vals if vals.notna().sum() == raw[col].notna().sum() else raw[col]
    rejected, drop = _reject(out, raw, log2_bad, wcol, check_width=tsamp is not None)
    table = out[~drop].reset_index(drop=True)
    return CandidateList(table=table, rejected=rejected, path=str(src), fmt=fmt)


def _reject(out: pd.DataFrame, raw: pd.DataFrame, log2_bad: pd.Series, wcol,
            *, check_width: bool) -> tuple[list, np.ndarray]:
    """The rows that cannot be candidates, each with its first problem; and their mask."""
    t, dm, w = (out[c].to_numpy(np.float64) for c in ("time_s", "dm", "width_s"))
    nan_w = np.isnan(w) & check_width & ~log2_bad.to_numpy()
    with np.errstate(invalid="ignore"):
        tests = [
            (np.isnan(t) | np.isnan(dm) | nan_w, "non-numeric time, DM or width"),
            (log2_bad.to_numpy(),
             f"log2 width (Heimdall filter) is not a whole number in 0..{MAX_LOG2_WIDTH}"),
            (np.isinf(t), "time is not finite"),
            (np.isinf(dm), "DM is not finite"),
            (np.isinf(w), "width is not finite"),
            (dm < 0, "negative DM"),
            (w <= 0, "width is not positive"),
        ]
    drop = np.zeros(len(out), bool)
    rejected = []
    for mask, why in tests:
        new = mask & ~drop
        for r in np.flatnonzero(new):
            cols = list(raw.columns[:6]) + ([wcol] if wcol is not None
                                            and wcol not in list(raw.columns[:6]) else [])
            vals = {str(k)[:40]: str(raw.iloc[r][k])[:40] for k in cols}
            rejected.append((int(r), f"{why} in row {r}: {vals}"))
        drop |= new
    rejected.sort()
    return rejected, drop
