"""SIGPROC filterbank files: header parsing, a memory-mapped reader and a writer.

A filterbank file is a binary header (``HEADER_START`` ... ``HEADER_END``; each keyword a
length-prefixed string followed by a little-endian int32, float64 or string value) and then
the data: for each time sample, for each IF, for each channel, one value of ``nbits`` bits.
Values narrower than a byte are packed with the first channel in the least significant bits
(the convention of SIGPROC, ``your`` and ``sigpyproc``).

:class:`Filterbank` maps the data with :func:`numpy.memmap`, so reading a time span touches
only those bytes. :meth:`Filterbank.read` returns float32 data of shape ``(n_chans, n_time)``
(channels in file order; :attr:`Filterbank.freqs` gives their frequencies in MHz, which may be
descending (``foff < 0``, the usual case) or ascending), with several IFs summed.

>>> fb = Filterbank("obs.fil")                     # doctest: +SKIP
>>> block = fb.read(1000, 4096)                    # (nchans, 4096) float32  # doctest: +SKIP

Headers are checked before anything is allocated or mapped (a file from elsewhere is data,
not a promise): the header is read from at most the first 64 KiB, keywords are at most 79
bytes and string values at most 4096 bytes (their length prefix is checked before they are
read); ``nchans`` must be positive, ``nsamples`` and ``nifs`` not negative (0 means "from
the file size" and "one IF"), ``nbits`` one of 1, 2, 4, 8, 16, 32; the data the header
describes (``nsamples x nchans x nifs x nbits / 8`` bytes) must fit in the file after the
header; ``tsamp`` must be finite and positive, ``fch1``, ``foff`` and ``tstart`` finite,
``foff`` non-zero when there is more than one channel, and every channel frequency above 0
and below 10^7 MHz (10 THz; a header in Hz instead of MHz is caught here).
Anything else is a :class:`~workbench.core.errors.FilterbankError` naming the file and
the keyword.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.core.errors import FilterbankError

__all__ = ["FilterbankHeader", "Filterbank", "read_header", "write_filterbank", "SUPPORTED_NBITS",
           "MAX_FREQ_MHZ", "open_filterbank", "sigproc_angle"]

SUPPORTED_NBITS = (1, 2, 4, 8, 16, 32)

_INT_KEYS = {"telescope_id", "machine_id", "data_type", "barycentric", "pulsarcentric",
             "nbits", "nsamples", "nchans", "nifs", "nbeams", "ibeam", "nbins"}
_LONG_KEYS = {"npuls"}  # SIGPROC writes it as a C long: 8 bytes on the machines that make it
_DOUBLE_KEYS = {"tstart", "tsamp", "fch1", "foff", "refdm", "az_start", "za_start", "src_raj",
                "src_dej", "period", "fchannel", "refmjd"}
_STRING_KEYS = {"source_name", "rawdatafile"}
_CHAR_KEYS = {"signed"}
_MAX_HEADER = 1 << 16  # no real header is near 64 KiB; stops runaway parsing of junk
_MAX_KEYWORD = 80  # keyword length prefixes must be 1 .. 79
_MAX_STRING = 4096  # string values (source_name, rawdatafile: a path) must be 0 .. 4095 bytes
MAX_FREQ_MHZ = 1e7  # channel frequencies must be below 10 THz


@dataclass(frozen=True)
class FilterbankHeader:
    """The parsed header of a SIGPROC filterbank file.

    Attributes
    ----------
    path : str
        The file.
    header_size : int
        Bytes before the data.
    nchans, nifs, nbits : int
        Channels, IFs (polarisations; summed on reading) and bits per value.
    tsamp : float
        Sampling time in s.
    tstart : float
        MJD of the first sample.
    fch1, foff : float
        Frequency of the first channel and channel step, MHz (``foff < 0``: descending).
    nsamples : int
        Number of time samples in the file (from its size).
    source_name : str
    signed : bool
        8-bit values are signed (``signed`` key set).
    fields : dict
        Every keyword read, with its value.
    """

    path: str
    header_size: int
    nchans: int
    nifs: int
    nbits: int
    tsamp: float
    tstart: float
    fch1: float
    foff: float
    nsamples: int
    source_name: str = ""
    signed: bool = False
    fields: dict = field(default_factory=dict)

    @property
    def freqs(self) -> np.ndarray:
        """Centre frequency of every channel in file order, MHz, shape ``(nchans,)``."""
        if "fchannels" in self.fields:
            return np.asarray(self.fields["fchannels"], dtype=np.float64)
        return self.fch1 + self.foff * np.arange(self.nchans)

    @property
    def ra_deg(self) -> float:
        """Right ascension from ``src_raj`` (SIGPROC ``hhmmss.s``), degrees; NaN if absent."""
        return sigproc_angle(self.fields.get("src_raj"), hours=True)

    @property
    def dec_deg(self) -> float:
        """Declination from ``src_dej`` (SIGPROC ``ddmmss.s``, signed), degrees; NaN if absent."""
        return sigproc_angle(self.fields.get("src_dej"), hours=False)

    @property
    def bytes_per_spectrum(self) -> int:
        """Bytes of one time sample (all IFs and channels)."""
        return self.nchans * self.nifs * self.nbits // 8

    @property
    def duration(self) -> float:
        """Length of the data in s."""
        return self.nsamples * self.tsamp


def sigproc_angle(value, *, hours: bool) -> float:
    """SIGPROC's packed angle -> degrees: ``src_raj`` as ``hhmmss.s`` (``hours``), ``src_dej``
    as ``[-]ddmmss.s``; NaN when absent or not a valid angle (minutes or seconds >= 60,
    hours >= 24, |Dec| > 90)."""
    if value is None or not math.isfinite(value):
        return math.nan
    sign = -1.0 if value < 0 else 1.0
    v = abs(float(value))
    whole, sec = divmod(v, 100.0)
    deg, minute = divmod(whole, 100.0)
    if minute >= 60 or sec >= 60:
        return math.nan
    val = deg + minute / 60.0 + sec / 3600.0
    if hours:
        return val * 15.0 if sign > 0 and val < 24 else math.nan
    return sign * val if val <= 90 else math.nan


def open_filterbank(path):
    """Open search-mode data by its content: a SIGPROC filterbank (:class:`Filterbank`) or a
    search-mode PSRFITS file (:class:`workbench.io.psrfits.PsrfitsFile`, chosen when the
    file starts like FITS); both have the same reader interface."""
    from workbench.io.psrfits import PsrfitsFile, is_psrfits

    return PsrfitsFile(path) if is_psrfits(path) else Filterbank(path)


def _fail(path, msg, hint=None):
    raise FilterbankError(msg, path=path, hint=hint)


def _parse(buf: bytes, path) -> tuple[dict, int]:
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            _fail(path, "header is truncated (ends before HEADER_END)",
                  "the file is incomplete or not a SIGPROC filterbank")
        out = buf[pos:pos + n]
        pos += n
        return out

    def string():
        (n,) = struct.unpack("<i", take(4))
        if not 0 < n < _MAX_KEYWORD:
            _fail(path, f"header is corrupt (keyword length {n} at byte {pos - 4})",
                  "not a SIGPROC filterbank, or a damaged one")
        try:
            return take(n).decode("ascii")
        except UnicodeDecodeError:
            _fail(path, f"header is corrupt (non-text keyword at byte {pos})")

    if string() != "HEADER_START":
        _fail(path, "does not start with HEADER_START", "not a SIGPROC filterbank file")
    fields: dict = {}
    chans: list[float] = []
    while True:
        key = string()
        if key == "HEADER_END":
            break
        if key in _INT_KEYS:
            fields[key] = struct.unpack("<i", take(4))[0]
        elif key in _LONG_KEYS:
            fields[key] = struct.unpack("<q", take(8))[0]
        elif key in _DOUBLE_KEYS:
            val = struct.unpack("<d", take(8))[0]
            if key == "fchannel":
                chans.append(val)
            else:
                fields[key] = val
        elif key in _STRING_KEYS:
            (n,) = struct.unpack("<i", take(4))
            if not 0 <= n < _MAX_STRING:
                _fail(path, f"header is corrupt (string of length {n} for {key}; at most "
                            f"{_MAX_STRING - 1} bytes are allowed)")
            fields[key] = take(n).decode("latin-1")
        elif key in _CHAR_KEYS:
            fields[key] = take(1)[0]
        elif key in ("FREQUENCY_START", "FREQUENCY_END"):
            continue
        else:
            _fail(path, f"header has unknown keyword {key!r}",
                  "the reader knows the SIGPROC keywords; this file may use an extension")
    if chans:
        fields["fchannels"] = chans
    return fields, pos


def read_header(path) -> FilterbankHeader:
    """Parse the header of a SIGPROC filterbank file and check it against the file size.

    Raises
    ------
    FilterbankError
        The header is truncated or corrupt, a required keyword is missing, a value is
        physically impossible (see the module docstring: non-finite or non-positive
        ``tsamp``, ``foff == 0``, a non-finite ``fch1``/``foff``/``tstart``, a channel at a
        non-positive frequency, ``nchans <= 0``, negative ``nsamples`` or ``nifs``), ``nbits``
        is not one of 1, 2, 4, 8, 16, 32, or the file holds less data than the header promises.
    """
    path = Path(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            buf = fh.read(_MAX_HEADER)
    except FileNotFoundError:
        _fail(path, "no such file")
    except IsADirectoryError:
        _fail(path, "is a folder, not a filterbank file")
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror})")
    if len(buf) < 16:
        _fail(path, f"is only {len(buf)} bytes long; the header is truncated")
    fields, hsize = _parse(buf, path)
    missing = [k for k in ("nchans", "nbits", "tsamp") if k not in fields]
    if "fchannels" not in fields:
        missing += [k for k in ("fch1", "foff") if k not in fields]
    if missing:
        _fail(path, f"header lacks required keyword(s) {missing}")
    nbits = int(fields["nbits"])
    if nbits not in SUPPORTED_NBITS:
        _fail(path, f"has nbits={nbits}, which is not supported",
              f"supported: {', '.join(map(str, SUPPORTED_NBITS))} bits per value")
    nchans, nifs = int(fields["nchans"]), int(fields.get("nifs", 1))
    promised = int(fields.get("nsamples", 0))
    if nchans <= 0:
        _fail(path, f"header says nchans={nchans}; it must be positive")
    if nifs < 0:
        _fail(path, f"header says nifs={nifs}; it cannot be negative")
    if promised < 0:
        _fail(path, f"header says nsamples={promised}; it cannot be negative")
    nifs = nifs or 1  # some writers leave nifs 0 for one IF
    if (nchans * nifs * nbits) % 8:
        _fail(path, f"{nchans} channels x {nifs} IFs at {nbits} bits is not a whole number of "
                    "bytes per spectrum", "SIGPROC requires whole bytes per spectrum")
    bps = nchans * nifs * nbits // 8
    data_bytes = size - hsize
    if bps > data_bytes > 0:
        _fail(path, f"header says {nchans} channels x {nifs} IF(s) x {nbits} bits = {bps} bytes "
                    f"per time sample, more than the {data_bytes} bytes of data in the file",
              "the header is corrupt or the file truncated")
    avail = data_bytes // bps
    if promised > avail:
        _fail(path, f"is shorter than its header promises ({avail} of {promised} samples "
                    f"present; {promised} x {bps} bytes needed, {data_bytes} bytes of data "
                    f"after the header)", "the file was truncated; re-copy it")
    if avail <= 0:
        _fail(path, "holds no data after the header")
    _check_physical(path, fields, nchans)
    nsamp = promised or avail
    return FilterbankHeader(
        path=str(path), header_size=hsize, nchans=nchans, nifs=nifs, nbits=nbits,
        tsamp=float(fields["tsamp"]), tstart=float(fields.get("tstart", 0.0)),
        fch1=float(fields.get("fch1", fields.get("fchannels", [0.0])[0])),
        foff=float(fields.get("foff", 0.0)), nsamples=int(nsamp),
        source_name=str(fields.get("source_name", "")).strip(),
        signed=bool(fields.get("signed", 0)) and nbits == 8, fields=fields)


def _check_physical(path, fields: dict, nchans: int) -> None:
    """Refuse header values no telescope can produce (before any array is sized from them)."""
    tsamp = fields["tsamp"]
    if not (math.isfinite(tsamp) and tsamp > 0):
        _fail(path, f"header says tsamp={tsamp!r} s; it must be a finite positive number",
              "the header is corrupt")
    for key in ("fch1", "foff", "tstart"):
        if key in fields and not math.isfinite(fields[key]):
            _fail(path, f"header says {key}={fields[key]!r}; it must be a finite number",
                  "the header is corrupt")
    if "fchannels" in fields:
        chans = fields["fchannels"]
        if len(chans) != nchans:
            _fail(path, f"header lists {len(chans)} channel frequencies for {nchans} channels")
        bad = [f for f in chans if not (math.isfinite(f) and 0 < f < MAX_FREQ_MHZ)]
        if bad:
            _fail(path, f"header lists a channel frequency of {bad[0]!r} MHz; channel "
                        f"frequencies must be above 0 and below {MAX_FREQ_MHZ:g} MHz",
                  "the header is corrupt")
        return
    fch1, foff = fields["fch1"], fields["foff"]
    if not 0 < fch1 < MAX_FREQ_MHZ:
        _fail(path, f"header says fch1={fch1!r} MHz; it must be above 0 and below "
                    f"{MAX_FREQ_MHZ:g} MHz", "the header is corrupt, or in Hz, not MHz")
    if foff == 0 and nchans > 1:
        _fail(path, f"header says foff=0 MHz: all {nchans} channels at one frequency",
              "the header is corrupt")
    last = fch1 + foff * (nchans - 1)
    if not (math.isfinite(last) and 0 < last < MAX_FREQ_MHZ):
        _fail(path, f"the last channel, fch1 + (nchans - 1) x foff = {fch1:g} + {nchans - 1} x "
                    f"{foff:g} = {last:g} MHz, is not between 0 and {MAX_FREQ_MHZ:g} MHz",
              "the header is corrupt (foff or nchans)")


def _unpack(raw: np.ndarray, nbits: int) -> np.ndarray:
    """Bytes -> one uint8 per value (first value in the least significant bits)."""
    per = 8 // nbits
    shifts = np.arange(0, 8, nbits, dtype=np.uint8)
    mask = np.uint8((1 << nbits) - 1)
    return ((raw[:, None] >> shifts[None, :]) & mask).reshape(raw.size * per)


def _pack(values: np.ndarray, nbits: int) -> np.ndarray:
    per = 8 // nbits
    v = values.astype(np.uint8).reshape(-1, per)
    shifts = np.arange(0, 8, nbits, dtype=np.uint8)
    return np.bitwise_or.reduce(v << shifts[None, :], axis=1).astype(np.uint8)


class Filterbank:
    """A SIGPROC filterbank file, memory-mapped.

    Parameters
    ----------
    path : path-like
        The ``.fil`` file.

    Attributes
    ----------
    header : FilterbankHeader
    freqs : ndarray of shape (nchans,)
        Channel centre frequencies in MHz, file order.
    tsamp : float
        Sampling time, s.
    nsamples, nchans : int
    """

    def __init__(self, path):
        self.path = Path(path)
        self.header = read_header(self.path)
        h = self.header
        self.freqs = h.freqs
        self.tsamp = h.tsamp
        self.nsamples = h.nsamples
        self.nchans = h.nchans
        dtype = {16: np.uint16, 32: np.float32}.get(h.nbits, np.int8 if h.signed else np.uint8)
        nbytes = h.nsamples * h.bytes_per_spectrum
        count = nbytes // np.dtype(dtype).itemsize if h.nbits >= 8 else nbytes
        self._map = np.memmap(self.path, dtype=dtype if h.nbits >= 8 else np.uint8, mode="r",
                              offset=h.header_size, shape=(count,))

    def __repr__(self) -> str:
        h = self.header
        return (f"Filterbank({str(self.path)!r}, nchans={h.nchans}, nsamples={h.nsamples}, "
                f"nbits={h.nbits}, tsamp={h.tsamp:g} s, freqs {self.freqs.max():.1f}.."
                f"{self.freqs.min():.1f} MHz)")

    @property
    def duration(self) -> float:
        """Length of the data in s."""
        return self.header.duration

    def read(self, start: int = 0, nsamp: int | None = None) -> np.ndarray:
        """Read time samples ``start .. start + nsamp`` (clipped to the file).

        Parameters
        ----------
        start : int
            First time sample (0 = file start).
        nsamp : int, optional
            Number of samples; default: to the end of the file.

        Returns
        -------
        ndarray of shape (nchans, n), float32
            Channels in file order (see :attr:`freqs`), IFs summed; ``n`` may be less than
            ``nsamp`` at the end of the file.
        """
        h = self.header
        start = int(max(0, start))
        stop = h.nsamples if nsamp is None else min(h.nsamples, start + int(nsamp))
        n = max(0, stop - start)
        per_spec = h.nchans * h.nifs
        if h.nbits >= 8:
            flat = np.asarray(self._map[start * per_spec: stop * per_spec])
        else:
            bps = h.bytes_per_spectrum
            flat = _unpack(np.asarray(self._map[start * bps: stop * bps]), h.nbits)
        vals = flat.reshape(n, h.nifs, h.nchans).astype(np.float32)
        out = vals.sum(axis=1) if h.nifs > 1 else vals[:, 0]
        return np.ascontiguousarray(out.T)

    def read_seconds(self, t0: float, duration: float) -> np.ndarray:
        """Read ``duration`` s from ``t0`` s after the file start; see :meth:`read`."""
        return self.read(int(round(t0 / self.tsamp)), int(round(duration / self.tsamp)))


def _put_string(fh, s: str) -> None:
    b = s.encode("latin-1")
    fh.write(struct.pack("<i", len(b)) + b)


def write_filterbank(path, data, *, tsamp: float, fch1: float, foff: float,
                     nbits: int = 8, tstart: float = 60000.0, source_name: str = "workbench",
                     nifs: int = 1, **extra) -> Path:
    """Write a SIGPROC filterbank file.

    Parameters
    ----------
    path : path-like
        File to write (replaced if it exists).
    data : array of shape (nchans, n_time), or (nifs, nchans, n_time) when ``nifs > 1``
        Values to store. For ``nbits`` 1..16 they are rounded and clipped to the unsigned
        range ``0 .. 2**nbits - 1``; ``nbits=32`` stores float32.
    tsamp : float
        Sampling time, s.
    fch1, foff : float
        First channel's frequency and channel step, MHz (channel ``i`` is at
        ``fch1 + i * foff``; matching the rows of ``data``).
    nbits : {1, 2, 4, 8, 16, 32}
    tstart : float
        MJD of the first sample.
    source_name : str
    **extra
        Other integer or float header keywords (``telescope_id=4``, ``src_raj=...``).

    Returns
    -------
    Path
    """
    path = Path(path)
    if nbits not in SUPPORTED_NBITS:
        raise FilterbankError(f"cannot write nbits={nbits}", path=path,
                              hint=f"use one of {SUPPORTED_NBITS}")
    arr = np.asarray(data)
    if nifs == 1 and arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] != nifs:
        raise FilterbankError(f"data of shape {np.shape(data)} does not match nifs={nifs}",
                              path=path, hint="give (nchans, n_time) or (nifs, nchans, n_time)")
    _, nchans, _ntime = arr.shape
    if (nchans * nifs * nbits) % 8:
        raise FilterbankError(f"{nchans} channels at {nbits} bits is not whole bytes", path=path)
    # file order: time, IF, channel
    vals = np.transpose(arr, (2, 0, 1)).reshape(-1)
    if nbits == 32:
        payload = vals.astype("<f4").tobytes()
    else:
        q = np.clip(np.rint(vals), 0, (1 << nbits) - 1)
        if nbits == 16:
            payload = q.astype("<u2").tobytes()
        elif nbits == 8:
            payload = q.astype(np.uint8).tobytes()
        else:
            payload = _pack(q, nbits).tobytes()
    hdr = {"telescope_id": 0, "machine_id": 0, "data_type": 1, "nchans": nchans,
           "nbits": nbits, "nifs": nifs, "tsamp": float(tsamp), "tstart": float(tstart),
           "fch1": float(fch1), "foff": float(foff)}
    hdr.update(extra)
    try:
        with open(path, "wb") as fh:
            _put_string(fh, "HEADER_START")
            _put_string(fh, "source_name")
            _put_string(fh, source_name)
            for key, val in hdr.items():
                _put_string(fh, key)
                if key in _INT_KEYS:
                    fh.write(struct.pack("<i", int(val)))
                elif key in _DOUBLE_KEYS:
                    fh.write(struct.pack("<d", float(val)))
                else:
                    raise FilterbankError(f"unknown header keyword {key!r}", path=path)
            _put_string(fh, "HEADER_END")
            fh.write(payload)
    except PermissionError as exc:
        raise FilterbankError(f"cannot write ({exc.strerror})", path=path) from exc
    return path
