"""DM-time and frequency-time images of one candidate in search-mode data.

See :mod:`workbench.io.ingest_filterbank` for the recipe (time decimation, normalisation,
dedispersion, the two images and their axes) and the limits checked before anything is
allocated. The reader ``fb`` is a :class:`~workbench.io.filterbank.Filterbank` or a
:class:`~workbench.io.psrfits.PsrfitsFile` (the same interface).

Besides the axes, every item's axes descriptor carries in ``extra`` the source file's
``tsamp`` (s), ``tstart_mjd``, ``fch1``/``foff`` (MHz) and ``nchans`` (native), so an
export (:mod:`workbench.io.fetch_h5`) can write the attributes FETCH files carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.core.errors import FilterbankError
from workbench.imaging import dedisperse as dd
from workbench.io import _axes
from workbench.io.collection import ProductSpec

__all__ = ["ChannelStats", "channel_stats", "check_candidate", "candidate_images",
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


def channel_stats(fb, *, max_samples: int = 1 << 13, mask="auto",
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


def check_candidate(fb, time_s: float, dm: float, width_s: float = np.nan, *,
                    n_time: int = 256, dm_factor: float = 2.0, min_dm_span: float = 10.0,
                    decimation: int | None = None, max_window: int = MAX_WINDOW) -> None:
    """Raise FilterbankError when a candidate cannot be imaged from ``fb``: its time is not
    finite or outside the file, its DM is not finite or negative, the dispersion sweep at
    its DM or its width is as long as the file, or its window (``n_time x D`` samples plus
    the sweep at the top trial DM, times channels and IFs) would hold more than
    ``max_window`` values."""
    _window(fb, time_s, dm, width_s, n_time=n_time, dm_factor=dm_factor,
            min_dm_span=min_dm_span, decimation=decimation, max_window=max_window)


def _window(fb, time_s, dm, width_s, *, n_time, dm_factor, min_dm_span,
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


def candidate_images(fb, time_s: float, dm: float, width_s: float, *,
                     stats: ChannelStats | None = None, n_dm: int = 256, n_time: int = 256,
                     n_freq: int = 256, dm_factor: float = 2.0, min_dm_span: float = 10.0,
                     decimation: int | None = None, method: str = "auto",
                     max_window: int = MAX_WINDOW) -> dict:
    """The DM-time and frequency-time images of one candidate.

    Parameters
    ----------
    fb : Filterbank or PsrfitsFile
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
    h = fb.header
    extra = {"decimation": D, "dm_cand": float(dm), "time_cand": float(time_s),
             "tsamp": float(tsamp), "tstart_mjd": float(h.tstart), "fch1": float(fb.freqs[0]),
             "foff": float(fb.freqs[1] - fb.freqs[0]) if fb.nchans > 1 else 0.0,
             "nchans": int(fb.nchans)}
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
