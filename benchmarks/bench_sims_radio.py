"""Radio simulator and mosaic ingest speed.

Run: ``python benchmarks/bench_sims_radio.py [--n 1000] [--mosaic-size 8192]``. Prints
items/s for 128x128 cutouts (in memory and written to a Collection), and stamps/s cut from
a simulated mosaic.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from workbench.io.ingest_mosaic import ingest_mosaic
from workbench.sims.radio import simulate_radio, simulate_radio_arrays, simulate_radio_mosaic


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000, help="cutouts to simulate")
    ap.add_argument("--mosaic-size", type=int, default=8192, help="mosaic side (px)")
    ap.add_argument("--sources", type=int, default=2000, help="sources in the mosaic")
    args = ap.parse_args()
    simulate_radio_arrays(4, seed=0)  # imports, caches
    t = time.perf_counter()
    simulate_radio_arrays(args.n, seed=1, infrared=False)
    dt = time.perf_counter() - t
    print(f"simulate (in memory, radio only, 128x128): {args.n / dt:8.1f} items/s")
    t = time.perf_counter()
    simulate_radio_arrays(args.n, seed=1)
    dt = time.perf_counter() - t
    print(f"simulate (in memory, radio + infrared):    {args.n / dt:8.1f} items/s")
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        simulate_radio(Path(d) / "sim", n=args.n, seed=1)
        dt = time.perf_counter() - t
        print(f"simulate radio -> Collection (both, +masks): {args.n / dt:6.1f} items/s")
        t = time.perf_counter()
        res = simulate_radio_mosaic(Path(d) / "mos", n_sources=args.sources, seed=1,
                                    size=args.mosaic_size)
        dt = time.perf_counter() - t
        print(f"simulate mosaic {args.mosaic_size}^2 with {args.sources} sources: {dt:6.1f} s")
        for size in (60, 240):
            t = time.perf_counter()
            rep = ingest_mosaic(res.image, Path(d) / f"stamps{size}", catalog=res.catalog,
                                size_arcsec=size, errors="skip")
            dt = time.perf_counter() - t
            print(f"ingest mosaic ({rep.shape[0]}x{rep.shape[1]} stamps): "
                  f"{rep.n_items / dt:8.1f} stamps/s")


if __name__ == "__main__":
    main()
