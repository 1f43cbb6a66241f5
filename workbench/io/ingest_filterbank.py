"""Turn a filterbank and a candidate list into a Collection of DM-time and frequency-time images.

For each candidate (arrival time ``t`` at the top of the band, DM, width ``w``):

1. time decimation ``D = max(1, w_samples // 2)`` (the FETCH / ``your`` rule); the images
   have ``n_time`` columns of ``D`` samples, centred on ``t``;
2. only the needed span of the file is read (memory-mapped), each channel normalised with
   the file's channel statistics (median, standard deviation), bad channels zeroed;
   channels are shifted by their delays rounded to native samples and averaged over the
   ``D`` samples of each column (a running mean sampled every ``D``: the same as shifting
   at full resolution and then decimating, so a pulse lands in the same column in every
   channel);
3. ``dm_time``: the band-summed series dedispersed at ``n_dm`` trial DMs from 0 to
   ``dm_factor x DM`` (at least ``min_dm_span``), shape ``(n_dm, n_time)``, summed over
   sub-bands where that is cheaper (every channel's delay within one sample of exact);
   ``freq_time``: the data dedispersed at the candidate DM, frequency resized to ``n_freq``
   rows (lowest frequency in row 0), shape ``(n_freq, n_time)``;
4. each image normalised (median subtracted, divided by its standard deviation).

Windows running past the file's ends are padded with the channel median (0 after
normalisation) and flagged in the ``padded`` column. Per item the axes are stored, so
``item.axes["dm_time"]`` holds ``dm`` (pc cm^-3 of each row) and ``time`` (s from the file
start of each column; the start of the column's ``D`` samples) and ``item.axes["freq_time"]``
holds ``freq`` (MHz of each row) and ``time``.

Limits (checked before anything is allocated; a candidate over them is skipped with its
reason, or stops the ingest with ``errors="raise"``):

- :data:`MAX_WINDOW`: the span read for one candidate, ``(n_time x D + the sweep at the top
  trial DM) samples x channels x IFs``, is at most ``2**27`` values (512 MiB as float32);
  a 100 s wide pulse or a DM whose sweep spans most of an hour-long file exceeds it
  (``max_window=`` raises it for a machine with the memory);
- :data:`MAX_IMAGE_SIDE`: ``n_dm``, ``n_time`` and ``n_freq`` are 2 .. 1024;
- channel statistics are measured on at most ``2**25`` values (8192 samples of 4096
  channels), fewer samples for files with more channels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.errors import FilterbankError, InputError, WorkbenchError
from workbench.core.kinds import BASE_COLUMNS, TRANSIENT
from workbench.imaging import dedisperse as dd
from workbench.io import _axes
from workbench.io._atomic import new_folder
from workbench.io.batching import BatchBuffer
from workbench.io.candidates import read_candidates
from workbench.io.collection import Collection, ProductSpec
from workbench.io.filterbank import Filterbank
from workbench.io.ingest_fits import IngestReport
from workbench.io.progress import progress_bar

__all__ = ["ChannelStats", "channel_stats", "check_candidate", "candidate_images", "ingest_filterbank",
           "transient_products", "MAX_WINDOW", "MAX_IMAGE_SIDE"]

#: Most values (samples x channels x IFs) read for one candidate's window: 512 MiB as float32.
MAX_WINDOW = 1 << 27
#: Largest number of rows or columns of a DM-time or frequency-time image.
MAX_IMAGE_SIDE = 1024
_STATS_VALUES = 1 << 25  # most values (samples x channels) read for the channel statistics


@dataclass(frozen=True)
class ChannelStats:
    """Per-channel ``median`` and ``std`` (shape ``(nchans,)``) and the ``mask`` of bad
    channels (True = bad), measured on a sample of the file."""

    median: np.ndarray
    std: np.ndarray
    mask: np.ndarray


def channel_stats(fb: Filterbank, *, max_samples: int = 1 << 13, mask="auto",
                  threshold: float = 5.0) -> ChannelStats:
    """Channel statistics from up to ``max_samples`` time samples spread over the file.

    Parameters
    ----------
    mask : "auto", None, or bool array of shape (nchans,)
        ``"auto"``: flag constant channels and channels with outlying spread
        (:func:`workbench.imaging.dedisperse.bad_channels`); None: no mask; an array: these
        channels (True = bad), plus constant ones.
    """
    n = fb.nsamples
    nblk = 8
    budget = max(nblk, _STATS_VALUES // (fb.nchans * fb.header.nifs))
    per = max(1, min(n, max_samples, budget) // nblk)
    starts = np.linspace(0, max(0, n - per), nblk).astype(int)
    data = np.concatenate([fb.read(s, per) for s in np.unique(starts)], axis=1)
    with np.errstate(over="ignore", invalid="ignore"):  # float files may hold inf/NaN
        med = dd.median(data, axis=1)
        sd = data.std(axis=1).astype(np.float32)
    broken = ~(np.isfinite(med) & np.isfinite(sd))  # non-finite values: a bad channel
    med = np.where(broken, 0.0, med).astype(np.float32)
    sd = np.where(broken, 0.0, sd).astype(np.float32)
    if isinstance(mask, str) and mask == "auto":
        bad = dd.bad_channels(data, threshold=threshold, std=sd)
    elif mask is None:
        bad = ~(sd > 0)
    else:
        bad = np.asarray(mask, bool).copy()
        if bad.shape != (fb.nchans,):
            raise FilterbankError(f"channel mask has {bad.size} entries for {fb.nchans} channels",
                                  path=fb.path)
        bad |= ~(sd > 0)
    bad |= broken
    sd = np.where(sd > 0, sd, 1.0).astype(np.float32)
    return ChannelStats(med, sd, bad)


def transient_products(n_dm: int = 256, n_time: int = 256, n_freq: int = 256) -> dict:
    """The two product specs of a transient Collection."""
    return {
        "dm_time": ProductSpec(("intensity",), (n_dm, n_time), "sigma", "dm,time"),
        "freq_time": ProductSpec(("intensity",), (n_freq, n_time), "sigma", "freq,time"),
    }


def check_candidate(fb: Filterbank, time_s: float, dm: float, width_s: float = np.nan, *,
                    n_time: int = 256, dm_factor: float = 2.0, min_dm_span: float = 10.0,
                    decimation: int | None = None, max_window: int = MAX_WINDOW) -> None:
    """Raise FilterbankError when a candidate cannot be imaged from ``fb``: its time is not
    finite or outside the file, its DM is not finite or negative, the dispersion sweep at
    its DM or its width is as long as the file, or its window (``n_time x D`` samples plus
    the sweep at the top trial DM, times channels and IFs) would hold more than
    ``max_window`` values."""
    _window(fb, time_s, dm, width_s, n_time=n_time, dm_factor=dm_factor,
            min_dm_span=min_dm_span, decimation=decimation, max_window=max_window)


def _window(fb: Filterbank, time_s, dm, width_s, *, n_time, dm_factor, min_dm_span,
            decimation, max_window) -> tuple[int, float, int, int]:
    """``(D, dm_hi, s0, nread)`` of a candidate: time decimation, top trial DM, first sample
    and length of the span to read; every check done in floats before any array is sized."""
    if not (np.isfinite(time_s) and 0 <= time_s < fb.duration):
        raise FilterbankError(f"candidate time {time_s:g} s is outside the file "
                              f"(0 .. {fb.duration:g} s)", path=fb.path)
    if not (np.isfinite(dm) and dm >= 0):
        raise FilterbankError(f"candidate DM {dm:g} is not a finite non-negative number",
                              path=fb.path)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd values: caught below
        sweep = float(dd.dispersion_delay(dm, fb.freqs).max())
    if not sweep < fb.duration:
        raise FilterbankError(f"the dispersion sweep at DM {dm:g} ({sweep:.3g} s) is longer "
                              f"than the file ({fb.duration:.3g} s)", path=fb.path,
                              hint="the DM is implausible for this band and file")
    if np.isfinite(width_s) and width_s >= fb.duration:
        raise FilterbankError(f"candidate width {width_s:g} s is not shorter than the file "
                              f"({fb.duration:g} s)", path=fb.path,
                              hint="the width is implausible, or in other units than assumed")
    tsamp = fb.tsamp
    if decimation is None:
        w = width_s / tsamp if np.isfinite(width_s) and width_s > 0 else 1.0
        D = max(1.0, np.floor(max(1.0, np.round(w)) / 2))
    else:
        D = float(max(1, int(decimation)))
    dm_hi = max(dm_factor * dm, min_dm_span)
    with np.errstate(over="ignore", invalid="ignore"):
        maxdel = float(np.rint(dd.dispersion_delay(dm_hi, fb.freqs) / tsamp).max())
        nread = n_time * D + maxdel
        values = nread * fb.nchans * fb.header.nifs
    if not (np.isfinite(values) and values <= max_window):
        raise FilterbankError(
            f"the window of the candidate at {time_s:g} s (width {width_s:g} s, DM {dm:g}: "
            f"{n_time} x {D:.0f} + {maxdel:.0f} samples x {fb.nchans * fb.header.nifs} "
            f"channels) would hold {values:.3g} values, over the limit of {max_window} "
            f"({max_window * 4 / 2**20:g} MiB)", path=fb.path,
            hint="the width or DM is implausible; or raise the window limit")
    D = int(D)
    s0 = int(round(time_s / tsamp)) - (n_time // 2) * D
    return D, float(dm_hi), s0, int(nread)


def candidate_images(fb: Filterbank, time_s: float, dm: float, width_s: float, *,
                     stats: ChannelStats | None = None, n_dm: int = 256, n_time: int = 256,
                     n_freq: int = 256, dm_factor: float = 2.0, min_dm_span: float = 10.0,
                     decimation: int | None = None, method: str = "auto",
                     max_window: int = MAX_WINDOW) -> dict:
    """The DM-time and frequency-time images of one candidate.

    Parameters
    ----------
    fb : Filterbank
    time_s : float
        Arrival time at the highest frequency, s from the file start.
    dm : float
        pc cm^-3.
    width_s : float
        Pulse width, s (sets the time decimation ``max(1, width_samples // 2)``).
    stats : ChannelStats, optional
        From :func:`channel_stats` (computed if not given; pass it when making many).
    n_dm, n_time, n_freq : int
        Image sizes.
    dm_factor, min_dm_span : float
        Trial DMs run from 0 to ``max(dm_factor * dm, min_dm_span)``.
    decimation : int, optional
        Override the time decimation factor.
    method : {"auto", "exact", "subband"}
        DM-time summation (:func:`workbench.imaging.dedisperse.dm_time`): "subband" (chosen
        by "auto" where it is cheaper) is within one sample of the exact delays.
    max_window : int
        Most values (samples x channels x IFs) read for the window (:data:`MAX_WINDOW`).

    Returns
    -------
    dict
        ``dm_time`` (n_dm, n_time) and ``freq_time`` (n_freq, n_time) float32 arrays,
        ``axes`` {product: descriptor}, ``padded`` (bool), ``decimation`` (int).

    Raises
    ------
    FilterbankError
        The time or DM is not usable (see :func:`check_candidate`), the sweep at the
        candidate DM is longer than the file, or the window exceeds ``max_window``.
    """
    D, dm_hi, s0, nread = _window(fb, time_s, dm, width_s, n_time=n_time, dm_factor=dm_factor,
                                  min_dm_span=min_dm_span, decimation=decimation,
                                  max_window=max_window)
    stats = channel_stats(fb) if stats is None else stats
    tsamp, nsamp = fb.tsamp, fb.nsamples
    dms = np.linspace(0.0, dm_hi, n_dm)
    tdec = tsamp * D
    lo, hi = max(0, s0), min(nsamp, s0 + nread)
    raw = fb.read(lo, hi - lo)
    raw -= stats.median[:, None]
    raw *= (1.0 / stats.std)[:, None]
    raw[stats.mask] = 0.0
    if fb.header.nbits == 32:  # float data may hold NaN/inf outside the statistics' sample
        np.nan_to_num(raw, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    padded = lo > s0 or hi < s0 + nread
    if padded:
        block = np.zeros((fb.nchans, nread), np.float32)
        block[:, lo - s0: hi - s0] = raw
        del raw
    else:
        block = raw
    # pixel j of channel c averages samples s0 + j*D + delay_c ... + D - 1 (delays rounded
    # at the native resolution: the same as shifting first and then averaging)
    dmt = dd.dm_time(block, fb.freqs, dms, tsamp, n_out=n_time, decimation=D,
                     mask=stats.mask, method=method)
    ft = dd.dedisperse(block, fb.freqs, dm, tsamp, n_out=n_time, decimation=D)
    up = np.argsort(fb.freqs, kind="stable")  # lowest frequency first
    ft = ft[up]
    fr = fb.freqs[up]
    ft_r = dd.resize(ft, (n_freq, n_time))
    f_rows = dd.resize(fr[:, None], (n_freq, 1))[:, 0].astype(np.float64)
    steps = np.diff(f_rows)
    if n_freq > 1 and np.allclose(steps, steps[0], rtol=1e-4, atol=1e-6):
        freq_ax = {"name": "freq", "unit": "MHz", "start": float(f_rows[0]),
                   "step": float(steps[0])}
    else:
        freq_ax = {"name": "freq", "unit": "MHz", "values": f_rows.tolist()}
    time_ax = {"name": "time", "unit": "s", "start": s0 * tsamp, "step": tdec}
    extra = {"decimation": D, "dm_cand": float(dm), "time_cand": float(time_s)}
    return {
        "dm_time": dd.normalise(dmt),
        "freq_time": dd.normalise(ft_r),
        "axes": {
            "dm_time": _axes.linear({"name": "dm", "unit": "pc cm^-3", "start": 0.0,
                                     "step": dm_hi / max(1, n_dm - 1)}, time_ax, **extra),
            "freq_time": _axes.linear(freq_ax, time_ax, **extra),
        },
        "padded": bool(padded),
        "decimation": D,
    }


def ingest_filterbank(fil, candidates, out, *, n_dm: int = 256, n_time: int = 256,
                      n_freq: int = 256, dm_factor: float = 2.0, min_dm_span: float = 10.0,
                      width_unit: str = "samples", mask="auto", errors: str = "skip",
                      batch_size: int = 64, overwrite: bool = False,
                      progress: bool | Callable = False,
                      max_window: int = MAX_WINDOW) -> IngestReport:
    """Ingest the candidates of one filterbank file into a Collection.

    Parameters
    ----------
    fil : path-like
        SIGPROC filterbank file.
    candidates : path-like or DataFrame
        Candidate list (see :mod:`workbench.io.candidates` for the accepted formats).
    out : path-like or Collection
        Folder of a new Collection, or an open (r+) Collection with the transient products
        to append to.
    n_dm, n_time, n_freq, dm_factor, min_dm_span :
        See :func:`candidate_images`; image sides are 2 .. :data:`MAX_IMAGE_SIDE`,
        ``dm_factor`` finite and positive, ``min_dm_span`` finite and not negative.
    width_unit : {"samples", "s", "ms", "log2"}
        Unit of a candidate column named plain ``width``.
    mask : "auto", None or bool array of shape (nchans,)
        Bad channels (see :func:`channel_stats`).
    errors : {"skip", "raise"}
        ``"skip"``: every candidate that cannot be ingested, for any reason (a rejected row of
        the list, a time outside the file, an implausible DM, a window over ``max_window``,
        a failure while imaging it), is reported in ``skipped`` with its reason and the rest
        are ingested. ``"raise"``: the first such candidate stops the ingest with a
        :class:`~workbench.core.errors.FilterbankError` and nothing is written.
    max_window : int
        Most values (samples x channels x IFs) read for one candidate (:data:`MAX_WINDOW`,
        512 MiB as float32).

    Returns
    -------
    IngestReport
        ``skipped`` lists ``(candidate, reason)``.

    Raises
    ------
    FilterbankError
        The filterbank or the candidate list cannot be used, a candidate cannot be ingested
        with ``errors="raise"``, or no candidate at all could be ingested.
    InputError
        A parameter is out of range.
    """
    _check_params(errors, n_dm, n_time, n_freq, dm_factor, min_dm_span, batch_size, max_window)
    fb = Filterbank(fil)
    if fb.nchans * fb.header.nifs * n_time > max_window:
        raise FilterbankError(f"has {fb.nchans} channels x {fb.header.nifs} IF(s): a window of "
                              f"{n_time} samples would exceed the limit of {max_window} values",
                              path=fb.path, hint="raise the window limit, or use smaller images")
    cl = read_candidates(candidates, tsamp=fb.tsamp, tstart=fb.header.tstart,
                         width_unit=width_unit)
    report = IngestReport(path=str(getattr(out, "path", out)), shape=(n_dm, n_time))
    src = cl.path
    for r, why in cl.rejected:
        if errors == "raise":
            raise FilterbankError(why, path=src)
        report.skipped.append((f"{src} row {r}", why))
    stats = channel_stats(fb, mask=mask)
    if stats.mask.any():
        report.notes[f"{int(stats.mask.sum())} of {fb.nchans} channels masked"] = 1
    table = cl.table
    work = []  # validate everything first, so errors="raise" writes nothing
    for k in range(len(table)):
        row = table.iloc[k]
        try:
            check_candidate(fb, float(row.time_s), float(row.dm), float(row.width_s),
                            n_time=n_time, dm_factor=dm_factor, min_dm_span=min_dm_span,
                            max_window=max_window)
        except Exception as exc:  # noqa: BLE001 -- errors="skip" skips any per-candidate failure
            if errors == "raise":
                raise _candidate_error(exc, fb, src, row) from exc
            report.skipped.append((f"{src} row {int(row.row)}", _reason(exc)))
            continue
        work.append(k)
    if not work:
        raise FilterbankError(f"none of the {len(table) + len(cl.rejected)} candidate(s) could "
                              f"be ingested: {report.skipped[:3]}", path=src)
    bar, close_bar = progress_bar(progress, len(work), unit="cand", desc="candidates")
    stem = Path(fil).stem
    rename = _catalog_names(table.columns)
    given = isinstance(out, Collection)
    if given:
        _check_columns_fit(out, table.iloc[work], rename, src)
    try:
        with contextlib.nullcontext() if given else new_folder(out, inputs=[fil, candidates]):
            coll = out if given else Collection.create(
                out, transient_products(n_dm, n_time, n_freq), overwrite=overwrite,
                description=f"transient candidates from {Path(fil).name}")
            with coll.appender() as app:
                buf = BatchBuffer(app, kind=TRANSIENT, size=batch_size)
                for k in work:
                    row = table.iloc[k]
                    try:
                        img = candidate_images(
                            fb, float(row.time_s), float(row.dm), float(row.width_s),
                            stats=stats, n_dm=n_dm, n_time=n_time, n_freq=n_freq,
                            dm_factor=dm_factor, min_dm_span=min_dm_span, max_window=max_window)
                    except Exception as exc:  # noqa: BLE001 -- as above
                        if errors == "raise":
                            raise _candidate_error(exc, fb, src, row) from exc
                        report.skipped.append((f"{src} row {int(row.row)}", _reason(exc)))
                        bar(1)
                        continue
                    meta = {rename.get(c, c): row[c] for c in table.columns}
                    meta.update(id=f"{stem}-{int(row.row):06d}", source_file=str(fil),
                                padded=img["padded"], decimation=img["decimation"],
                                time_s=float(row.time_s), dm=float(row.dm),
                                width_s=float(row.width_s), snr=float(row.snr))
                    buf.add(meta, {"dm_time": img["dm_time"], "freq_time": img["freq_time"]},
                            img["axes"])
                    if img["padded"]:
                        note = "window ran past the file's end: padded"
                        report.notes[note] = report.notes.get(note, 0) + 1
                    bar(1)
                buf.flush()
                if app.n_added == 0:  # every candidate failed while imaging: write nothing
                    raise FilterbankError(f"none of the {len(table) + len(cl.rejected)} "
                                          f"candidate(s) could be ingested: "
                                          f"{report.skipped[:3]}", path=src)
    except WorkbenchError:
        raise
    except Exception as exc:  # noqa: BLE001 -- e.g. a column of text where the catalog has numbers
        raise FilterbankError(f"the candidates could not be stored in {report.path} "
                              f"({_reason(exc)})", path=src,
                              hint="nothing was written; check the candidate list's columns"
                              ) from exc
    finally:
        close_bar()
    report.n_items = app.n_added
    return report


def _check_params(errors, n_dm, n_time, n_freq, dm_factor, min_dm_span, batch_size,
                  max_window) -> None:
    if errors not in ("raise", "skip"):
        raise InputError(f"errors must be 'raise' or 'skip', not {errors!r}")
    for name, v in (("n_dm", n_dm), ("n_time", n_time), ("n_freq", n_freq)):
        if not 2 <= int(v) <= MAX_IMAGE_SIDE:
            raise InputError(f"{name}={v}: image sides must be 2 .. {MAX_IMAGE_SIDE} pixels")
    if not (np.isfinite(dm_factor) and dm_factor > 0):
        raise InputError(f"dm_factor={dm_factor}: it must be a finite positive number")
    if not (np.isfinite(min_dm_span) and min_dm_span >= 0):
        raise InputError(f"min_dm_span={min_dm_span}: it must be a finite number >= 0")
    if int(batch_size) < 1:
        raise InputError(f"batch_size={batch_size}: it must be at least 1")
    if int(max_window) < 1:
        raise InputError(f"max_window={max_window}: it must be at least 1")


def _reason(exc: Exception) -> str:
    """One line saying why a candidate failed."""
    if isinstance(exc, WorkbenchError):
        return exc.reason if exc.hint is None else f"{exc.reason} ({exc.hint})"
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _candidate_error(exc: Exception, fb: Filterbank, src: str, row) -> WorkbenchError:
    """``exc`` as the error that stops an ``errors="raise"`` ingest."""
    if isinstance(exc, WorkbenchError):
        return exc
    return FilterbankError(f"candidate in row {int(row.row)} of {src} could not be imaged "
                           f"({_reason(exc)})", path=fb.path)


_OURS = ("time_s", "dm", "width_s", "snr")  # columns read_candidates makes, stored as they are


def _catalog_names(columns) -> dict:
    """Catalog name of every candidate column: our own as they are; a column of the list
    whose name the catalog uses (``id``, ``ra``, ``padded``, ...; ``row``, the line number)
    gets a ``cand_`` prefix, repeated until it clashes with nothing."""
    reserved = set(BASE_COLUMNS) | {"padded", "decimation", "row"}
    taken = set(_OURS) | reserved
    names = {}
    for c in columns:
        if c in _OURS:
            names[c] = c
            continue
        name = str(c)
        while name in taken:
            name = f"cand_{name}"
        taken.add(name)
        names[c] = name
    return names


def _check_columns_fit(coll: Collection, table, names: dict, src) -> None:
    """Refuse, before anything is written, a list column that holds text where the
    Collection's catalog column of the same name holds numbers, or the other way round."""
    import pandas as pd

    cat = coll.catalog
    for c, name in names.items():
        if name not in cat.columns or c in _OURS:
            continue
        ours = pd.api.types.is_numeric_dtype(cat[name]) or pd.api.types.is_bool_dtype(cat[name])
        new = table[c].dropna()
        theirs = pd.api.types.is_numeric_dtype(new) or pd.api.types.is_bool_dtype(new)
        if len(new) and len(cat[name].dropna()) and ours != theirs:
            kinds = ("numbers", "text") if ours else ("text", "numbers")
            raise FilterbankError(f"column {c!r} holds {kinds[1]}, but the Collection's column "
                                  f"{name!r} holds {kinds[0]}", path=src,
                                  hint="rename the column, or append to another Collection")
