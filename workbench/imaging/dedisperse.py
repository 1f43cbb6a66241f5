"""Incoherent dedispersion and the images of single-pulse candidates (pure numpy).

A pulse that left the source at one instant arrives at frequency ``f`` (MHz) later than at
the reference frequency ``f_ref`` by

    dt = 4.148808e3 s * DM * (f**-2 - f_ref**-2)

with DM in pc cm^-3 (:data:`KDM` is the constant in s MHz^2 pc^-1 cm^3). Here ``f_ref`` is
the highest frequency of the band unless given, so delays are >= 0 and a candidate's time is
its arrival time at the top of the band (the Heimdall, PRESTO and ``your`` convention).

Filterbank data are arrays of shape ``(n_chan, n_time)`` with the frequency of each row in
``freqs`` (MHz, any order). Delays are rounded to whole input samples. With a time
decimation ``D``, output sample ``j`` of a channel is the mean of its input samples
``j*D + delay ... j*D + delay + D - 1``: the same as shifting at full resolution and then
averaging blocks of ``D`` (what ``your`` and FETCH do), computed as a running mean read
every ``D`` samples (the running mean is split by sample phase so the reads are contiguous).
Rounding delays to whole decimated samples instead would put a pulse one column early in
the channels whose delay falls in the second half of a block.

:func:`dm_time` dedisperses at all trial DMs at once, by blocks of DM rows: channel by
channel, or, where runs of adjacent channels share one delay (low DMs), as differences of
channel-cumulative rows; for many channels a two-stage sub-band sum
(:func:`subband_plan`) shares the partial sums of trial DMs whose delays within a sub-band
are the same. Every method uses exactly the rounded delay of every channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KDM", "dispersion_delay", "delay_samples", "boxcar", "dedisperse", "dm_time",
           "SubbandPlan", "subband_plan", "decimate", "resize", "median", "normalise", "bad_channels",
           "fold"]

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


def _windows(flat: np.ndarray, n_out: int, step: int = 1) -> np.ndarray:
    """View of every window of ``n_out`` samples ``step`` apart in the 1-D array ``flat``:
    row ``i`` is ``flat[i : i + n_out * step : step]``."""
    n = flat.size - (n_out - 1) * step
    if n <= 0:
        return np.empty((0, n_out), flat.dtype)
    s = flat.strides[0]
    return np.lib.stride_tricks.as_strided(flat, (n, n_out), (s, s * step), writeable=False)


def boxcar(data, width: int) -> np.ndarray:
    """Running mean of ``width`` samples along the last axis.

    Parameters
    ----------
    data : array of shape (..., n_time)
    width : int

    Returns
    -------
    ndarray of shape (..., n_time - width + 1), float32
        Sample ``t`` is ``mean(data[..., t : t + width])``; sampling it every ``width``
        samples from ``t0`` gives the data block-averaged from ``t0``.
    """
    x = np.asarray(data, dtype=np.float32)
    width = int(width)
    if width <= 1:
        return x
    n = x.shape[-1] - width + 1
    if n <= 0:
        raise ValueError(f"boxcar of {width} samples is longer than the data ({x.shape[-1]})")
    if width <= 16:  # direct sums: exact in float32
        out = x[..., :n].copy()
        for k in range(1, width):
            out += x[..., k:k + n]
    else:  # cumulative sum in float64 (no float32 drift over long series)
        cs = np.zeros(x.shape[:-1] + (x.shape[-1] + 1,), np.float64)
        np.cumsum(x, axis=-1, out=cs[..., 1:])
        out = (cs[..., width:] - cs[..., :n]).astype(np.float32)
    out *= np.float32(1.0 / width)
    return out


def dedisperse(data, freqs, dm: float, tsamp: float, *, n_out: int | None = None,
               decimation: int = 1, f_ref: float | None = None) -> np.ndarray:
    """Shift every channel by its dispersion delay at ``dm`` (and block-average in time).

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
        Output length; default as many as fit.
    decimation : int
        ``D``: output sample ``j`` of channel ``c`` is the mean of input samples
        ``j*D + delay_c ... j*D + delay_c + D - 1`` (delays rounded to input samples, so
        this equals shifting at full resolution and then averaging blocks of ``D``). A
        dispersed pulse lines up at its arrival time at ``f_ref``.

    Returns
    -------
    ndarray of shape (n_chan, n_out), float32
    """
    D = max(1, int(decimation))
    m = np.ascontiguousarray(boxcar(data, D), dtype=np.float32)
    nchan, ntm = m.shape
    d = delay_samples(dm, freqs, tsamp, f_ref=f_ref)
    dmax = int(d.max())
    n_fit = (ntm - 1 - dmax) // D + 1
    n_out = n_fit if n_out is None else int(n_out)
    if n_out <= 0 or n_out > n_fit:
        raise ValueError(f"dispersion sweep of {dmax} samples at DM {dm} leaves no "
                         f"room for {n_out} output samples of {D} in {data.shape[1]}")
    return _windows(m.reshape(-1), n_out, D)[np.arange(nchan) * ntm + d].copy()


@dataclass(frozen=True)
class SubbandPlan:
    """How :func:`dm_time` sums channels in two stages (see :func:`subband_plan`).

    Channels (sorted by descending frequency) are cut into ``n_band`` sub-bands of
    ``chans_per_band`` (the last one padded with empty channels). Trial DMs whose channels
    have the same delays relative to the sub-band's top channel form a group; stage 1 sums
    each sub-band once per group, stage 2 adds the sub-bands, each shifted by its top
    channel's delay at the trial DM. The delays are exactly the rounded delays of every
    channel: :meth:`delays` reproduces them.

    Attributes
    ----------
    n_chan, chans_per_band : int
    shift : int array of shape (n_band, n_dm)
        Delay of each sub-band's top channel at each trial DM, samples.
    group : int array of shape (n_band, n_dm)
        Group (row of ``inner[b]``) of each trial DM in each sub-band.
    inner : int array of shape (n_band, n_group, chans_per_band)
        Delays within each sub-band relative to its top channel, per group, samples.
    lo, hi : int arrays of shape (n_band, n_group)
        Smallest and largest ``shift`` among the trial DMs of each group.
    used : bool array of shape (n_band, n_group)
        Which groups exist (sub-bands have different numbers of groups).
    cost : float
        Estimated work (sample additions).
    """

    n_chan: int
    chans_per_band: int
    shift: np.ndarray
    group: np.ndarray
    inner: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    used: np.ndarray
    cost: float

    def delays(self) -> np.ndarray:
        """Delay of every (trial DM, sorted channel), int64 (n_dm, n_chan)."""
        nb = self.shift.shape[0]
        eff = self.shift[:, :, None] + self.inner[np.arange(nb)[:, None], self.group]
        return np.transpose(eff, (1, 0, 2)).reshape(self.shift.shape[1], -1)[:, :self.n_chan]


def subband_plan(delays, *, chans_per_band: int, n_out: int, decimation: int = 1,
                 max_shift_span: int | None = None) -> SubbandPlan:
    """Plan the exact two-stage sub-band sum of :func:`dm_time`.

    In each sub-band, trial DMs whose channels have the same delays relative to the
    sub-band's top channel (and top-channel delays within ``max_shift_span``) share one
    stage-1 row.

    Parameters
    ----------
    delays : int array of shape (n_dm, n_chan)
        Rounded delays (samples, >= 0) of the channels sorted by descending frequency;
        the trial DMs (rows) in any order.
    chans_per_band : int
    n_out, decimation : int
        Output samples and input samples per output sample.
    max_shift_span : int, optional
        Bound on the spread of top-channel delays within a group (bounds the length of
        the stage-1 rows); default ``max(16, n_out * decimation // 4)``.
    """
    d = np.asarray(delays, np.int64)
    n_dm, nchan = d.shape
    D = max(1, int(decimation))
    cps = max(1, int(chans_per_band))
    cap = max(16, n_out * D // 4) if max_shift_span is None else max(1, int(max_shift_span))
    nb = -(-nchan // cps)
    pad = nb * cps - nchan
    dp = np.concatenate([d, np.repeat(d[:, -1:], pad, axis=1)], axis=1)
    dp = np.transpose(dp.reshape(n_dm, nb, cps), (1, 0, 2))  # (nb, n_dm, cps)
    shift = dp[:, :, 0]
    rel = dp - shift[:, :, None]
    # one integer key per (band, DM): the relative delays and the shift bucket
    base = int(rel.max()) - int(rel.min()) + 1
    nbucket = int(shift.max()) // cap + 1
    if (cps + 1) * np.log2(max(base, 2)) + np.log2(nbucket) < 62:
        key = (shift // cap).copy()
        for c in range(cps):
            key = key * base + (rel[:, :, c] - rel.min())
        o = np.lexsort((shift, key), axis=-1)
        ks = np.take_along_axis(key, o, axis=1)
    else:  # keys would overflow: group neighbouring DMs only
        o = np.broadcast_to(np.argsort(d[:, -1], kind="stable"), (nb, n_dm))
        rs = np.take_along_axis(rel, o[:, :, None], axis=1)
        ks = np.zeros((nb, n_dm), np.int64)
        ks[:, 1:] = np.cumsum(np.any(rs[:, 1:] != rs[:, :-1], axis=2), axis=1)
    new = np.ones((nb, n_dm), bool)
    new[:, 1:] = ks[:, 1:] != ks[:, :-1]
    rank = np.cumsum(new, axis=1) - 1
    ng = int(rank[:, -1].max()) + 1
    pos = np.flatnonzero(new)  # first member of every group (sorted order)
    band = pos // n_dm
    gr = rank.ravel()[pos]
    sh_s = np.take_along_axis(shift, o, axis=1).ravel()
    lo = np.zeros((nb, ng), np.int64)
    hi = np.zeros((nb, ng), np.int64)
    used = np.zeros((nb, ng), bool)
    inner = np.zeros((nb, ng, cps), np.int64)
    lo[band, gr] = np.minimum.reduceat(sh_s, pos) if pos.size else 0
    hi[band, gr] = np.maximum.reduceat(sh_s, pos) if pos.size else 0
    used[band, gr] = True
    inner[band, gr] = rel[band, o.ravel()[pos]]
    group = np.empty_like(rank)
    np.put_along_axis(group, o, rank, axis=1)
    length = int((hi - lo).max()) + (n_out - 1) * D + 1
    cost = int(used.sum()) * cps * length + n_dm * nb * n_out
    return SubbandPlan(nchan, cps, shift, group, inner, lo, hi, used, float(cost))


def dm_time(data, freqs, dms, tsamp: float, *, n_out: int | None = None,
            decimation: int = 1, f_ref: float | None = None, mask=None,
            method: str = "auto",
            max_block: int = 1 << 22) -> np.ndarray:
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
        Output length; default as many as fit after the largest delay.
    decimation : int
        ``D``: output sample ``j`` averages input samples ``j*D + delay ... + D - 1`` of
        each channel (shift at full resolution, then average), as :func:`dedisperse`.
    mask : bool array of shape (n_chan,), optional
        True for channels to leave out.
    method : {"auto", "exact", "subband"}
        How channels are summed; all give the same result (every channel shifted by its
        rounded delay) up to float32 rounding. ``"exact"``: channel by channel (or by runs
        of channels sharing a delay); ``"subband"``: the two-stage sum of
        :func:`subband_plan`; ``"auto"``: whichever is estimated cheaper.
    max_block : int
        Bound on the size (elements) of temporary arrays; limits memory.

    Returns
    -------
    ndarray of shape (n_dm, n_out), float32
        Row ``i`` is ``sum_c mean(data[c, t*D + delay(dms[i], c) : ... + D])``.
    """
    if method not in ("auto", "exact", "subband"):
        raise ValueError("method must be 'auto', 'exact' or 'subband'")
    D = max(1, int(decimation))
    freqs = np.asarray(freqs, dtype=np.float64)
    dms = np.atleast_1d(np.asarray(dms, dtype=np.float64))
    order = np.argsort(-freqs, kind="stable")
    if mask is not None:
        order = order[~np.asarray(mask, bool)[order]]
    freqs_s = freqs[order]
    nt = np.shape(data)[1]
    f_ref = float(freqs.max()) if f_ref is None else float(f_ref)
    d = delay_samples(dms, freqs_s, tsamp, f_ref=f_ref)
    dmax = int(d.max()) if d.size else 0
    n_fit = (nt - D - dmax) // D + 1
    n_out = n_fit if n_out is None else int(n_out)
    if n_out <= 0 or n_out > n_fit:
        raise ValueError(f"dispersion sweep of {dmax} samples at DM {dms.max():g} leaves no "
                         f"room for {n_out} output samples of {D} in {nt}")
    n_dm, nsel = d.shape
    if nsel == 0:
        return np.zeros((n_dm, n_out), np.float32)
    x = np.asarray(data, dtype=np.float32)[order]
    offset = x.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
    x -= offset  # keeps float32 sums exact (x is a copy)
    m = np.ascontiguousarray(boxcar(x, D))
    runs = 1 + (d[:, 1:] != d[:, :-1]).sum(axis=1)
    plan = None
    # measured (2 cores): for 256 channels the channel-by-channel sum is as fast or faster;
    # for 1024-4096 channels the sub-band sum is 1.5-2x faster once D > 1 or the sweep
    # exceeds twice the output length, and slower below that
    if method == "subband" or (method == "auto" and nsel >= 512
                               and (D > 1 or dmax >= 2 * n_out)):
        plan = subband_plan(d, chans_per_band=4, n_out=n_out, decimation=D)
    if plan is None:
        out = _exact(m, d, n_out, D, runs, max_block)
    else:
        out = _subband(m, plan, n_out, D, max_block)
    out += np.float32(offset.sum())
    return out


def _phased(m, D):
    """Rows of ``m`` split by sample phase: a contiguous ``(D * rows, L)`` array whose row
    ``p * rows + r`` is ``m[r, p::D]`` (zero-padded to ``L = ceil(n / D)``); returns it and
    ``L``. Sampling every ``D``-th value then reads contiguous memory."""
    rows, n = m.shape
    if D == 1:
        return np.ascontiguousarray(m), n
    L = -(-n // D)
    buf = np.zeros((rows, L * D), np.float32)
    buf[:, :n] = m
    return np.ascontiguousarray(buf.reshape(rows, L, D).transpose(2, 0, 1)).reshape(-1, L), L


def _exact(m, d, n_out, D, runs, max_block):
    """Exact DM-time sum: per block of DM rows, add channel rows directly or, where runs
    of channels share one delay, as differences of channel-cumulative rows."""
    nsel, ntm = m.shape
    n_dm = d.shape[0]
    out = np.zeros((n_dm, n_out), np.float32)
    ph, L = _phased(m, D)
    win = np.lib.stride_tricks.sliding_window_view(ph.reshape(-1), n_out)
    win_c = None
    rows = max(1, max_block // max(1, n_out))  # DM rows per block
    for i in range(0, n_dm, rows):
        j = min(n_dm, i + rows)
        dd_ = d[i:j]
        k = int(runs[i:j].max())
        acc = out[i:j]
        if 2 * k >= nsel:  # channel by channel
            idx = (dd_ % D) * (nsel * L) + np.arange(nsel) * L + dd_ // D
            for c in range(nsel):
                acc += win[idx[:, c]]
            continue
        if win_c is None:
            csum = np.zeros((nsel + 1, ntm), np.float32)
            np.cumsum(m, axis=0, out=csum[1:])
            ph_c, _ = _phased(csum, D)
            win_c = np.lib.stride_tricks.sliding_window_view(ph_c.reshape(-1), n_out)
        # a run [a, b) of channels with delay s adds csum[b, s:] - csum[a, s:]
        start = np.ones(dd_.shape, bool)
        start[:, 1:] = dd_[:, 1:] != dd_[:, :-1]
        r, a = np.nonzero(start)
        cnt = start.sum(axis=1)
        first = np.cumsum(cnt) - cnt
        b = np.empty_like(a)
        b[:-1] = a[1:]
        b[first[1:] - 1] = nsel
        b[-1] = nsel
        pos = np.arange(r.size) - first[r]
        s = dd_[r, a]
        base = (s % D) * ((nsel + 1) * L) + s // D
        ia = np.zeros((j - i, k), np.int64)  # padding: row 0 of csum, which is 0
        ib = np.zeros((j - i, k), np.int64)
        ia[r, pos] = base + a * L
        ib[r, pos] = base + b * L
        for kk in range(k):
            acc += win_c[ib[:, kk]]
            acc -= win_c[ia[:, kk]]
    return out


def _subband(m, plan: SubbandPlan, n_out, D, max_block):
    """Two-stage DM-time sum (see :class:`SubbandPlan`)."""
    nsel, ntm = m.shape
    nb, ng, cps = plan.inner.shape
    n_dm = plan.shift.shape[1]
    band, grp = np.nonzero(plan.used)  # one stage-1 row per existing (band, group)
    R = band.size
    row_of = np.zeros((nb, ng), np.int64)
    row_of[band, grp] = np.arange(R)
    lo = plan.lo[band, grp]
    inner = plan.inner[band, grp]  # (R, cps)
    length = int((plan.hi[band, grp] - lo).max()) + (n_out - 1) * D + 1
    need = max(ntm, int((lo[:, None] + inner).max()) + length)
    ext = np.zeros((nsel + 1, need), np.float32)  # last row: zeros for padding channels
    ext[:nsel, :ntm] = m
    chan = np.minimum(np.arange(nb * cps).reshape(nb, cps), nsel)[band]  # (R, cps)
    idx = chan * need + lo[:, None] + inner
    win = np.lib.stride_tricks.sliding_window_view(ext.reshape(-1), length)
    stage = np.empty((R, length), np.float32)
    per = max(1, max_block // length)
    for r0 in range(0, R, per):
        r1 = min(R, r0 + per)
        acc = stage[r0:r1]
        acc[...] = win[idx[r0:r1, 0]]
        for c in range(1, cps):
            acc += win[idx[r0:r1, c]]
    ph, L = _phased(stage, D)
    wst = np.lib.stride_tricks.sliding_window_view(ph.reshape(-1), n_out)
    out = np.zeros((n_dm, n_out), np.float32)
    for b in range(nb):
        g = plan.group[b]
        off = plan.shift[b] - plan.lo[b, g]
        out += wst[(off % D) * (R * L) + row_of[b, g] * L + off // D]
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


_BLAS: list = []  # [threadpoolctl controller or None], made on first use


def _one_blas_thread():
    """Context: BLAS on one thread. A float32 matrix product's last bits depend on how many
    threads BLAS splits it over (measured with OpenBLAS: freq-time images of a real Parkes
    file differ between OPENBLAS_NUM_THREADS=1, as in a Dask worker, and the default), so
    :func:`resize` runs on one, giving the same bytes in every process. Without
    threadpoolctl nothing is limited."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - installed with scikit-learn
            _BLAS.append(None)
    import contextlib

    return contextlib.nullcontext() if _BLAS[0] is None else _BLAS[0].limit(
        limits=1, user_api="blas")


def resize(image, shape: tuple[int, int]) -> np.ndarray:
    """Resample a 2-D image to ``shape = (ny, nx)``: pixel-area averaging when shrinking an
    axis (flux-preserving, no aliasing), linear interpolation when growing it. float32;
    the same bytes whatever the number of BLAS threads (:func:`_one_blas_thread`)."""
    img = np.asarray(image, dtype=np.float32)
    ny, nx = shape
    if img.shape == (ny, nx):
        return np.ascontiguousarray(img)
    with _one_blas_thread():
        if img.shape[0] != ny:
            img = _resample_matrix(img.shape[0], ny) @ img
        if img.shape[1] != nx:
            img = img @ _resample_matrix(img.shape[1], nx).T
    return np.ascontiguousarray(img, dtype=np.float32)


def median(data, *, axis: int | None = None) -> np.ndarray:
    """Median along ``axis`` (None: of all values) by partial sorting; several times faster
    than :func:`numpy.median` along an axis. NaNs are not treated specially. float32."""
    x = np.asarray(data, dtype=np.float32)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    if n == 0:
        raise ValueError("median of an empty axis")
    k = n // 2
    part = np.partition(x, k, axis=-1)  # one kth: much faster than two
    if n % 2:
        return part[..., k]
    return (0.5 * (part[..., :k].max(axis=-1) + part[..., k])).astype(np.float32)


def normalise(image) -> np.ndarray:
    """Subtract the median and divide by the standard deviation (float32; a flat image -> 0)."""
    img = np.asarray(image, dtype=np.float32)
    img = img - np.float32(median(img))
    sd = float(img.std())
    return img / np.float32(sd) if sd > 0 and np.isfinite(sd) else np.zeros_like(img)


def bad_channels(data, *, threshold: float = 5.0, std=None) -> np.ndarray:
    """Channels to mask: constant ones, and those whose standard deviation is an outlier.

    Parameters
    ----------
    data : array of shape (n_chan, n_time)
    threshold : float
        Outlier cut in robust standard deviations (1.4826 x MAD) of the log channel spread.
    std : array of shape (n_chan,), optional
        The channels' standard deviations, if already computed.

    Returns
    -------
    bool array of shape (n_chan,), True = bad.
    """
    sd = np.asarray(data, dtype=np.float32).std(axis=1) if std is None else np.asarray(std)
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
