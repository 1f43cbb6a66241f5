"""Read single-pulse candidate lists into one table: time (s), DM, width (s), S/N.

Accepted formats (detected from the file name and content):

Heimdall ``.cand`` (whitespace separated, no header)
    columns ``snr, sample, time_s, filter, dm_trial, dm, members, begin, end [, beam]``;
    the boxcar width is ``2**filter`` samples.
PRESTO ``.singlepulse`` (whitespace separated, ``#`` header)
    columns ``DM, Sigma, Time(s), Sample, Downfact``; the width is ``Downfact`` samples.
CSV / TSV with a header (``your``, TransientX exports, hand-made lists), names matched
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
Rows with a value that is not a number are not dropped silently: they come back in
``rejected`` with a reason, so a batch can report them and go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import FilterbankError

__all__ = ["CandidateList", "read_candidates", "WIDTH_UNITS"]

WIDTH_UNITS = ("samples", "s", "ms", "log2")
_HEIMDALL = ["snr", "sample", "time_s", "filter", "dm_trial", "dm", "members", "begin", "end",
             "beam"]
_PRESTO = ["dm", "sigma", "time_s", "sample", "downfact"]
_TIME = ("time_s", "tcand", "time", "stime", "t", "time(s)")
_SAMPLE = ("sample", "sample_index", "isamp")
_SNR = ("snr", "sigma", "s/n", "det_snr")
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
        ``"heimdall"``, ``"presto"`` or ``"csv"``.
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
    except pd.errors.EmptyDataError:
        raise FilterbankError("candidate list is empty", path=path,
                              hint="give at least one candidate (time_s,dm,width_s,snr)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FilterbankError(f"candidate list cannot be parsed ({exc})", path=path) from None


def _no_header(path: Path) -> bool:
    with open(path, "rb") as fh:
        first = fh.readline().split()
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
        raise ValueError(f"width_unit must be one of {WIDTH_UNITS}")
    if isinstance(path, pd.DataFrame):
        raw, fmt, src = path.astype(str), "csv", "<table>"
    else:
        src = Path(path)
        raw, fmt = _load(src)
    if len(raw) == 0:
        raise FilterbankError("candidate list is empty", path=src,
                              hint="give at least one candidate (time_s,dm,width_s,snr)")
    lower = {str(c).strip().lower(): c for c in raw.columns}

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
    rejected = []
    bad = out[["time_s", "dm"]].isna().any(axis=1) | out["width_s"].isna() & (tsamp is not None)
    for r in np.flatnonzero(bad.to_numpy()):
        vals = {k: raw.iloc[r][k] for k in raw.columns[:6]}
        rejected.append((int(r), f"non-numeric time, DM or width in row {r}: {vals}"))
    neg = ~bad & ((out["dm"] < 0) | (out["width_s"] < 0))
    for r in np.flatnonzero(neg.to_numpy()):
        rejected.append((int(r), f"negative DM or width in row {r}"))
    table = out[~(bad | neg)].reset_index(drop=True)
    return CandidateList(table=table, rejected=rejected, path=str(src), fmt=fmt)
