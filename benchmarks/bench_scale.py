"""A million items end to end (issue 14, points 3 and 6): time and peak memory per step.

    python benchmarks/bench_scale.py                  # 1,000,000 items (several minutes)
    python benchmarks/bench_scale.py --quick          # 20,000 items: a smoke run
    python benchmarks/bench_scale.py --n 200000 --growth-from 20000   # growth exponents

Steps, each timed with the peak resident memory of the process during the step (sampled
from /proc every 20 ms; ``rss_peak_gb``) and the growth of that peak over the step
(``rss_added_gb``):

build      a Collection of N 32 x 32 single-channel stamps (a Gaussian source on a flat
           background) with a catalog (ra, dec, snr, flux), written through the Collection
           API in blocks of 100,000
open       ``workbench.open`` and the catalog
select     ``coll.select("snr > 5 and flux < 2")``
batches    every image once through ``coll.batches(8192)``
campaign   ``LabelStore.create_campaign`` over all N items (SQLite)
consensus  N annotations (N/5 items x 5 annotators, bulk ``annotate_many``), loaded back
           and reduced by ``consensus.majority`` (what ``Campaign.consensus`` runs); the
           rate of annotations attached to the campaign is measured on 1,000 of them
map        ``workbench map``'s own path on N x 128 synthetic embeddings (30 clusters, 1%
           outliers; stored with ``add_array``): ``map_and_store`` (UMAP) +
           ``cluster_and_store`` (HDBSCAN clusters and GLOSH outlier scores), with the
           outlier AUC of the injected outliers
explorer   ``Explorer(coll)`` on the stored map, ``panel()``, and a lasso
           (``select_polygon``) around a tenth of the view, python side

Then, when ``benchmarks/_scale_workers.py`` provides ``worker_scaling``, the 1-vs-2-worker
scaling figures of issue 14 point 6 (ingest and embed, and against a scheduler in another
process), as that function reports them.

``--growth-from N0`` runs every step at N0 items first and prints, per step, the exponent
``log(t / t0) / log(N / N0)`` (1 = linear; n log n between N0 = 100,000 and N = 1,000,000 is
1.2). Everything is written to ``--json`` as well. The figures depend on the machine: the
README's were measured on a shared 2-core machine that other jobs were using.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BLOCK = 100_000
SIDE = 32
CLASSES = ["pulsar", "frb", "broadband_rfi", "narrowband_rfi", "noise", "unsure"]


def _rss() -> int:
    """Resident set size of this process in bytes (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _PeakRSS:
    """Samples the process RSS every ``every`` seconds in a thread while active."""

    def __init__(self, every: float = 0.02):
        self.every = every
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        self.start = self.peak = _rss()
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()
        return self

    def _run(self):
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._th.join()
        self.peak = max(self.peak, _rss())


def _stamps(rng, m: int) -> np.ndarray:
    """``m`` 32 x 32 stamps: a Gaussian source (random position, width, peak) on zero."""
    yy, xx = np.mgrid[:SIDE, :SIDE].astype(np.float32)
    c = rng.uniform(10, 22, (m, 2)).astype(np.float32)
    w = rng.uniform(1.0, 4.0, m).astype(np.float32)
    a = rng.uniform(0.5, 5.0, m).astype(np.float32)
    out = np.empty((m, 1, SIDE, SIDE), np.float32)
    for s in range(0, m, 20_000):  # bounded temporaries
        e = slice(s, s + 20_000)
        out[e, 0] = a[e, None, None] * np.exp(
            -((xx - c[e, 0, None, None]) ** 2 + (yy - c[e, 1, None, None]) ** 2)
            / (2 * w[e, None, None] ** 2))
    return out


def step_build(ctx):
    import workbench
    from workbench.io.collection import ProductSpec

    n, rng = ctx["n"], np.random.default_rng(0)
    coll = workbench.create(ctx["tmp"] / "big", {"radio": ProductSpec(("1.4GHz",), (SIDE, SIDE))})
    with coll.appender() as app:
        for s in range(0, n, BLOCK):
            m = min(BLOCK, n - s)
            cat = pd.DataFrame({"id": [f"src{j:08d}" for j in range(s, s + m)],
                                "ra": rng.uniform(0, 360, m), "dec": rng.uniform(-90, 30, m),
                                "snr": rng.exponential(5, m), "flux": rng.lognormal(0, 1, m)})
            app.add(cat, {"radio": _stamps(rng, m)}, kind="radio")
    ctx["path"] = coll.path
    return {"items": n, "image": [1, SIDE, SIDE],
            "disk_gb": round(sum(f.stat().st_size for f in Path(coll.path).rglob("*")
                                 if f.is_file()) / 1e9, 2)}


def step_open(ctx):
    import workbench

    coll = workbench.open(ctx["path"])
    n = len(coll)
    cat = coll.catalog
    ctx["coll"] = coll
    return {"items": n, "catalog_columns": len(cat.columns)}


def step_select(ctx):
    sub = ctx["coll"].select("snr > 5 and flux < 2")
    return {"selected": len(sub)}


def step_batches(ctx):
    coll, total, seen = ctx["coll"], 0.0, 0
    t = time.perf_counter()
    for b in coll.batches(8192):
        total += float(b.images["radio"].sum())
        seen += len(b.ids)
    return {"items_read": seen, "items_per_s": round(seen / (time.perf_counter() - t), 1),
            "pixel_sum_finite": bool(np.isfinite(total))}


def step_campaign(ctx):
    from workbench.io.labels.store import LabelStore

    store = LabelStore(str(ctx["tmp"] / "labels.sqlite"))
    ids = ctx["coll"].ids
    store.create_campaign("all", "transient", ids, retire=5)
    ctx["store"] = store
    return {"campaign_items": len(store.campaign("all").item_ids)}


def step_consensus(ctx):
    """N annotations, then majority consensus. The bulk of them go in without the campaign
    (``annotate_many``: one transaction, executemany); attaching annotations to a campaign
    costs three SQL statements per item in ``campaigns.record_done`` (claims, counts,
    retirement), so that rate is measured on a share and reported, not run at 1M."""
    from workbench.labeling.consensus import majority

    store, n = ctx["store"], ctx["n"]
    ids = np.asarray(ctx["coll"].ids)
    items = ids[:: 5][: n // 5]
    rng = np.random.default_rng(1)
    truth = rng.integers(0, len(CLASSES), len(items))
    m = min(len(items), 1000)
    t = time.perf_counter()
    store.annotate_many(items[:m].tolist(), {"class": "noise"}, annotator="camp",
                        campaign="all", source="random")
    camp_rate = m / (time.perf_counter() - t)
    t = time.perf_counter()
    for j in range(5):
        said = np.where(rng.random(len(items)) < 0.6 + 0.08 * j, truth,
                        rng.integers(0, len(CLASSES), len(items)))
        for c in range(len(CLASSES)):
            sel = items[said == c].tolist()
            if sel:
                store.annotate_many(sel, {"class": CLASSES[c]}, annotator=f"vol{j}",
                                    scheme="transient", source="random")
    fill_s = time.perf_counter() - t
    t = time.perf_counter()
    ann = store.annotations(campaign=None)
    ann = ann[ann["annotator"] != "camp"]
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    cons = majority(ann, "transient")
    cons_s = time.perf_counter() - t
    got = cons.set_index("item_id")["label"].reindex(items).to_numpy()
    return {"annotations": int(len(ann)), "insert_s": round(fill_s, 1),
            "insert_per_s": round(len(ann) / fill_s, 1), "load_s": round(load_s, 1),
            "majority_s": round(cons_s, 1),
            "majority_accuracy": round(float(np.mean(got == np.asarray(CLASSES)[truth])), 3),
            "campaign_annotate_per_s": round(camp_rate, 1),
            "campaign_annotate_all_est_s": round(len(ann) / camp_rate, 1)}


def step_map(ctx):
    from bench_discover import MAP_OUTLIERS, _outlier_auc, _synthetic_embeddings

    import workbench
    from workbench.embed.records import cluster_and_store, map_and_store

    n = ctx["n"]
    coll = workbench.open(ctx["path"], "r+")
    X = _synthetic_embeddings(n, outliers=MAP_OUTLIERS)
    coll.add_array("embedding-5ca1eb0e0000", X, tool="benchmarks/bench_scale.py (synthetic)")
    del X
    t = time.perf_counter()
    _, xy = map_and_store(coll, method="umap")
    map_s = time.perf_counter() - t
    t = time.perf_counter()
    _, labels = cluster_and_store(coll)
    cl_s = time.perf_counter() - t
    coll = workbench.open(ctx["path"])
    glosh = coll.catalog["outlier_glosh"].to_numpy()
    ctx["coll"] = coll
    p = coll.derived["map-umap"]["made_by"]["params"]
    return {"map_s": round(map_s, 1), "clusters_and_outliers_s": round(cl_s, 1),
            "fit_sample": p.get("fit_sample"), "n_clusters": int(labels.max() + 1),
            "noise_fraction": round(float((labels < 0).mean()), 3),
            "glosh_outlier_auc": _outlier_auc(n, glosh)}


def step_explorer(ctx):
    from workbench.widgets.explorer import Explorer

    coll = ctx["coll"]
    t = time.perf_counter()
    ex = Explorer(coll)
    ex.panel()
    init_s = time.perf_counter() - t
    x0, x1, y0, y1 = ex.view
    cx, cy, w = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 10
    lasso = [(cx - w, cy - w), (cx + w, cy - w), (cx + w, cy + w), (cx - w, cy + w)]
    t = time.perf_counter()
    ids = ex.select_polygon(lasso)
    lasso_s = time.perf_counter() - t
    return {"points": len(coll), "open_s": round(init_s, 2), "lasso_s": round(lasso_s, 3),
            "selected": len(ids)}


STEPS = {"build": step_build, "open": step_open, "select": step_select,
         "batches": step_batches, "campaign": step_campaign, "consensus": step_consensus,
         "map": step_map, "explorer": step_explorer}


def run_all(n: int, only) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-scale-"))
    ctx = {"n": n, "tmp": tmp}
    out = {}
    try:
        for name, fn in STEPS.items():
            if name not in only:
                continue
            with _PeakRSS() as mem:
                t = time.perf_counter()
                try:
                    r = fn(ctx)
                except Exception as exc:  # noqa: BLE001 - report the step, go on with the rest
                    r = {"error": f"{type(exc).__name__}: {exc}"}
                r["wall_s"] = round(time.perf_counter() - t, 2)
            r["rss_peak_gb"] = round(mem.peak / 2**30, 2)
            r["rss_added_gb"] = round((mem.peak - mem.start) / 2**30, 2)
            out[name] = r
            print(f"  n={n:>9,} {name:10s} {json.dumps(r)}", flush=True)
    finally:
        store = ctx.get("store")
        if store is not None:
            store.close()
        shutil.rmtree(tmp, ignore_errors=True)
    out["max_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return out


def worker_figures(quick: bool) -> dict:
    """Issue 14 point 6 through engineer C's benchmarks/_scale_workers.py, when present."""
    try:
        from _scale_workers import worker_scaling
    except ImportError as exc:
        return {"skipped": f"benchmarks/_scale_workers.py has no worker_scaling yet ({exc})"}
    import inspect

    kw = {"quick": quick} if "quick" in inspect.signature(worker_scaling).parameters else {}
    try:
        return worker_scaling(**kw)
    except Exception as exc:  # noqa: BLE001 - the other figures still stand
        return {"error": f"{type(exc).__name__}: {exc}"}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="items (default 1,000,000)")
    ap.add_argument("--quick", action="store_true", help="a smoke run at 20,000 items")
    ap.add_argument("--growth-from", type=int, default=None, metavar="N0",
                    help="also run at N0 items first and print each step's growth exponent")
    ap.add_argument("--only", nargs="*", choices=list(STEPS), default=list(STEPS),
                    help="steps to run (later steps need build and open)")
    ap.add_argument("--no-workers", action="store_true", help="skip the worker-scaling figures")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    n = 20_000 if args.quick else args.n
    if n < 1000:
        raise SystemExit("bench_scale.py: --n must be at least 1000")
    res = {"n": n, "cpu_count": os.cpu_count(), "load_avg_before": os.getloadavg()}
    if args.growth_from:
        print(f"== steps at {args.growth_from:,} items", flush=True)
        res["small"] = run_all(args.growth_from, args.only)
    print(f"== steps at {n:,} items", flush=True)
    res["steps"] = run_all(n, args.only)
    if args.growth_from:
        g = {}
        for k, r in res["steps"].items():
            r0 = res["small"].get(k)
            if isinstance(r, dict) and isinstance(r0, dict) and r0.get("wall_s", 0) > 0.05:
                g[k] = round(float(np.log(r["wall_s"] / r0["wall_s"]) /
                                   np.log(n / args.growth_from)), 2)
        res["growth_exponent"] = g
        print(f"== growth exponents {args.growth_from:,} -> {n:,} (1 = linear): {g}", flush=True)
    if not args.no_workers:
        print("== worker scaling (issue 14 point 6)", flush=True)
        res["workers"] = worker_figures(args.quick)
        print(json.dumps(res["workers"], indent=1, default=str), flush=True)
    res["max_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    res["within_24_gib"] = res["max_rss_gb"] < 24
    print(f"== peak RSS {res['max_rss_gb']} GiB (limit 24 GiB: "
          f"{'ok' if res['within_24_gib'] else 'EXCEEDED'})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
