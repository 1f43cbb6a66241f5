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
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.errors import FilterbankError
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
           "transient_products"]


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
    per = max(1, min(n, max_samples) // nblk)
    starts = np.linspace(0, max(0, n - per), nblk).astype(int)
    data = np.concatenate([fb.read(s, per) for s in np.unique(starts)], axis=1)
    med = dd.median(data, axis=1)
    sd = data.std(axis=1).astype(np.float32)
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
    sd = np.where(sd > 0, sd, 1.0).astype(np.float32)
    return ChannelStats(med, sd, bad)


def transient_products(n_dm: int = 256, n_time: int = 256, n_freq: int = 256) -> dict:
    """The two product specs of a transient Collection."""
    return {
        "dm_time": ProductSpec(("intensity",), (n_dm, n_time), "sigma", "dm,time"),
        "freq_time": ProductSpec(("intensity",), (n_freq, n_time), "sigma", "freq,time"),
    }


def check_candidate(fb: Filterbank, time_s: float, dm: float) -> None:
    """Raise FilterbankError when a candidate cannot be imaged from ``fb``: its time is
    outside the file, or the dispersion sweep at its DM is longer than the file."""
    if not (np.isfinite(time_s) and 0 <= time_s < fb.duration):
        raise FilterbankError(f"candidate time {time_s:g} s is outside the file "
                              f"(0 .. {fb.duration:g} s)", path=fb.path)
    sweep = float(dd.dispersion_delay(dm, fb.freqs).max())
    if sweep >= fb.duration:
        raise FilterbankError(f"the dispersion sweep at DM {dm:g} ({sweep:.3g} s) is longer "
                              f"than the file ({fb.duration:.3g} s)", path=fb.path,
                              hint="the DM is implausible for this band and file")


def candidate_images(fb: Filterbank, time_s: float, dm: float, width_s: float, *,
                     stats: ChannelStats | None = None, n_dm: int = 256, n_time: int = 256,
                     n_freq: int = 256, dm_factor: float = 2.0, min_dm_span: float = 10.0,
                     decimation: int | None = None, method: str = "auto") -> dict:
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

    Returns
    -------
    dict
        ``dm_time`` (n_dm, n_time) and ``freq_time`` (n_freq, n_time) float32 arrays,
        ``axes`` {product: descriptor}, ``padded`` (bool), ``decimation`` (int).

    Raises
    ------
    FilterbankError
        The time is outside the file, or the sweep at the candidate DM is longer than it.
    """
    stats = channel_stats(fb) if stats is None else stats
    tsamp, nsamp = fb.tsamp, fb.nsamples
    check_candidate(fb, time_s, dm)
    wsamp = max(1, int(round(width_s / tsamp))) if np.isfinite(width_s) else 1
    D = max(1, wsamp // 2) if decimation is None else max(1, int(decimation))
    dm_hi = max(dm_factor * dm, min_dm_span)
    dms = np.linspace(0.0, dm_hi, n_dm)
    tdec = tsamp * D
    maxdel = int(dd.delay_samples(dm_hi, fb.freqs, tsamp).max())
    s_cand = int(round(time_s / tsamp))
    s0 = s_cand - (n_time // 2) * D
    nread = n_time * D + maxdel
    lo, hi = max(0, s0), min(nsamp, s0 + nread)
    raw = fb.read(lo, hi - lo)
    raw -= stats.median[:, None]
    raw *= (1.0 / stats.std)[:, None]
    raw[stats.mask] = 0.0
    padded = lo > s0 or hi < s0 + nread
    if padded:
        block = np.zeros((fb.nchans, nread), np.float32)
        block[:, lo - s0: hi - s0] = raw
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
                      progress: bool | Callable = False) -> IngestReport:
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
        See :func:`candidate_images`.
    width_unit : {"samples", "s", "ms", "log2"}
        Unit of a candidate column named plain ``width``.
    mask : "auto", None or bool array of shape (nchans,)
        Bad channels (see :func:`channel_stats`).
    errors : {"skip", "raise"}
        A bad candidate (outside the file, implausible DM, non-numeric row) is reported and
        skipped, or stops the ingest before anything is written.

    Returns
    -------
    IngestReport
        ``skipped`` lists ``(candidate, reason)``.
    """
    if errors not in ("raise", "skip"):
        raise ValueError("errors must be 'raise' or 'skip'")
    fb = Filterbank(fil)
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
            check_candidate(fb, float(row.time_s), float(row.dm))
        except FilterbankError as exc:
            if errors == "raise":
                raise
            report.skipped.append((f"{src} row {int(row.row)}", exc.reason))
            continue
        work.append(k)
    if not work:
        raise FilterbankError(f"none of the {len(table) + len(cl.rejected)} candidate(s) could "
                              f"be ingested: {report.skipped[:3]}", path=src)
    bar, close_bar = progress_bar(progress, len(work), unit="cand", desc="candidates")
    stem = Path(fil).stem
    rename = {c: f"cand_{c}" for c in table.columns if c in BASE_COLUMNS or c == "row"}
    given = isinstance(out, Collection)
    try:
        with contextlib.nullcontext() if given else new_folder(out, inputs=[fil, candidates]):
            coll = out if given else Collection.create(
                out, transient_products(n_dm, n_time, n_freq), overwrite=overwrite,
                description=f"transient candidates from {Path(fil).name}")
            with coll.appender() as app:
                buf = BatchBuffer(app, kind=TRANSIENT, size=batch_size)
                for k in work:
                    row = table.iloc[k]
                    img = candidate_images(fb, float(row.time_s), float(row.dm), float(row.width_s),
                                           stats=stats, n_dm=n_dm, n_time=n_time, n_freq=n_freq,
                                           dm_factor=dm_factor, min_dm_span=min_dm_span)
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
    finally:
        close_bar()
    report.n_items = app.n_added
    return report
