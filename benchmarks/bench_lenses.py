"""Speed of the strong-lens simulator, the stamp ingest's neighbour (composites) and metrics.

Run: ``python benchmarks/bench_lenses.py [--n 200]``. Prints items/s for the ground-based
(g, r, i, 101 x 101 at 0.2"/px) and space-like (VIS at 0.1"/px) simulators in memory and into
a Collection, Lupton composites per second, and the time of the metrics on 100k scores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _rate(fn, n):
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    return n / dt, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200, help="stamps per simulator run")
    args = ap.parse_args()
    n = args.n

    from workbench.imaging.composite import lupton_rgb
    from workbench.metrics import auroc, tpr0, tpr10
    from workbench.sims.lenses import LensSimulator, simulate_lenses

    LensSimulator().simulate(2, seed=0)  # warm imports
    for space in (False, True):
        sim = LensSimulator(space=space)
        rate, dt = _rate(lambda sim=sim: sim.simulate(n, seed=1), n)
        print(f"simulate ({'space VIS' if space else 'ground g,r,i'}), in memory: "
              f"{rate:8.1f} items/s  ({n} in {dt:.2f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        rate, dt = _rate(lambda: simulate_lenses(Path(tmp) / "c", n, seed=1), n)
        print(f"simulate ground into a Collection:   {rate:8.1f} items/s  ({n} in {dt:.2f} s)")
    _, imgs, _ = LensSimulator().simulate(50, seed=2)
    rate, dt = _rate(lambda: [lupton_rgb(im) for im in imgs], len(imgs))
    print(f"lupton_rgb (3 x 101 x 101):          {rate:8.1f} stamps/s")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100_000)
    s = rng.normal(size=100_000) + y
    t = time.perf_counter()
    vals = auroc(y, s), tpr0(y, s), tpr10(y, s)
    print(f"auroc + tpr0 + tpr10 on 100k scores: {1e3 * (time.perf_counter() - t):8.1f} ms "
          f"(AUROC {vals[0]:.3f})")


if __name__ == "__main__":
    main()
