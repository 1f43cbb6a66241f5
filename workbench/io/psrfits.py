"""PSRFITS search-mode files: a memory-mapped reader with the interface of
:class:`workbench.io.filterbank.Filterbank`.

A search-mode PSRFITS file (primary header ``FITSTYPE = 'PSRFITS'``, ``OBS_MODE = 'SEARCH'``)
keeps its samples in the binary table ``SUBINT``: one row per sub-integration of ``NSBLK``
time samples, each row holding ``DATA`` (``NSBLK x NPOL x NCHAN`` values of ``NBITS`` bits;
in C order time, polarisation, channel) and per-channel ``DAT_FREQ`` (MHz), ``DAT_WTS``,
``DAT_SCL`` and ``DAT_OFFS``. The value of a sample is ``(DATA * DAT_SCL + DAT_OFFS) *
DAT_WTS`` (``DAT_SCL``/``DAT_OFFS`` per polarisation and channel, or per channel).
Values narrower than a byte (``NBITS`` 1, 2, 4) are packed with the first value in the most
significant bits (the PSRFITS convention, as PRESTO and ``your`` read it; SIGPROC packs
the other way round). ``NBITS = 8`` is unsigned unless the column's ``TZERO`` is -128;
``NBITS = 16`` is a ``'I'`` column (``TZERO = 32768``: unsigned); ``NBITS = 32`` floats.

Polarisations (``POL_TYPE``): one (``AA+BB``, ``INTEN``, ...) is read as it is; ``AABB`` and
``AABBCRCI`` give the mean of AA and BB; ``IQUV`` gives Stokes I. The start time is
``STT_IMJD + (STT_SMJD + STT_OFFS) / 86400`` plus ``NSUBOFFS x NSBLK x TBIN`` for a file that
continues an earlier one. ``RA``/``DEC`` (``hh:mm:ss.s``, ``dd:mm:ss.s``) give
:attr:`PsrfitsHeader.ra_deg` / ``dec_deg``.

The table is mapped with :func:`numpy.memmap` (the row layout is computed from the
``TFORMn`` keywords and checked against ``NAXIS1``), so reading a window touches only the
rows it spans. Before anything is mapped the header is checked: the file must hold all
``NAXIS2`` rows, the ``DATA`` column the bytes ``NSBLK x NPOL x NCHAN x NBITS / 8`` promise,
``TBIN`` must be finite and positive, the channel frequencies finite, above 0 and below
:data:`~workbench.io.filterbank.MAX_FREQ_MHZ`, and one row at most :data:`MAX_ROW_VALUES`
values. Anything else is a :class:`~workbench.core.errors.FilterbankError` naming the file
and the keyword.

>>> fb = PsrfitsFile("obs.fits")                   # doctest: +SKIP
>>> block = fb.read(1000, 4096)                    # (nchans, 4096) float32  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.core.errors import FilterbankError
from workbench.io.filterbank import MAX_FREQ_MHZ

__all__ = ["PsrfitsHeader", "PsrfitsFile", "is_psrfits", "parse_sexagesimal", "MAX_ROW_VALUES"]

#: Most values (NSBLK x NPOL x NCHAN) one SUBINT row may hold (1 GiB as float32).
MAX_ROW_VALUES = 1 << 28
_FITS_MAGIC = b"SIMPLE  ="
_TFORM = re.compile(r"^\s*(\d*)\s*([LXBIJKAEDCMPQ])")
_SIZE = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16}
_NUMPY = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_TWO_POL = ("AABB", "AABBCRCI")
_STOKES = ("IQUV",)


def is_psrfits(path) -> bool:
    """True when ``path`` starts like a FITS file (the reader then checks it is PSRFITS)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_FITS_MAGIC)) == _FITS_MAGIC
    except OSError:
        return False


def parse_sexagesimal(text, *, hours: bool) -> float:
    """``'hh:mm:ss.s'`` (``hours``) or ``'+dd:mm:ss.s'`` -> degrees; NaN when not valid."""
    try:
        s = str(text).strip()
        sign = -1.0 if s.startswith("-") else 1.0
        parts = [float(p) for p in s.lstrip("+-").split(":")]
    except (TypeError, ValueError):
        return math.nan
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return math.nan
    parts += [0.0] * (3 - len(parts))
    if parts[1] >= 60 or parts[2] >= 60:
        return math.nan
    val = parts[0] + parts[1] / 60 + parts[2] / 3600
    if hours:
        return val * 15.0 if val < 24 else math.nan
    return sign * val if val <= 90 else math.nan


@dataclass(frozen=True)
class _Column:
    offset: int  # bytes from the row start
    code: str  # TFORM letter
    count: int  # repeat count (bits for 'X')
    nbytes: int
    zero: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True)
class PsrfitsHeader:
    """What the reader needs from a search-mode PSRFITS file (names as in
    :class:`~workbench.io.filterbank.FilterbankHeader` where they mean the same).

    ``nifs`` is ``NPOL`` (values read per channel and sample), ``nsamples`` is
    ``NAXIS2 x NSBLK``, ``tstart`` the MJD of the first sample (``NSUBOFFS`` included),
    ``freqs`` the channel frequencies (MHz, file order) of the first row, ``fields`` the
    primary and SUBINT header keywords read.
    """

    path: str
    nchans: int
    nifs: int
    nbits: int
    tsamp: float
    tstart: float
    nsamples: int
    nsblk: int
    nrows: int
    pol_type: str
    freqs: np.ndarray
    source_name: str = ""
    ra_deg: float = math.nan
    dec_deg: float = math.nan
    nsuboffs: int = 0
    fields: dict = field(default_factory=dict)

    @property
    def foff(self) -> float:
        return float(self.freqs[1] - self.freqs[0]) if self.nchans > 1 else 0.0

    @property
    def fch1(self) -> float:
        return float(self.freqs[0])

    @property
    def duration(self) -> float:
        return self.nsamples * self.tsamp


def _fail(path, msg, hint=None):
    raise FilterbankError(msg, path=path, hint=hint)


def _columns(path, hdr) -> dict[str, _Column]:
    """Byte layout of a table row from ``TFORMn``, checked against ``NAXIS1``."""
    cols, off = {}, 0
    nfields = hdr.get("TFIELDS", 0)
    if not isinstance(nfields, int) or not 0 < nfields < 1000:
        _fail(path, f"SUBINT has TFIELDS={nfields!r}", "not a valid FITS binary table")
    for i in range(1, nfields + 1):
        form = str(hdr.get(f"TFORM{i}", ""))
        m = _TFORM.match(form)
        if not m:
            _fail(path, f"SUBINT column {i} has an unreadable TFORM{i}={form!r}")
        count = int(m.group(1) or 1)
        code = m.group(2)
        if code == "X":
            nbytes = (count + 7) // 8
        elif code in "PQ":
            nbytes = 8 if code == "P" else 16
        else:
            nbytes = count * _SIZE[code]
        name = str(hdr.get(f"TTYPE{i}", "")).strip().upper()
        zero, scale = hdr.get(f"TZERO{i}", 0.0), hdr.get(f"TSCAL{i}", 1.0)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (zero, scale)):
            _fail(path, f"SUBINT column {name or i} has a non-numeric TZERO/TSCAL")
        cols[name] = _Column(off, code, count, nbytes, float(zero), float(scale))
        off += nbytes
    if off != hdr.get("NAXIS1"):
        _fail(path, f"SUBINT rows are {hdr.get('NAXIS1')!r} bytes (NAXIS1) but the TFORMs add "
                    f"up to {off}", "the header is corrupt")
    return cols


def _int_key(path, hdr, key, lo, hi, default=None) -> int:
    val = hdr.get(key, default)
    if isinstance(val, float) and val.is_integer():
        val = int(val)
    if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= hi:
        _fail(path, f"SUBINT header has {key}={val!r}; it must be a whole number in "
                    f"{lo} .. {hi}", "the header is corrupt or not search mode")
    return val


class PsrfitsFile:
    """A search-mode PSRFITS file, memory-mapped; the reader interface of
    :class:`~workbench.io.filterbank.Filterbank` (``header``, ``freqs``, ``tsamp``,
    ``nsamples``, ``nchans``, ``duration``, :meth:`read`, :meth:`read_seconds`)."""

    def __init__(self, path):
        from astropy.io import fits

        self.path = Path(path)
        p = self.path
        if not p.is_file():
            _fail(p, "no such file" if not p.exists() else "is not a file")
        size = os.path.getsize(p)
        try:
            with fits.open(p, memmap=False, lazy_load_hdus=True) as hdul:
                prim = hdul[0].header
                if str(prim.get("FITSTYPE", "")).strip().upper() != "PSRFITS":
                    _fail(p, "is a FITS file but not PSRFITS (no FITSTYPE = 'PSRFITS')",
                          "give a SIGPROC filterbank or a search-mode PSRFITS file")
                mode = str(prim.get("OBS_MODE", "")).strip().upper()
                if mode != "SEARCH":
                    _fail(p, f"is a PSRFITS file in OBS_MODE {mode or '(none)'!r}; only "
                             "SEARCH mode holds filterbank data")
                idx = next((i for i, h in enumerate(hdul)
                            if str(h.header.get("EXTNAME", "")).strip().upper() == "SUBINT"),
                           None)
                if idx is None:
                    _fail(p, "has no SUBINT table", "a search-mode PSRFITS file needs one")
                sub = hdul[idx].header.copy()
                dat_loc = int(hdul.fileinfo(idx)["datLoc"])
                prim = prim.copy()
        except FilterbankError:
            raise
        except Exception as exc:  # noqa: BLE001 -- astropy's many ways to say "bad FITS"
            _fail(p, f"PSRFITS header cannot be read ({type(exc).__name__}: "
                     f"{' '.join(str(exc).split())[:160]})")
        self._setup(p, prim, sub, dat_loc, size)

    def _setup(self, p, prim, sub, dat_loc, size) -> None:
        if sub.get("XTENSION", "").strip() != "BINTABLE":
            _fail(p, "SUBINT is not a binary table")
        cols = _columns(p, sub)
        nrows = _int_key(p, sub, "NAXIS2", 1, 1 << 40)
        rowlen = int(sub["NAXIS1"])
        if dat_loc + nrows * rowlen > size:
            have = max(0, size - dat_loc) // max(1, rowlen)
            _fail(p, f"is shorter than its header promises ({have} of {nrows} SUBINT rows "
                     "present)", "the file was truncated; re-copy it")
        nbits = _int_key(p, sub, "NBITS", 1, 32)
        if nbits not in (1, 2, 4, 8, 16, 32):
            _fail(p, f"has NBITS={nbits}, which is not supported", "1, 2, 4, 8, 16 or 32")
        nchan = _int_key(p, sub, "NCHAN", 1, 1 << 20)
        npol = _int_key(p, sub, "NPOL", 1, 4, default=1)
        nsblk = _int_key(p, sub, "NSBLK", 1, 1 << 30)
        nsuboffs = _int_key(p, sub, "NSUBOFFS", 0, 1 << 40, default=0)
        if nsblk * npol * nchan > MAX_ROW_VALUES:
            _fail(p, f"one SUBINT row holds {nsblk} x {npol} x {nchan} values, over the limit "
                     f"of {MAX_ROW_VALUES}", "the header is corrupt")
        pol_type = str(sub.get("POL_TYPE", "")).strip().upper()
        if npol > 1 and pol_type not in _TWO_POL + _STOKES:
            _fail(p, f"has NPOL={npol} with POL_TYPE {pol_type!r}; supported: AABB and "
                     "AABBCRCI (AA and BB averaged) and IQUV (I taken)")
        if pol_type in _TWO_POL and npol < 2:
            _fail(p, f"has POL_TYPE {pol_type!r} but NPOL={npol}")
        tbin = sub.get("TBIN")
        if not (isinstance(tbin, (int, float)) and math.isfinite(tbin) and tbin > 0):
            _fail(p, f"SUBINT header has TBIN={tbin!r} s; it must be a finite positive number")
        data = cols.get("DATA")
        if data is None:
            _fail(p, "SUBINT has no DATA column")
        nval = nsblk * npol * nchan
        want = {1: "BX", 2: "B", 4: "B", 8: "B", 16: "I", 32: "E"}[nbits]
        if data.code not in want:
            _fail(p, f"DATA column has TFORM code {data.code!r}, which NBITS={nbits} does not "
                     f"allow (expected {' or '.join(want)})")
        if data.nbytes != nval * nbits // 8 or (nval * nbits) % 8:
            _fail(p, f"DATA column holds {data.nbytes} bytes per row, but NSBLK x NPOL x NCHAN "
                     f"x NBITS / 8 = {nsblk} x {npol} x {nchan} x {nbits} / 8 = "
                     f"{nval * nbits / 8:g}", "the header is corrupt")
        for name, n_ok in (("DAT_FREQ", (nchan,)), ("DAT_WTS", (nchan,)),
                           ("DAT_SCL", (nchan, nchan * npol)), ("DAT_OFFS", (nchan, nchan * npol))):
            c = cols.get(name)
            if c is None:
                if name == "DAT_FREQ":
                    _fail(p, "SUBINT has no DAT_FREQ column", "channel frequencies are needed")
                continue
            if c.code not in "ED" or c.count not in n_ok:
                _fail(p, f"{name} column has TFORM {c.count}{c.code}; expected "
                         f"{' or '.join(str(n) for n in n_ok)} values of E or D")
        self._map = np.memmap(p, dtype=np.uint8, mode="r", offset=dat_loc,
                              shape=(nrows, rowlen))
        self._cols, self._data = cols, data
        freqs = self._row_floats("DAT_FREQ", slice(0, 1))[0].astype(np.float64)
        bad = freqs[~(np.isfinite(freqs) & (freqs > 0) & (freqs < MAX_FREQ_MHZ))]
        if bad.size:
            _fail(p, f"DAT_FREQ lists a channel frequency of {bad[0]!r} MHz; channel "
                     f"frequencies must be above 0 and below {MAX_FREQ_MHZ:g} MHz")
        mjd = [prim.get(k, 0) for k in ("STT_IMJD", "STT_SMJD", "STT_OFFS")]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in mjd):
            _fail(p, f"STT_IMJD/STT_SMJD/STT_OFFS are not numbers ({mjd!r})")
        tstart = mjd[0] + (mjd[1] + mjd[2] + nsuboffs * nsblk * float(tbin)) / 86400.0
        keep = {k: prim[k] for k in ("TELESCOP", "SRC_NAME", "RA", "DEC", "OBSFREQ", "OBSBW",
                                     "STT_IMJD", "STT_SMJD", "STT_OFFS") if k in prim}
        keep.update({k: sub[k] for k in ("NBITS", "NCHAN", "NPOL", "NSBLK", "TBIN",
                                         "POL_TYPE", "NSUBOFFS") if k in sub})
        self.header = PsrfitsHeader(
            path=str(p), nchans=nchan, nifs=npol, nbits=nbits, tsamp=float(tbin),
            tstart=float(tstart), nsamples=nrows * nsblk, nsblk=nsblk, nrows=nrows,
            pol_type=pol_type, freqs=freqs, source_name=str(prim.get("SRC_NAME", "")).strip(),
            ra_deg=parse_sexagesimal(prim.get("RA", ""), hours=True),
            dec_deg=parse_sexagesimal(prim.get("DEC", ""), hours=False),
            nsuboffs=nsuboffs, fields=keep)
        self.freqs = freqs
        self.tsamp = float(tbin)
        self.nsamples = nrows * nsblk
        self.nchans = nchan

    def __repr__(self) -> str:
        h = self.header
        return (f"PsrfitsFile({str(self.path)!r}, nchans={h.nchans}, nsamples={h.nsamples}, "
                f"nbits={h.nbits}, npol={h.nifs} {h.pol_type}, tsamp={h.tsamp:g} s)")

    @property
    def duration(self) -> float:
        """Length of the data in s."""
        return self.header.duration

    def _row_floats(self, name: str, rows: slice) -> np.ndarray:
        """A per-row float column (DAT_FREQ, ...) for ``rows``: (n_rows, count) float32."""
        c = self._cols[name]
        raw = np.ascontiguousarray(self._map[rows, c.offset:c.offset + c.nbytes])
        return raw.view(">f4" if c.code == "E" else ">f8").astype(np.float32)

    def _per_pol(self, name: str, rows: slice, default: float) -> np.ndarray:
        """DAT_SCL / DAT_OFFS as (n_rows, npol, nchan); DAT_WTS as (n_rows, 1, nchan)."""
        h = self.header
        n = rows.stop - rows.start
        if name not in self._cols:
            return np.full((n, 1, h.nchans), default, np.float32)
        v = self._row_floats(name, rows)
        return v.reshape(n, v.shape[1] // h.nchans, h.nchans)

    def _values(self, rows: slice) -> np.ndarray:
        """Raw DATA of ``rows`` as (n_rows, NSBLK, NPOL, NCHAN) float32 (TZERO/TSCAL applied)."""
        h, c = self.header, self._data
        raw = np.ascontiguousarray(self._map[rows, c.offset:c.offset + c.nbytes])
        n = raw.shape[0]
        if h.nbits < 8:
            shifts = np.arange(8 - h.nbits, -1, -h.nbits, dtype=np.uint8)  # MSB first
            vals = ((raw[..., None] >> shifts) & np.uint8((1 << h.nbits) - 1)).astype(np.float32)
        else:
            vals = raw.view(_NUMPY[c.code]).astype(np.float32)
            if c.scale != 1.0:
                vals *= np.float32(c.scale)
            if c.zero != 0.0:
                vals += np.float32(c.zero)
        return vals.reshape(n, h.nsblk, h.nifs, h.nchans)

    def read(self, start: int = 0, nsamp: int | None = None) -> np.ndarray:
        """Read time samples ``start .. start + nsamp`` (clipped to the file).

        Returns
        -------
        ndarray of shape (nchans, n), float32
            Channels in file order (:attr:`freqs`); ``(DATA * DAT_SCL + DAT_OFFS) * DAT_WTS``
            with the polarisations combined as the module docstring says; non-finite values
            (from a corrupt scale or offset) are 0.
        """
        h = self.header
        start = int(max(0, start))
        stop = h.nsamples if nsamp is None else min(h.nsamples, start + int(max(0, nsamp)))
        if stop <= start:
            return np.zeros((h.nchans, 0), np.float32)
        r0, r1 = start // h.nsblk, (stop - 1) // h.nsblk + 1
        rows = slice(r0, r1)
        vals = self._values(rows)
        scl = self._per_pol("DAT_SCL", rows, 1.0)[:, None]
        offs = self._per_pol("DAT_OFFS", rows, 0.0)[:, None]
        wts = self._per_pol("DAT_WTS", rows, 1.0)[:, None, :1]
        with np.errstate(over="ignore", invalid="ignore"):
            vals = vals * scl + offs
            if h.nifs == 1 or h.pol_type in _STOKES:
                out = vals[:, :, 0]
            else:
                out = 0.5 * (vals[:, :, 0] + vals[:, :, 1])
            out = out * wts[:, :, 0]
        out = out.reshape(-1, h.nchans)[start - r0 * h.nsblk: stop - r0 * h.nsblk]
        out = np.ascontiguousarray(out.T, dtype=np.float32)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return out

    def read_seconds(self, t0: float, duration: float) -> np.ndarray:
        """Read ``duration`` s from ``t0`` s after the file start; see :meth:`read`."""
        return self.read(int(round(t0 / self.tsamp)), int(round(duration / self.tsamp)))
