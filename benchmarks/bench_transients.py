"""Candidates/s of our DM-time + frequency-time image making vs ``your.candidate.Candidate``.

Both run on the same simulated 8-bit filterbank and the same FRB candidates, one after the
other in one run; the DM-time images are compared (Pearson correlation, after cropping
``your``'s to the same time span). Run: ``python benchmarks/bench_transients.py [N]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench.io.filterbank import Filterbank
from workbench.io.ingest_filterbank import candidate_images, channel_stats
from workbench.sims.transients import simulate_transients


def your_images(fil, row, tsamp):
    from your.candidate import Candidate
    from your.utils.misc import crop

    width = max(1, int(round(row.width_s / tsamp)))
    cand = Candidate(fp=str(fil), dm=row.dm, tcand=row.time_s, width=width, snr=row.snr)
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
    return cand.dmt, cand.dedispersed


def main(n_cands: int = 10):
    tmp = Path(tempfile.mkdtemp())
    simulate_transients(tmp / "sim", 30, seed=7)
    fil = tmp / "sim" / "sources" / "transients.fil"
    import pandas as pd

    cands = pd.read_csv(tmp / "sim" / "sources" / "candidates.csv")
    cands = cands[cands.truth.isin(["frb", "pulsar"])].head(n_cands)
    fb = Filterbank(fil)
    print(f"file: {fb}; {len(cands)} candidates (FRB/pulsar)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")

    t = time.perf_counter()
    st = channel_stats(fb)
    ours = [candidate_images(fb, r.time_s, r.dm, r.width_s, stats=st)
            for r in cands.itertuples()]
    t_ours = time.perf_counter() - t
    print(f"workbench: {len(cands) / t_ours:8.1f} candidates/s ({t_ours / len(cands) * 1e3:.1f} "
          "ms each, channel statistics included)")
    try:
        import your  # noqa: F401
    except ImportError as exc:
        print(f"your: not installed ({exc})")
        return
    your_images(fil, next(cands.itertuples()), fb.tsamp)  # warm numba/imports
    t = time.perf_counter()
    theirs = [your_images(fil, r, fb.tsamp) for r in cands.itertuples()]
    t_your = time.perf_counter() - t
    print(f"your:      {len(cands) / t_your:8.1f} candidates/s ({t_your / len(cands) * 1e3:.1f} "
          "ms each)")
    print(f"speed-up:  {t_your / t_ours:.1f}x per candidate")
    cors = []
    for o, (dmt, _) in zip(ours, theirs):
        a, b = o["dm_time"], np.asarray(dmt, np.float64)
        # your's centre crop can sit one column off ours: take the best of +-2 columns
        cors.append(max(np.corrcoef(np.roll(a, s, axis=1)[:, 4:-4].ravel(),
                                    b[:, 4:-4].ravel())[0, 1] for s in range(-2, 3)))
    print(f"DM-time correlation (ours vs your, best of +-2 column shifts): median "
          f"{np.median(cors):.3f}, min {np.min(cors):.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
