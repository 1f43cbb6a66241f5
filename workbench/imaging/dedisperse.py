"""Incoherent dedispersion and the images of single-pulse candidates (pure numpy).

A pulse that left the source at one instant arrives at frequency ``f`` (MHz) later than at
the reference frequency ``f_ref`` by

    dt = 4.148808e3 s * DM * (f**-2 - f_ref**-2)

with DM in pc cm^-3 (:data:`KDM` is the constant in s MHz^2 pc^-1 cm^3). Here ``f_ref`` is
the highest frequency of the band unless given, so delays are >= 0 and a candidate's time is
its arrival time at the top of the band (the Heimdall, PRESTO and ``your`` convention).

Filterbank data are arrays of shape ``(n_chan, n_time)`` with the frequency of each row in
``freqs`` (MHz, any order). Delays are rounded to whole samples. :func:`dm_time` dedisperses
at all trial DMs at once: channels are sorted by frequency and summed cumulatively, so the
channels that share one integer delay at a trial DM are added by one subtraction of two
cumulative rows, and every row is gathered as a contiguous window (no per-channel Python loop).
"""

from __future__ import annotations

import numpy as np

__all__ = ["KDM", "dispersion_delay", "delay_samples", "dedisperse", "dm_time", "decimate",
           "resize", "normalise", "bad_channels", "fold"]

#: Dispersion constant, s MHz^2 pc^-1 cm^3.
KDM = 4.148808e3


def dispersion_delay(dm, freqs, *, f_ref: float | None = None) -> np.ndarray:
    """Dispersion delay of each frequency relative to ``f_ref``.

    Parameters
    ----------
    dm : float or array of shape (n_dm,)
        Dispersion measure(s), pc cm^-3.
    freqs : array of shape (n_chan,)
        Frequencies, MHz.
    f_ref : float, optional
        Reference frequency, MHz; default ``max(freqs)``.

    Returns
    -------
    ndarray of shape (n_chan,) or (n_dm, n_chan)
        Delays in s (>= 0 for ``f <= f_ref``).
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    f_ref = float(np.max(freqs)) if f_ref is None else float(f_ref)
    k = KDM * (freqs ** -2.0 - f_ref ** -2.0)
    dm = np.asarray(dm, dtype=np.float64)
    return dm[..., None] * k if dm.ndim else float(dm) * k


def delay_samples(dm, freqs, tsamp: float, *, f_ref: float | None = None) -> np.ndarray:
    """:func:`dispersion_delay` in whole samples of ``tsamp`` s (rounded), int64."""
    return np.rint(dispersion_delay(dm, freqs, f_ref=f_ref) / tsamp).astype(np.int64)


def _windows(rows: np.ndarray, n_out: int) -> np.ndarray:
    """View of every length-``n_out`` window of the flattened 2-D array ``rows``."""
    return np.lib.stride_tricks.sliding_window_view(rows.reshape(-1), n_out)


def dedisperse(data, freqs, dm: float, tsamp: float, *, n_out: int | None = None,
               f_ref: float | None = None) -> np.ndarray:
    """Shift every channel by its dispersion delay at ``dm``.

    Parameters
    ----------
    data : array of shape (n_chan, n_time)
    freqs : array of shape (n_chan,)
        MHz.
    dm : float
        pc cm^-3.
    tsamp : float
        Sampling time of ``data``, s.
    n_out : int, optional
        Output length; default ``n_time - max delay``. Output sample ``t`` of channel ``c``
        is input sample ``t + delay_c``, so a dispersed pulse lines up at its arrival
        time at ``f_ref``.

    Returns
    -------
    ndarray of shape (n_chan, n_out), float32
    """
    data = np.ascontiguousarray(data, dtype=np.float32)
    nchan, nt = data.shape
    d = delay_samples(dm, freqs, tsamp, f_ref=f_ref)
    n_out = nt - int(d.max()) if n_out is None else int(n_out)
    if n_out <= 0 or int(d.max()) + n_out > nt:
        raise ValueError(f"dispersion sweep of {int(d.max())} samples at DM {dm} leaves no "
                         f"room for {n_out} output samples in {nt}")
    return _windows(data, n_out)[np.arange(nchan) * nt + d].copy()


def dm_time(data, freqs, dms, tsamp: float, *, n_out: int | None = None,
            f_ref: float | None = None, mask=None, max_block: int = 1 << 22) -> np.ndarray:
    """Band-summed time series dedispersed at every trial DM (the DM-time "bow-tie").

    Parameters
    ----------
    data : array of shape (n_chan, n_time)
    freqs : array of shape (n_chan,)
        MHz, any order.
    dms : array of shape (n_dm,)
        Trial DMs, pc cm^-3.
    tsamp : float
        Sampling time of ``data``, s.
    n_out : int, optional
        Output length; default ``n_time - largest delay``.
    mask : bool array of shape (n_chan,), optional
        True for channels to leave out.
    max_block : int
        Bound on the size (elements) of the temporary gather array; limits memory.

    Returns
    -------
    ndarray of shape (n_dm, n_out), float32
        Row ``i`` is ``sum_c data[c, t + delay(dms[i], c)]``.
    """
    data = np.asarray(data, dtype=np.float32)
    freqs = np.asarray(freqs, dtype=np.float64)
    dms = np.atleast_1d(np.asarray(dms, dtype=np.float64))
    order = np.argsort(-freqs, kind="stable")
    if mask is not None:
        order = order[~np.asarray(mask, bool)[order]]
    freqs_s = freqs[order]
    nt = data.shape[1]
    d = delay_samples(dms, freqs_s, tsamp, f_ref=f_ref if f_ref is not None else freqs.max())
    dmax = int(d.max()) if d.size else 0
    n_out = nt - dmax if n_out is None else int(n_out)
    if n_out <= 0 or dmax + n_out > nt:
        raise ValueError(f"dispersion sweep of {dmax} samples at DM {dms.max():g} leaves no "
                         f"room for {n_out} output samples in {nt}")
    n_dm, nsel = d.shape
    out = np.zeros((n_dm, n_out), np.float32)
    if nsel == 0:
        return out
    sel = data[order]
    offset = sel.mean(axis=1, keepdims=True, dtype=np.float64)  # keeps float32 sums exact
    csum = np.zeros((nsel + 1, nt), np.float32)
    np.cumsum(sel - offset.astype(np.float32), axis=0, out=csum[1:])
    win = _windows(csum, n_out)
    # runs of channels sharing one integer delay (delays are monotone in sorted channels);
    # a run [a, b) with delay s adds csum[b, s:s+n_out] - csum[a, s:s+n_out]
    start = np.ones((n_dm, nsel), bool)
    start[:, 1:] = d[:, 1:] != d[:, :-1]
    runs_per_dm = start.sum(axis=1)
    row, a = np.nonzero(start)
    b = np.empty_like(a)
    b[:-1] = a[1:]
    last = np.cumsum(runs_per_dm) - 1
    b[last] = nsel
    shift = d[row, a]
    first = last - runs_per_dm + 1
    pos = np.arange(row.size) - first[row]
    i = 0
    while i < n_dm:  # blocks of DM rows, padded to the block's most runs (row 0 of csum is 0)
        j = i + 1
        while j < n_dm and (j + 1 - i) * max(runs_per_dm[i:j + 1]) * n_out <= max_block:
            j += 1
        k = int(runs_per_dm[i:j].max())
        ib = np.zeros((j - i, k), np.int64)
        ia = np.zeros((j - i, k), np.int64)
        r0, r1 = first[i], last[j - 1] + 1
        ib[row[r0:r1] - i, pos[r0:r1]] = b[r0:r1] * nt + shift[r0:r1]
        ia[row[r0:r1] - i, pos[r0:r1]] = a[r0:r1] * nt + shift[r0:r1]
        acc = np.zeros((j - i, n_out), np.float32)
        for kk in range(k):  # accumulate run by run: no (rows, k, n_out) temporary
            acc += win[ib[:, kk]]
            acc -= win[ia[:, kk]]
        out[i:j] = acc
        i = j
    out += np.float32(offset.sum())
    return out


def decimate(data, factor: int, *, axis: int = -1) -> np.ndarray:
    """Average blocks of ``factor`` samples along ``axis`` (a trailing partial block is dropped).

    Returns float32 with ``shape[axis] // factor`` samples on that axis.
    """
    data = np.asarray(data, dtype=np.float32)
    factor = int(factor)
    if factor <= 1:
        return data
    data = np.moveaxis(data, axis, -1)
    n = data.shape[-1] // factor
    out = data[..., : n * factor].reshape(*data.shape[:-1], n, factor).mean(axis=-1)
    return np.moveaxis(out, -1, axis).astype(np.float32, copy=False)


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights: area average when shrinking, linear interpolation when growing."""
    if n_in == n_out:
        return np.eye(n_in, dtype=np.float32)
    if n_in > n_out:
        edges = np.linspace(0.0, n_in, n_out + 1)
        lo, hi = edges[:-1, None], edges[1:, None]
        pix = np.arange(n_in)[None, :]
        w = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0.0, None)
    else:
        x = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        x = np.clip(x, 0, n_in - 1)
        i0 = np.floor(x).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w = np.zeros((n_out, n_in))
        np.add.at(w, (np.arange(n_out), i0), 1 - (x - i0))
        np.add.at(w, (np.arange(n_out), i1), x - i0)
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def resize(image, shape: tuple[int, int]) -> np.ndarray:
    """Resample a 2-D image to ``shape = (ny, nx)``: pixel-area averaging when shrinking an
    axis (flux-preserving, no aliasing), linear interpolation when growing it. float32."""
    img = np.asarray(image, dtype=np.float32)
    ny, nx = shape
    if img.shape[0] != ny:
        img = _resample_matrix(img.shape[0], ny) @ img
    if img.shape[1] != nx:
        img = img @ _resample_matrix(img.shape[1], nx).T
    return np.ascontiguousarray(img, dtype=np.float32)


def normalise(image) -> np.ndarray:
    """Subtract the median and divide by the standard deviation (float32; a flat image -> 0)."""
    img = np.asarray(image, dtype=np.float32)
    img = img - np.float32(np.median(img))
    sd = float(img.std())
    return img / np.float32(sd) if sd > 0 and np.isfinite(sd) else np.zeros_like(img)


def bad_channels(data, *, threshold: float = 5.0) -> np.ndarray:
    """Channels to mask: constant ones, and those whose standard deviation is an outlier.

    Parameters
    ----------
    data : array of shape (n_chan, n_time)
    threshold : float
        Outlier cut in robust standard deviations (1.4826 x MAD) of the log channel spread.

    Returns
    -------
    bool array of shape (n_chan,), True = bad.
    """
    data = np.asarray(data, dtype=np.float32)
    sd = data.std(axis=1)
    bad = ~(sd > 0) | ~np.isfinite(sd)
    good = ~bad
    if good.sum() > 2:
        ls = np.log(sd[good])
        med = np.median(ls)
        mad = 1.4826 * np.median(np.abs(ls - med))
        if mad > 0:
            bad[good] = np.abs(ls - med) > threshold * mad
    return bad


def fold(series, tsamp: float, period: float, *, n_bins: int = 64, t0: float = 0.0):
    """Fold a time series at ``period`` s into ``n_bins`` phase bins (mean per bin).

    Parameters
    ----------
    series : array of shape (n_time,)
    tsamp, period, t0 : float
        Sampling time, folding period and time of sample 0, s.

    Returns
    -------
    ndarray of shape (n_bins,), float64 (NaN where a bin received no sample)
    """
    series = np.asarray(series, dtype=np.float64)
    phase = ((t0 + np.arange(series.size) * tsamp) / period) % 1.0
    idx = np.minimum((phase * n_bins).astype(int), n_bins - 1)
    tot = np.bincount(idx, weights=series, minlength=n_bins)
    cnt = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tot / cnt
