"""Label store benchmarks: write rate, consensus time, next-item latency.

    python benchmarks/bench_labels.py            # SQLite, and PostgreSQL if initdb is found
    python benchmarks/bench_labels.py --quick    # smaller numbers

Prints:
- annotation writes per second with 1 and 8 writer processes, on SQLite (WAL,
  synchronous=FULL, the default) and on a throwaway PostgreSQL 15 (fsync on);
- consensus over 100,000 annotations (load from the store, majority, Dawid-Skene), seconds;
- next-item latency (median, 95th percentile) with 8 annotators labelling concurrently.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench.io.labels import LabelStore
from workbench.labeling.consensus import dawid_skene, majority

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pgtemp import TempPostgres, find_pg_bin  # noqa: E402  (tests/pgtemp.py, a test helper)

CLASSES = ["pulsar", "frb", "broadband_rfi", "narrowband_rfi", "noise", "unsure"]


def _writer(url, k, n, barrier, out):
    s = LabelStore(url)
    barrier.wait()
    t0 = time.perf_counter()
    for i in range(n):
        s.annotate(f"w{k}-{i}", {"class": CLASSES[i % 6]}, annotator=f"a{k}", scheme="transient")
    out.put(time.perf_counter() - t0)


def write_rate(url, n_proc, n_each):
    LabelStore(url).close()
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(n_proc + 1), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, k, n_each, barrier, out))
             for k in range(n_proc)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    return n_proc * n_each / wall


def _labeller(url, who, out):
    s = LabelStore(url)
    camp = s.campaign("bench")
    lat = []
    while True:
        t0 = time.perf_counter()
        item = camp.next_item(who)
        lat.append(time.perf_counter() - t0)
        if item is None:
            break
        camp.annotate(item, {"class": "noise"}, annotator=who)
    out.put(lat)


def next_item_latency(url, n_items, n_proc=8):
    s = LabelStore(url)
    s.create_campaign("bench", "transient", [f"c{i}" for i in range(n_items)], retire=3)
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_labeller, args=(url, f"p{k}", out)) for k in range(n_proc)]
    for p in procs:
        p.start()
    lat = np.concatenate([out.get() for _ in procs]) * 1e3
    for p in procs:
        p.join()
    n = len(s.annotations(campaign="bench"))
    return float(np.median(lat)), float(np.percentile(lat, 95)), n


def consensus_time(url, n_ann):
    s = LabelStore(url, synchronous="NORMAL") if "://" not in url else LabelStore(url)
    rng = np.random.default_rng(0)
    n_items, people = n_ann // 5, [f"u{k}" for k in range(5)]
    truth = rng.integers(0, 6, n_items)
    t0 = time.perf_counter()
    for j, who in enumerate(people):
        skill = 0.5 + 0.1 * j
        said = np.where(rng.random(n_items) < skill, truth, rng.integers(0, 6, n_items))
        for c in range(6):
            ids = [f"i{i}" for i in np.flatnonzero(said == c)]
            s.annotate_many(ids, {"class": CLASSES[c]}, annotator=who, scheme="transient",
                            source="random", bulk=False)
    fill = time.perf_counter() - t0
    t0 = time.perf_counter()
    ann = s.annotations()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    maj = majority(ann, "transient")
    t_maj = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = dawid_skene(ann, "transient")
    t_ds = time.perf_counter() - t0
    acc = {"majority": float(np.mean(maj["label"].to_numpy() ==
                                     np.array(CLASSES)[truth[[int(i[1:]) for i in maj["item_id"]]]])),
           "dawid-skene": float(np.mean(ds["label"].to_numpy() ==
                                        np.array(CLASSES)[truth[[int(i[1:]) for i in ds["item_id"]]]]))}
    return len(ann), fill, load, t_maj, t_ds, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller numbers")
    ap.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    args = ap.parse_args()
    n1, n8 = (300, 100) if args.quick else (1000, 250)
    n_ann = 20_000 if args.quick else 100_000
    n_items = 200 if args.quick else 600
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-labels-"))
    backends = [("sqlite", lambda name: str(tmp / f"{name}.sqlite"))]
    pg = None
    if not args.no_pg and find_pg_bin() is not None:
        pg = TempPostgres(fsync=True).start()
        backends.append(("postgresql", pg.create_database))
    try:
        for name, make in backends:
            r1 = write_rate(make("w1"), 1, n1)
            r8 = write_rate(make("w8"), 8, n8)
            print(f"{name:10s} writes/s: 1 writer {r1:7.0f}   8 writers {r8:7.0f} "
                  f"(total, {8 * n8} annotations)")
        for name, make in backends:
            med, p95, n = next_item_latency(make("lat"), n_items)
            print(f"{name:10s} next_item latency, 8 concurrent annotators: median {med:.1f} ms, "
                  f"p95 {p95:.1f} ms ({n} annotations, {n_items} items x retire 3)")
        n, fill, load, t_maj, t_ds, acc = consensus_time(str(tmp / "cons.sqlite"), n_ann)
        print(f"consensus over {n} annotations ({n // 5} items x 5 annotators): load "
              f"{load:.2f} s, majority {t_maj:.2f} s, Dawid-Skene {t_ds:.2f} s "
              f"(accuracy: majority {acc['majority']:.3f}, DS {acc['dawid-skene']:.3f}; "
              f"bulk fill {fill:.1f} s)")
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
