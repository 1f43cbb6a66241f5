"""Candidates/s of our DM-time + frequency-time images vs ``your.candidate.Candidate``, and
how well the two DM-time images agree.

Run: ``python benchmarks/bench_transients.py [N_CANDIDATES] [REPEATS]`` (defaults 10, 3).

Speed: both pipelines make the images of the same FRB/pulsar candidates of one simulated
8-bit filterbank (256 channels, 1 ms), interleaved candidate by candidate (ours, then
``your``'s) and repeated, so a shared machine's load hits both alike; ours includes the
file's channel statistics (once per file per repeat). ``your``'s pipeline is the one of its
``your_candmaker.py``: ``get_chunk``, ``dmtime`` (256 DMs), ``dedisperse``, ``decimate``
(time, by ``width // 2``), centre ``crop`` to 256 columns, ``resize`` to 256 x 256.

Agreement, like with like. ``your`` and ours differ in ways that are not errors:

* window: ``get_chunk`` reads ``tcand - sweep - width .. tcand + sweep + width`` and, when
  ``width > 2`` and that is short, extends it to ``256 * width / 2`` samples from the same
  start (not centred: the ``else`` after its ``min_samp`` test resets the start), so after
  the centre crop a low-DM candidate sits near column 23 instead of 128 (the pulse is
  still in the image, off-centre); with ``width <= 2`` it sits at column 129, one right of
  ours (128). Comparing the images as made therefore mostly measures this shift. The
  comparison therefore makes our image over ``your``'s window (same first sample, same
  decimation ``D``, same DM range ``0 .. 2 DM``, same channel mask via ``kill_mask``);
* ``your`` rolls each channel circularly, so at trial DMs above the candidate's, the low
  channels of the right part of its image wrap around to the start of the chunk: those
  pixels are left out (the fraction kept is printed);
* ours divides each channel by its standard deviation before summing (``your`` sums raw
  values), which weights the channels slightly differently.

The Pearson correlation of the DM-time images over the kept pixels is printed per candidate.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.imaging import dedisperse as dd
from workbench.io.filterbank import Filterbank
from workbench.io.ingest_filterbank import candidate_images, channel_stats
from workbench.sims.transients import simulate_transients


def your_images(fil, row, tsamp, kill_mask=None):
    """``your``'s candidate images, as ``your_candmaker.py`` makes them."""
    from your.candidate import Candidate
    from your.utils.misc import crop

    width = max(1, int(round(row.width_s / tsamp)))
    kw = {} if kill_mask is None else {"kill_mask": np.asarray(kill_mask, bool)}
    cand = Candidate(fp=str(fil), dm=row.dm, tcand=row.time_s, width=width, snr=row.snr, **kw)
    cand.get_chunk()
    cand.dmtime()
    cand.dedisperse()
    dec = 1 if width == 1 else width // 2
    cand.decimate(key="ft", axis=0, pad=True, decimate_factor=dec, mode="median")
    cand.dedispersed = crop(cand.dedispersed, cand.dedispersed.shape[0] // 2 - 128, 256, 0)
    cand.decimate(key="ft", axis=1, pad=True, decimate_factor=max(1, cand.dedispersed.shape[1]
                                                                  // 256), mode="median")
    cand.resize(key="ft", size=256, axis=1, anti_aliasing=True)
    cand.decimate(key="dmt", axis=1, pad=True, decimate_factor=dec, mode="median")
    cand.dmt = crop(cand.dmt, cand.dmt.shape[1] // 2 - 128, 256, 1)
    cand.resize(key="dmt", size=256, axis=0, anti_aliasing=True)
    return cand.dmt, cand.dedispersed, cand.data.shape[0]


def your_window(fb, row, n_time=256):
    """Where ``your``'s DM-time image lies: ``(first native sample of column 0, decimation,
    samples in its chunk, first chunk sample)``, from ``Candidate.get_chunk``'s arithmetic
    (min_samp = 256)."""
    tsamp = fb.tsamp
    width = max(1, int(round(row.width_s / tsamp)))
    sweep = float(dd.dispersion_delay(row.dm, fb.freqs).max())
    t0, t1 = row.time_s - sweep - width * tsamp, row.time_s + sweep + width * tsamp
    nstart, nsamp = int(t0 / tsamp), int((t1 - t0) / tsamp)
    nread, start = nsamp, nstart
    if width > 2 and nread // (width // 2) < 256:
        nread = 256 * width // 2
        start = nstart - (nread - nsamp) // 2
    if nread < 256:
        nread = 256
        start = nstart - (nread - nsamp) // 2
    else:
        start = nstart  # (sic: this branch also undoes the widening's centring)
    dec = 1 if width == 1 else width // 2
    cols = -(-nread // dec)
    c0 = cols // 2 - n_time // 2
    return start + c0 * dec, dec, nread, start


def compare(fb, row, dmt_your, n_read, stats):
    """Correlation of our DM-time image over ``your``'s window with ``your``'s, over the
    pixels ``your`` did not wrap around; returns (corr, corr over all pixels, fraction kept,
    column of the candidate in your image; ours puts it at 128)."""
    s0, dec, nread, start = your_window(fb, row)
    assert nread == n_read, (nread, n_read)
    t_equiv = (s0 + 128 * dec) * fb.tsamp  # our window starts at round(t / tsamp) - 128 D
    ours = candidate_images(fb, t_equiv, row.dm, row.width_s, stats=stats, min_dm_span=0.0,
                            decimation=dec)["dm_time"]
    dms = np.linspace(0, 2 * row.dm, 256)
    maxdel = dd.delay_samples(dms, fb.freqs, fb.tsamp).max(axis=1)  # (n_dm,)
    j = np.arange(256)
    last = (s0 - start) + (j + 1) * dec - 1  # last chunk sample of column j
    keep = last[None, :] + maxdel[:, None] < nread
    b = np.asarray(dmt_your, np.float64)
    r = np.corrcoef(ours[keep].astype(np.float64), b[keep])[0, 1]
    r_all = np.corrcoef(ours.ravel().astype(np.float64), b.ravel())[0, 1]
    column = (round(row.time_s / fb.tsamp) - s0) / dec
    return float(r), float(r_all), float(keep.mean()), column


def main(n_cands: int = 10, repeats: int = 3):
    tmp = Path(tempfile.mkdtemp())
    simulate_transients(tmp / "sim", max(30, 3 * n_cands), seed=7)
    fil = tmp / "sim" / "sources" / "transients.fil"
    cands = pd.read_csv(tmp / "sim" / "sources" / "candidates.csv")
    cands = cands[cands.truth.isin(["frb", "pulsar"])].head(n_cands)
    rows = list(cands.itertuples())
    fb = Filterbank(fil)
    print(f"file: {fb}")
    print(f"{len(rows)} candidates (FRB/pulsar), DM {cands.dm.min():.0f}..{cands.dm.max():.0f}, "
          f"widths {sorted(set(np.maximum(1, np.round(cands.width_s / fb.tsamp)).astype(int)))}"
          " samples")
    try:
        import your  # noqa: F401
    except ImportError as exc:
        print(f"your: not installed ({exc})")
        return
    stats = channel_stats(fb)
    your_images(fil, rows[0], fb.tsamp)  # warm imports and the page cache
    candidate_images(fb, rows[0].time_s, rows[0].dm, rows[0].width_s, stats=stats)
    load0 = os.getloadavg()
    t_ours, t_your = [], []
    theirs = []
    for rep in range(repeats):
        to = ty = 0.0
        t = time.perf_counter()
        st = channel_stats(fb)
        to += time.perf_counter() - t
        for r in rows:
            t = time.perf_counter()
            candidate_images(fb, r.time_s, r.dm, r.width_s, stats=st)
            to += time.perf_counter() - t
            t = time.perf_counter()
            out = your_images(fil, r, fb.tsamp, kill_mask=st.mask)
            ty += time.perf_counter() - t
            if rep == 0:
                theirs.append(out)
        t_ours.append(to / len(rows))
        t_your.append(ty / len(rows))
    load1 = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) before "
          f"{tuple(round(x, 2) for x in load0)}, after {tuple(round(x, 2) for x in load1)}")
    print(f"{repeats} interleaved repeats, per candidate (ms): ours "
          f"{[round(x * 1e3, 1) for x in t_ours]}, your {[round(x * 1e3, 1) for x in t_your]}")
    mo, my = float(np.median(t_ours)), float(np.median(t_your))
    ratios = [y / o for o, y in zip(t_ours, t_your)]
    print(f"workbench: {1 / mo:8.1f} candidates/s ({mo * 1e3:.1f} ms each, channel "
          "statistics included)")
    print(f"your:      {1 / my:8.1f} candidates/s ({my * 1e3:.1f} ms each)")
    print(f"speed-up:  {my / mo:.1f}x per candidate (median; per repeat "
          f"{', '.join(f'{x:.1f}' for x in ratios)})")
    cors, cors_all = [], []
    print("DM-time agreement (ours over your's window, same D, DMs 0..2 DM, same mask):")
    for r, (dmt, _ft, n_read) in zip(rows, theirs):
        c, c_all, kept, col = compare(fb, r, dmt, n_read, stats)
        cors.append(c)
        cors_all.append(c_all)
        print(f"  DM {r.dm:6.1f}  width {max(1, round(r.width_s / fb.tsamp)):2d}  corr "
              f"{c:.3f} (all pixels {c_all:.3f}, unwrapped {kept:.0%})  candidate at your "
              f"column {col:.1f}")
    print(f"DM-time correlation over unwrapped pixels: median {np.median(cors):.3f}, min "
          f"{np.min(cors):.3f} (n={len(cors)}); over all pixels (your wrap-around "
          f"included): median {np.median(cors_all):.3f}, min {np.min(cors_all):.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10,
         int(sys.argv[2]) if len(sys.argv) > 2 else 3)
