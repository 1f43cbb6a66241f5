"""``your``/FETCH candidate HDF5 files, read and written.

``your_candmaker.py`` writes one HDF5 file per candidate and FETCH classifies those files.
Each holds two datasets and the candidate's and its filterbank's header as attributes:

``data_dm_time`` (``n_dm x n_time``; 256 x 256)
    Row ``i`` dedispersed at DM ``dm + linspace(-dm, dm, n_dm)[i]`` (so 0 .. 2 x DM, lowest
    first: the orientation of our ``dm_time``, stored as it is).
``data_freq_time`` (``n_time x n_freq``; 256 x 256)
    Time first, then frequency in the file's channel order (``fch1 + foff x k``; highest
    first when ``foff < 0``). Ours is the transpose with the lowest frequency in row 0: on
    reading it is transposed and, when ``foff < 0``, flipped; on writing the reverse
    (always highest first, ``foff < 0``, the usual SIGPROC order).

Physical axes on reading (the rules of ``your``): a column is ``tsamp x max(1, width // 2)``
s (``width`` in samples); times are s from the start of the observation (as filterbank
ingest gives them), and the burst (``tcand``, at the highest frequency) sits at ``tcand``.
``your_candmaker.py`` (``your`` 0.6) cuts its window in ``Candidate.get_chunk``: from
``tcand - sweep - width x tsamp`` for ``2 x (sweep + width x tsamp)`` s, widened to 256
samples (to ``256 x width // 2`` for widths over 2 samples, where its code then drops the
centring), decimated and cropped to the middle ``n_time`` columns. That window is
recomputed from the attributes (``tcand``, ``dm``, ``width``, ``tsamp``, ``fch1``, ``foff``,
``nchans``), so the burst lands at ``tcand`` also where it is not in the middle column (a
burst wider than 2 samples with a short sweep sits left of the middle in your's files);
without the frequency attributes the burst is taken to be at column ``n_time // 2``.
Frequency column ``j`` is at ``fch1 + foff x ((j + 0.5) x nchans / n_freq - 0.5)`` MHz
(``nchans`` native channels resized to ``n_freq``). Files this module writes also carry ``wb_dm_axis``,
``wb_time_axis``, ``wb_freq_axis`` (start, step of our rows/columns: exact where a
Collection's axes differ from these rules, e.g. DM rows 0 .. 10 for a DM ~ 0 candidate),
``wb_id`` (the item id) and ``wb_catalog`` (the item's other catalog columns as JSON);
FETCH ignores them and reading uses them when present.

Attributes written as ``your``'s ``Candidate.save_h5`` writes them: ``cand_id``, ``tcand``,
``dm``, ``dm_opt``, ``snr``, ``snr_opt``, ``width``, ``label``, ``rfi_mask``, ``kill_mask``,
``filelist`` and the header (``fch1``, ``foff``, ``nchans``, ``tsamp``, ``tstart``, ``nbits``,
``source_name``, ``ra_deg``, ``dec_deg``, ...; not ``nspectra``, which a Collection does
not keep and neither FETCH nor your's plotter reads).

Hostile files: datasets must be 2-D numbers of at most :data:`MAX_SIDE` per side (checked
before reading), attributes at most :data:`MAX_ATTR_BYTES` each (checked before reading),
``tcand``/``dm``/``tsamp``/``width`` finite, ``dm >= 0``, ``tsamp > 0``, ``width >= 1``;
anything else is a :class:`~workbench.core.errors.FilterbankError` naming file and field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.core.errors import FilterbankError
from workbench.io import _axes
from workbench.io.filterbank import sigproc_angle

__all__ = ["FetchCandidate", "read_fetch_h5", "write_fetch_h5", "your_cand_id", "your_time_axis",
           "MAX_SIDE",
           "MAX_ATTR_BYTES", "FETCH_SIDE"]

#: Largest side of a dataset read (a raw ``save_h5`` without resizing has a few thousand).
MAX_SIDE = 16384
#: Largest attribute read, bytes.
MAX_ATTR_BYTES = 1 << 20
#: The image side FETCH's models take.
FETCH_SIDE = 256
_DM, _FT = "data_dm_time", "data_freq_time"
_EXTRA = ("wb_dm_axis", "wb_time_axis", "wb_freq_axis")


@dataclass
class FetchCandidate:
    """One candidate file read: our images and axes, its catalog row, its attributes."""

    path: str
    dm_time: np.ndarray  # (n_dm, n_time), DM ascending
    freq_time: np.ndarray  # (n_freq, n_time), frequency ascending
    axes: dict
    meta: dict
    attrs: dict = field(default_factory=dict)


def your_cand_id(tstart: float, tcand: float, dm: float, snr: float) -> str:
    """The id ``your`` gives a candidate (and its file name, without ``.h5``)."""
    return f"cand_tstart_{tstart:.12f}_tcand_{tcand:.7f}_dm_{dm:.5f}_snr_{snr:.5f}"


def your_time_axis(tcand: float, dm: float, width: int, tsamp: float, fmin: float,
                   fmax: float, n_time: int = FETCH_SIDE, min_samp: int = 256
                   ) -> tuple[float, float]:
    """``(start, step)`` in s of the columns of a candidate image made by
    ``your_candmaker.py``: its ``Candidate.get_chunk`` window (``min_samp`` is its default
    256), decimated by ``max(1, width // 2)`` (padded at the end) and cropped to the middle
    ``n_time`` columns."""
    sweep = 4148808.0 * dm * (1 / fmin**2 - 1 / fmax**2) / 1000
    t0, t1 = tcand - sweep - width * tsamp, tcand + sweep + width * tsamp
    nstart, nsamp = int(t0 / tsamp), int((t1 - t0) / tsamp)
    nread, start = nsamp, nstart
    if width > 2 and nread // (width // 2) < min_samp:
        nread = min_samp * width // 2
    if nread < min_samp:  # as your 0.6 does: this if/else decides the start
        nread = min_samp
        start = nstart - (nread - nsamp) // 2
    else:
        start = nstart
    dec = max(1, width // 2)
    crop0 = -(-nread // dec) // 2 - n_time // 2
    return (start + crop0 * dec) * tsamp, dec * tsamp


def _fail(path, msg, hint=None):
    raise FilterbankError(msg, path=path, hint=hint)


def _plain(v):
    """An attribute value as a plain Python value (str, number, bool or list)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()] if v.dtype.kind in "OSU" else v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _attrs(f, path) -> dict:
    import h5py

    out = {}
    for name in list(f.attrs):
        try:
            aid = h5py.h5a.open(f.id, name.encode())
            size = aid.get_storage_size()
        except Exception:  # noqa: BLE001 -- an attribute that cannot be opened is skipped
            continue
        if size > MAX_ATTR_BYTES:
            _fail(path, f"attribute {name!r} is {size} bytes, over the limit of "
                        f"{MAX_ATTR_BYTES}", "not a your/FETCH candidate file")
        try:
            out[name] = _plain(f.attrs[name])
        except Exception:  # noqa: BLE001 -- an unreadable type (e.g. a reference): skipped
            continue
    return out


def _number(attrs, name, path, *, required=True, default=math.nan) -> float:
    v = attrs.get(name)
    if v is None:
        if required:
            _fail(path, f"has no attribute {name!r}", "not a your/FETCH candidate file")
        return default
    if isinstance(v, list) and len(v) == 1:
        v = v[0]
    try:
        x = float(v)
    except (TypeError, ValueError):
        _fail(path, f"attribute {name!r} is not a number ({str(v)[:40]!r})")
    if required and not math.isfinite(x):
        _fail(path, f"attribute {name!r} is {x!r}; it must be a finite number")
    return x


def _dataset(f, name, path) -> np.ndarray:
    import h5py

    ds = f.get(name)
    if not isinstance(ds, h5py.Dataset):
        _fail(path, f"has no dataset {name!r}", "not a your/FETCH candidate file")
    if ds.ndim != 2 or ds.dtype.kind not in "fiu":
        _fail(path, f"dataset {name!r} is {ds.ndim}-D {ds.dtype}; a 2-D array of numbers "
                    "is expected")
    if not all(1 <= s <= MAX_SIDE for s in ds.shape):
        _fail(path, f"dataset {name!r} has shape {ds.shape}; sides must be 1 .. {MAX_SIDE}")
    try:
        arr = np.asarray(ds[()], dtype=np.float32)
    except Exception as exc:  # noqa: BLE001 -- a corrupt chunk or a missing filter
        _fail(path, f"dataset {name!r} cannot be read ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:120]})")
    return np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)


def _axis(attrs, key, path):
    v = attrs.get(key)
    if v is None:
        return None
    try:
        start, step = (float(x) for x in v)
    except (TypeError, ValueError):
        _fail(path, f"attribute {key!r} is not (start, step)")
    if not (math.isfinite(start) and math.isfinite(step)):
        _fail(path, f"attribute {key!r} holds non-finite values")
    return start, step


def read_fetch_h5(path) -> FetchCandidate:
    """Read one ``your``/FETCH candidate file (see the module docstring).

    Returns
    -------
    FetchCandidate
        ``meta`` holds ``id`` (``wb_id`` or the file stem), ``cand_id``, ``time_s``
        (``tcand``), ``dm``, ``snr``, ``width_s``, ``width_samples``, ``decimation``,
        ``label``, ``tstart_mjd``, ``ra``/``dec`` (``ra_deg``/``dec_deg``, else
        ``src_raj``/``src_dej``), ``source_file`` (this file), ``filelist`` (the search
        files it was cut from, ``;``-joined text) and the columns of ``wb_catalog``.
    """
    import h5py

    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except FileNotFoundError:
        _fail(path, "no such file")
    except IsADirectoryError:
        _fail(path, "is a folder, not a candidate file")
    except OSError as exc:
        _fail(path, f"is not a readable HDF5 file ({' '.join(str(exc).split())[:120]})")
    with fh as f:
        attrs = _attrs(f, path)
        dmt = _dataset(f, _DM, path)
        ft = _dataset(f, _FT, path)
    tcand, dm = _number(attrs, "tcand", path), _number(attrs, "dm", path)
    tsamp, width = _number(attrs, "tsamp", path), _number(attrs, "width", path)
    if dm < 0:
        _fail(path, f"attribute 'dm' is {dm:g}; it cannot be negative")
    if tsamp <= 0:
        _fail(path, f"attribute 'tsamp' is {tsamp:g} s; it must be positive")
    if width < 1 or width > 2**30:
        _fail(path, f"attribute 'width' is {width:g} samples; it must be 1 .. 2**30")
    n_dm, n_time = dmt.shape
    if ft.shape[0] != n_time:
        _fail(path, f"dataset {_FT!r} has {ft.shape[0]} time samples (its first axis), "
                    f"{_DM!r} {n_time}", "they must share the time axis")
    n_freq = ft.shape[1]
    dec = max(1, int(width) // 2)
    fch1 = _number(attrs, "fch1", path, required=False)
    foff = _number(attrs, "foff", path, required=False)
    nchans = _number(attrs, "nchans", path, required=False)
    known = all(math.isfinite(v) for v in (fch1, foff, nchans)) and nchans >= 1 and foff != 0
    descending = known and foff < 0
    freq_time = ft.T[::-1] if descending else ft.T
    fr = _axis(attrs, "wb_freq_axis", path)
    if fr is None and known:
        bw = foff * nchans / n_freq  # MHz per image column, file order
        first = fch1 + foff * (0.5 * nchans / n_freq - 0.5)
        fr = (first + bw * (n_freq - 1), -bw) if descending else (first, bw)
    freq_ax = ({"name": "freq", "unit": "MHz", "start": fr[0], "step": fr[1]} if fr else
               {"name": "channel", "unit": "", "start": 0.0, "step": 1.0})
    dmx = _axis(attrs, "wb_dm_axis", path) or (0.0, 2 * dm / max(1, n_dm - 1))
    tx = _axis(attrs, "wb_time_axis", path)
    if tx is None and known:
        fmax, fmin = max(fch1, fch1 + foff * (nchans - 1)), min(fch1, fch1 + foff * (nchans - 1))
        tx = your_time_axis(tcand, dm, int(width), tsamp, fmin, fmax, n_time)
    elif tx is None:
        tx = (tcand - (n_time // 2) * tsamp * dec, tsamp * dec)
    time_ax = {"name": "time", "unit": "s", "start": tx[0], "step": tx[1]}
    extra = {"decimation": dec, "dm_cand": dm, "time_cand": tcand, "tsamp": tsamp,
             "tstart_mjd": _number(attrs, "tstart", path, required=False),
             "fch1": fch1, "foff": foff, "nchans": int(nchans) if known else -1}
    axes = {"dm_time": _axes.linear({"name": "dm", "unit": "pc cm^-3", "start": dmx[0],
                                     "step": dmx[1]}, time_ax, **extra),
            "freq_time": _axes.linear(freq_ax, time_ax, **extra)}
    meta = _meta(path, attrs, tcand, dm, tsamp, width, dec)
    return FetchCandidate(str(path), dmt, np.ascontiguousarray(freq_time), axes, meta, attrs)


_ID_OK = re.compile(r"^[A-Za-z0-9_.:+\-~]{1,200}$")


def _meta(path: Path, attrs: dict, tcand, dm, tsamp, width, dec) -> dict:
    meta: dict = {}
    try:
        saved = json.loads(str(attrs.get("wb_catalog", "{}")))
    except ValueError:
        saved = {}
    if isinstance(saved, dict):  # plain values only: data, never code
        meta.update({str(k): v for k, v in saved.items()
                     if v is None or isinstance(v, (str, int, float, bool))})
    wb_id = str(attrs.get("wb_id", ""))
    ra = _number(attrs, "ra_deg", path, required=False)
    dec_deg = _number(attrs, "dec_deg", path, required=False)
    if not math.isfinite(ra):
        ra = sigproc_angle(_number(attrs, "src_raj", path, required=False), hours=True)
        dec_deg = sigproc_angle(_number(attrs, "src_dej", path, required=False), hours=False)
    files = attrs.get("filelist", attrs.get("filename", ""))
    files = files if isinstance(files, list) else [files]
    label = _number(attrs, "label", path, required=False, default=-1)
    meta.update(
        id=wb_id if _ID_OK.match(wb_id) else path.stem,
        cand_id=str(attrs.get("cand_id", path.stem)), time_s=tcand, dm=dm,
        snr=_number(attrs, "snr", path, required=False), width_s=width * tsamp,
        width_samples=int(width), decimation=dec,
        label=int(label) if math.isfinite(label) else -1,
        tstart_mjd=_number(attrs, "tstart", path, required=False),
        ra=ra if math.isfinite(ra) else math.nan,
        dec=dec_deg if math.isfinite(dec_deg) else math.nan,
        source_file=str(path), filelist="; ".join(str(x) for x in files)[:4096])
    return meta


def write_fetch_h5(path, dm_time, freq_time, attrs: dict, *, compression: str = "gzip"):
    """Write one candidate file as ``your`` does (``data_dm_time``, ``data_freq_time``
    transposed and highest frequency first, ``attrs`` as HDF5 attributes).

    ``dm_time`` (n_dm, n_time) and ``freq_time`` (n_freq, n_time) are ours (DM and
    frequency ascending); ``attrs["foff"]`` must be negative (highest frequency first).
    ``compression``: ``"gzip"`` (level 9, as ``your``) or ``"lzf"``.
    """
    import h5py

    if compression not in ("gzip", "lzf"):
        raise FilterbankError(f"compression must be 'gzip' or 'lzf', not {compression!r}",
                              path=path)
    opts = {"compression": compression}
    if compression == "gzip":
        opts["compression_opts"] = 9
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        ft = f.create_dataset(_FT, data=np.ascontiguousarray(
            np.asarray(freq_time, np.float32)[::-1].T), **opts)
        ft.dims[0].label = "time"
        ft.dims[1].label = "frequency"
        dt = f.create_dataset(_DM, data=np.asarray(dm_time, np.float32), **opts)
        dt.dims[0].label = "dm"
        dt.dims[1].label = "time"
    return Path(path)
