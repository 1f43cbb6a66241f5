"""Benchmark: MiraBest ingest (items/s), random single-item access and batched reads.

    python benchmarks/bench_collection.py [--mirabest ../shared/data/mirabest]

Prints one JSON object with the figures. Batched reads use 150 x 150 float32 items.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import workbench
from workbench.io.ingest_fits import ingest_fits


def bench_ingest(mirabest: Path, out: Path) -> dict:
    t = time.perf_counter()
    rep = ingest_fits([mirabest], out, catalog=mirabest / "catalog.csv")
    dt = time.perf_counter() - t
    return {"ingest_items": rep.n_items, "ingest_s": round(dt, 2),
            "ingest_items_per_s": round(rep.n_items / dt, 1)}


def bench_reads(path: Path, n_random: int = 500) -> dict:
    c = workbench.open(path)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(c), n_random)
    c[0]  # open arrays once
    t = time.perf_counter()
    for i in idx:
        c.read([int(i)])
    single = (time.perf_counter() - t) / n_random
    t = time.perf_counter()
    for i in idx[:200]:
        c[int(i)]
    item = (time.perf_counter() - t) / 200
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        n = sum(len(b) for b in c.batches(512, products=["radio"]))
        best = max(best, n / (time.perf_counter() - t))
    return {"random_read_ms": round(single * 1e3, 3), "random_item_ms": round(item * 1e3, 3),
            "batch_items_per_s": round(best, 0), "n_items": len(c)}


def make_big(path: Path, n: int = 20000) -> Path:
    rng = np.random.default_rng(1)
    c = workbench.create(path, {"radio": workbench.ProductSpec(("r",), (150, 150))})
    with c.appender() as app:
        for s in range(0, n, 2000):
            k = min(2000, n - s)
            app.add(pd.DataFrame({"id": [f"i{j}" for j in range(s, s + k)]}),
                    {"radio": rng.normal(size=(k, 1, 150, 150)).astype(np.float32)}, kind="radio")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirabest", default=str(Path(__file__).resolve().parents[1] / ".." / "shared"
                                                / "data" / "mirabest"))
    ap.add_argument("--n-big", type=int, default=20000)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    out = {}
    try:
        if Path(a.mirabest).exists():
            out.update(bench_ingest(Path(a.mirabest), tmp / "mb"))
            out["mirabest"] = bench_reads(tmp / "mb")
        out["synthetic_noise"] = bench_reads(make_big(tmp / "big", a.n_big))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
