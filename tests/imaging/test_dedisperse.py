"""Dedispersion physics: the sweep formula, DM-time against brute force, injected pulses,
folding, and real data (tutorial.fil pulsar; Crab-band noise with injected pulses)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.imaging import dedisperse as dd
from workbench.io.filterbank import Filterbank, write_filterbank
from workbench.io.ingest_filterbank import candidate_images, channel_stats

FREQS = 1500.0 - 1.0 * np.arange(256)  # MHz


def _inject(data, freqs, tsamp, t0, dm, amp):
    d = dd.delay_samples(dm, freqs, tsamp)
    s = int(round(t0 / tsamp))
    data[np.arange(freqs.size), s + d] += amp
    return data


def test_sweep_matches_formula_channel_by_channel():
    tsamp = 1e-4
    for dm in (10.0, 300.0, 1500.0):
        nt = int(dd.dispersion_delay(dm, FREQS).max() / tsamp) + 50
        data = _inject(np.zeros((256, nt), np.float32), FREQS, tsamp, 0.001, dm, 1.0)
        arrival = np.argmax(data, axis=1) * tsamp - 0.001
        expect = 4.148808e3 * dm * (FREQS ** -2.0 - FREQS.max() ** -2.0)
        assert np.all(np.abs(arrival - expect) <= tsamp / 2 + 1e-12)
        # dedispersing at the right DM lines the sweep up in one sample
        ded = dd.dedisperse(data, FREQS, dm, tsamp)
        assert np.all(np.argmax(ded, axis=1) == 10)


def _brute_dm_time(data, freqs, dms, tsamp, n_out, decimation, delays=None, keep=None):
    """Shift every channel at full resolution, sum, then average blocks of ``decimation``."""
    d = dd.delay_samples(dms, freqs, tsamp) if delays is None else delays
    keep = np.arange(freqs.size) if keep is None else keep
    n = n_out * decimation
    out = np.zeros((len(dms), n))
    for i in range(len(dms)):
        for j, c in enumerate(keep):
            dc = d[i, c] if delays is None else d[i, j]
            out[i] += data[c, dc: dc + n]
    return out.reshape(len(dms), n_out, decimation).mean(axis=2)


@pytest.mark.parametrize("decimation", [1, 3])
def test_dm_time_equals_brute_force_and_respects_mask(decimation):
    rng = np.random.default_rng(0)
    freqs = np.sort(rng.uniform(1200, 1500, 40))  # unsorted-by-file, ascending, irregular
    data = rng.normal(size=(40, 1100)).astype(np.float32) + 50
    dms = np.linspace(0, 400, 17)
    mask = np.zeros(40, bool)
    mask[[3, 17]] = True
    out = dd.dm_time(data, freqs, dms, 1e-3, n_out=64, mask=mask, decimation=decimation,
                     method="exact")
    brute = _brute_dm_time(data, freqs, dms, 1e-3, 64, decimation, keep=np.flatnonzero(~mask))
    np.testing.assert_allclose(out, brute, rtol=1e-5, atol=1e-2)
    ft = dd.dedisperse(data, freqs, 200.0, 1e-3, n_out=64, decimation=decimation)
    d = dd.delay_samples(200.0, freqs, 1e-3)
    expect = [data[c, d[c]: d[c] + 64 * decimation].reshape(64, -1).mean(1) for c in range(40)]
    np.testing.assert_allclose(ft, expect, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("decimation,dm_hi", [(1, 1200.0), (1, 40.0), (3, 600.0),
                                          (4, 2000.0)])
def test_subband_sum_uses_the_exact_delays(decimation, dm_hi):
    """The two-stage sub-band sum reproduces every channel's rounded delay, so it equals
    the channel-by-channel sum (irregular channels, unsorted trial DMs, a mask)."""
    rng = np.random.default_rng(decimation)
    freqs = FREQS[rng.permutation(256)[:203]]  # gaps, any order
    dms = rng.uniform(0, dm_hi, 64)
    dms[5] = 0.0
    tsamp = 1e-3
    mask = rng.uniform(size=203) < 0.1
    keep = np.argsort(-freqs, kind="stable")
    keep = keep[~mask[keep]]
    exact = dd.delay_samples(dms, freqs[keep], tsamp)
    dmax = int(exact.max())
    n_out = 48
    data = rng.normal(size=(203, n_out * decimation + dmax + 3)).astype(np.float32) + 7
    for cps in (2, 4, 8, 16):
        plan = dd.subband_plan(exact, chans_per_band=cps, n_out=n_out, decimation=decimation)
        np.testing.assert_array_equal(plan.delays(), exact)
        assert plan.inner.shape[1] < len(dms) or cps == 16  # groups are shared
    out = dd.dm_time(data, freqs, dms, tsamp, n_out=n_out, decimation=decimation,
                     mask=mask, method="subband")
    ex = dd.dm_time(data, freqs, dms, tsamp, n_out=n_out, decimation=decimation,
                    mask=mask, method="exact")
    brute = _brute_dm_time(data, freqs, dms, tsamp, n_out, decimation, keep=keep,
                           delays=exact)
    np.testing.assert_allclose(out, brute, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ex, brute, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("decimation", [2, 4, 5])
def test_decimated_pulse_lands_in_one_column_in_every_channel(tmp_path, decimation):
    """A one-sample dispersed pulse at the candidate time must fall in the candidate column
    in every channel of freq_time and at the DM-time peak (shifting at full resolution,
    then averaging); rounding delays to whole decimated samples moved half the channels
    one column early."""
    tsamp, dm = 1e-3, 333.0
    nt = 6000
    data = np.zeros((256, nt), np.float32)
    t0 = 1.0
    _inject(data, FREQS, tsamp, t0, dm, 100.0)
    data += np.random.default_rng(5).normal(scale=0.01, size=data.shape).astype(np.float32)
    p = write_filterbank(tmp_path / "p.fil", data, tsamp=tsamp, fch1=1500.0, foff=-1.0,
                         nbits=32)
    fb = Filterbank(p)
    img = candidate_images(fb, t0, dm, 2 * decimation * tsamp,
                           stats=channel_stats(fb, mask=None))
    assert img["decimation"] == decimation
    ft = img["freq_time"]
    assert np.all(np.argmax(ft, axis=1) == 128)
    ax = img["axes"]["dm_time"]["axes"][1]
    assert ax["start"] + 128 * ax["step"] <= t0 < ax["start"] + 129 * ax["step"]
    dmt = img["dm_time"]
    iy, ix = np.unravel_index(np.argmax(dmt), dmt.shape)
    # DM resolution: the trial-DM step, or the DM change that moves the sweep by a column
    dm_res = max(2 * dm / 255, decimation * tsamp / float(dd.dispersion_delay(1.0, FREQS).max()))
    assert ix == 128 and abs(iy * 2 * dm / 255 - dm) <= dm_res


@pytest.mark.parametrize("dm", [10.0, 50.0, 200.0, 700.0, 1300.0, 2000.0])
def test_injected_pulse_peaks_at_its_dm_and_time(tmp_path, dm):
    rng = np.random.default_rng(int(dm))
    tsamp = 1e-3
    sweep2 = dd.dispersion_delay(2 * dm, FREQS).max()
    nt = int((sweep2 + 0.8) / tsamp)
    t0 = (300 + int(rng.integers(0, 50))) * tsamp  # on the sample grid
    # intra-channel smearing (8.3 us DM dnu_MHz nu_GHz^-3) sets the width a search reports
    w = max(1, int(round(8.3e-6 * dm * 1.0 * (FREQS.min() / 1e3) ** -3 / tsamp)))
    data = rng.normal(size=(256, nt)).astype(np.float32)
    for k in range(w):
        _inject(data, FREQS, tsamp, t0 + k * tsamp, dm, 24.0 / np.sqrt(256 * w))  # S/N 24
    p = write_filterbank(tmp_path / "p.fil", data, tsamp=tsamp, fch1=1500.0, foff=-1.0,
                         nbits=32)
    fb = Filterbank(p)
    img = candidate_images(fb, t0, dm, w * tsamp, min_dm_span=0.0)
    ax = img["axes"]["dm_time"]["axes"]
    dmt = img["dm_time"]
    iy, ix = np.unravel_index(np.argmax(dmt), dmt.shape)
    dm_peak = ax[0]["start"] + iy * ax[0]["step"]
    t_peak = ax[1]["start"] + (ix + 0.5) * ax[1]["step"]  # bin centre
    assert abs(dm_peak - dm) <= ax[0]["step"]
    assert abs(t_peak - (t0 + w * tsamp / 2)) <= ax[1]["step"] + 1e-9
    # the frequency-time image at the candidate DM is a vertical line at the same column
    ft = img["freq_time"]
    assert abs(int(np.argmax(ft.sum(axis=0))) - 128) <= 1  # the candidate column


def test_fold_shows_one_pulse_per_rotation_tutorial(filterbank_dir):
    """tutorial.fil: SIGPROC `fake` pulsar, P = 250 ms, DM = 30."""
    fb = Filterbank(filterbank_dir / "tutorial.fil")
    st = channel_stats(fb)
    data = (fb.read() - st.median[:, None]) / st.std[:, None]
    ts = dd.dedisperse(data, fb.freqs, 30.0, fb.tsamp).sum(0)
    ts = (ts - ts.mean()) / ts.std()
    _assert_one_pulse_per_rotation(ts, fb.tsamp, 0.25)
    # (its band, 1441-1510 MHz, sweeps only 5 ms at DM 30: too little to pin the DM)


def _assert_one_pulse_per_rotation(ts, tsamp, period):
    nb = 64
    for p, npulse in ((period, 1), (2 * period, 2)):
        prof = dd.fold(ts, tsamp, p, n_bins=nb)
        n = np.bincount(np.minimum(((np.arange(ts.size) * tsamp / p) % 1 * nb).astype(int),
                                   nb - 1), minlength=nb)
        z = prof * np.sqrt(n)
        z = (z - np.median(z)) / (1.4826 * np.median(np.abs(z - np.median(z))))
        on = z > 8
        # contiguous on-pulse regions (circular)
        regions = np.count_nonzero(on & ~np.roll(on, 1))
        assert regions == npulse, (p, np.round(z, 1))


def test_crab_band_single_pulses_and_folding(filterbank_dir):
    """Real Parkes UWL Crab data (704-4030 MHz, 832 channels). The 2.1 s in these files
    hold no Crab pulse above noise (largest S/N at DM 56.8 ~ 4), so Crab-like pulses
    (P = 33.7 ms, DM = 56.8, S/N ~ 15) are injected into the real data; they must be found
    by dedispersing at 56.8, give DM-time images peaking at 56.8 within one DM step, and
    fold to one pulse per rotation."""
    fb = Filterbank(filterbank_dir / "parkes_8bit_1.fil")
    st = channel_stats(fb)
    data = (fb.read() - st.median[:, None]) / st.std[:, None]
    data[st.mask] = 0
    period, dm = 0.0337, 56.8
    good = ~st.mask
    rng = np.random.default_rng(1)
    times = np.arange(0.01, fb.duration - 0.5, period)
    for t in times:
        d = dd.delay_samples(dm, fb.freqs, fb.tsamp)
        s = int(round(t / fb.tsamp))
        data[good, s + d[good]] += rng.uniform(12, 18) / np.sqrt(good.sum())
    ts = dd.dedisperse(data, fb.freqs, dm, fb.tsamp).sum(0)
    z = (ts - np.median(ts)) / ts.std()
    peaks = [i for i in np.flatnonzero(z > 6) if z[i] == z[max(0, i - 5):i + 6].max()]
    assert len(peaks) >= 0.8 * len(times)
    for p in peaks[5:10]:
        blk = data[:, p - 200: p + 200 + 1800]
        dms = np.linspace(0, 2 * dm, 256)
        dmt = dd.dm_time(blk, fb.freqs, dms, fb.tsamp, n_out=400, mask=st.mask)
        near = dmt[:, 195:206]  # pulses repeat every 66 samples: look at this one
        iy, ix = np.unravel_index(np.argmax(near), near.shape)
        assert abs(dms[iy] - dm) <= dms[1] and ix + 195 == 200
    _assert_one_pulse_per_rotation((ts - ts.mean()) / ts.std(), fb.tsamp, period)


@pytest.mark.parametrize("shape,axis", [((7,), None), ((8,), None), ((5, 9), 1), ((6, 10), 0),
                                        ((3, 4, 6), None)])
def test_median_matches_numpy(shape, axis):
    x = np.random.default_rng(sum(shape)).normal(size=shape).astype(np.float32)
    x.ravel()[::3] = 0.5  # ties
    np.testing.assert_allclose(dd.median(x, axis=axis), np.median(x, axis=axis), atol=1e-6)
