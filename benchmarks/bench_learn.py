"""Benchmark: ML-PPA inference speed vs a survey's real-time candidate rate, ONNX / int8 /
pruning side by side, and the active-learning evidence (strategies vs random).

Run from the project root::

    python benchmarks/bench_learn.py                 # inference part (a few minutes)
    python benchmarks/bench_learn.py --al            # + AL on /tmp/sim and MiraBest
    python benchmarks/bench_learn.py --predict-only  # predict_collection per backend only

Figures are printed and written to benchmarks/results/bench_learn.json (+ PNG curves).
Assumption for the real-time rate: a single-beam FRB search producing SURVEY_RATE
candidates per second after sifting (default 50/s, i.e. 4.3 million a day; MeerTRAP-like
surveys report tens to hundreds of candidates per second across beams).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def _size(path) -> int:
    return Path(path).stat().st_size


def _rate(fn, n, repeat=2):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def bench_inference(args) -> dict:
    import torch

    from workbench.active.training import model_inputs, train_classifier
    from workbench.io.collection import open as open_collection
    from workbench.learn.checkpoints import save_checkpoint
    from workbench.learn.export import OnnxClassifier, export_onnx, prune_model, quantize_dynamic
    from workbench.learn.infer import load_model, predict_proba

    tmp = Path(tempfile.mkdtemp(prefix="bench_learn_"))
    coll_path = tmp / "tr"
    _simulate(coll_path, args.n)
    coll = open_collection(coll_path, "r+")
    ck = tmp / "mlppa.safetensors"
    t0 = time.perf_counter()
    res = train_classifier(coll, ck, label_column="truth", arch="mlppa", size=args.size,
                           epochs=args.epochs, batch_size=16, lr=1e-3, holdout=0.3, seed=0)
    train_s = time.perf_counter() - t0
    model, cfg = load_model(ck)
    held = res["labels"][res["labels"]["split"] == "holdout"]
    x_test = model_inputs(coll, held["id"], cfg["input"])
    y_test = np.array([cfg["classes"].index(v) for v in held["label"]])
    all_x = model_inputs(coll, coll.ids, cfg["input"])
    stream = np.tile(all_x, (max(1, args.stream // len(all_x)) + 1, 1, 1, 1))[:args.stream]
    shape = tuple(all_x.shape[1:])

    if args.predict_only:
        coll_res = bench_collection(coll, ck, n_items=args.collection_n, batch_size=args.batch_size,
                                    repeat=args.repeat)
        return {"n_items": len(coll), "input_size": args.size, "train_seconds": round(train_s, 1),
                "torch_threads": torch.get_num_threads(), "collection": coll_res,
                "survey_rate_assumed": args.survey_rate}

    rows = {}

    def record(name, size, proba_fn):
        acc = float((proba_fn(x_test).argmax(1) == y_test).mean())
        rate = _rate(lambda: proba_fn(stream), len(stream))
        rows[name] = {"size_mb": round(size / 1e6, 2), "stream_cand_per_s": round(rate, 1),
                      "test_accuracy": round(acc, 3)}
        print(f"{name:22s} size {size / 1e6:7.2f} MB  {rate:8.1f} cand/s  "
              f"accuracy {acc:.3f}", flush=True)

    bs = args.batch_size
    record("torch fp32", _size(ck), lambda x: predict_proba(model, x, batch_size=bs))
    onnx = export_onnx(model, tmp / "m.onnx", input_shape=shape)
    record("onnx fp32", _size(onnx), lambda x: OnnxClassifier(onnx).predict_proba(x, batch_size=bs))
    q = quantize_dynamic(onnx, tmp / "m_int8.onnx")
    sess_q = OnnxClassifier(q)
    record("onnx int8", _size(q), lambda x: sess_q.predict_proba(x, batch_size=bs))
    pruned, zero_frac = prune_model(load_model(ck)[0], amount=args.prune)
    pck = tmp / "pruned.safetensors"
    save_checkpoint(pck, pruned.state_dict(), cfg)
    record(f"torch pruned {args.prune:.0%}", _size(pck),
           lambda x: predict_proba(pruned, x, batch_size=bs))
    ponnx = quantize_dynamic(export_onnx(pruned, tmp / "p.onnx", input_shape=shape),
                             tmp / "p_int8.onnx")
    import gzip

    gz = len(gzip.compress(Path(ponnx).read_bytes()))
    sess_p = OnnxClassifier(ponnx)
    record("pruned+int8 (gzip)", gz, lambda x: sess_p.predict_proba(x, batch_size=bs))

    coll_res = bench_collection(coll, ck, n_items=args.collection_n, batch_size=bs,
                                repeat=args.repeat)
    coll_rate = coll_res["end_to_end_cand_per_s"]
    out = {"n_items": len(coll), "input_size": args.size, "classes": cfg["classes"],
           "train_seconds": round(train_s, 1), "n_test": int(len(y_test)),
           "torch_threads": torch.get_num_threads(), "batch_size": bs,
           "stream_length": int(len(stream)), "pruned_zero_fraction": round(zero_frac, 3),
           "models": rows, "collection_cand_per_s": round(coll_rate, 1),
           "collection": coll_res,
           "survey_rate_assumed": args.survey_rate,
           "realtime_factor_torch": round(rows["torch fp32"]["stream_cand_per_s"]
                                          / args.survey_rate, 2),
           "realtime_factor_int8": round(rows["onnx int8"]["stream_cand_per_s"]
                                         / args.survey_rate, 2)}
    print(f"survey rate assumed {args.survey_rate}/s: torch keeps up x"
          f"{out['realtime_factor_torch']}, onnx int8 x{out['realtime_factor_int8']}")
    return out


def bench_collection(coll, ck, *, n_items: int, batch_size: int, repeat: int = 3) -> dict:
    """predict_collection on a Collection of ``n_items`` candidates (the simulated ones
    repeated), model already imported: end to end (read + prepare + model + write), with
    and without the prefetch thread, and the read / read+prepare stages alone."""
    from workbench.io.collection import Collection, ProductSpec
    from workbench.learn.infer import load_model, predict_collection, prepare_inputs

    _, cfg = load_model(ck)
    prod = cfg["input"]["product"]
    big_path = Path(tempfile.mkdtemp(prefix="bench_learn_coll_")) / "big"
    spec = coll.products[prod]
    big = Collection.create(big_path, {prod: ProductSpec(channels=spec.channels,
                                                        shape=spec.shape)})
    src = coll.read(np.arange(len(coll)), [prod])[prod]
    cat = coll.catalog[["id", "ra", "dec", "pixscale_arcsec", "source_file", "source_hdu"]]
    with big.appender() as app:
        for k in range(0, n_items, len(coll)):
            m = min(len(coll), n_items - k)
            c = cat.iloc[:m].copy()
            c["id"] = [f"{i}-r{k}" for i in c["id"]]
            app.add(c, {prod: src[:m]}, kind="transient")
    n = len(big)

    def timed(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def read_only():
        for _ in big.batches(batch_size, products=[prod]):
            pass

    def read_prepare():
        for b in big.batches(batch_size, products=[prod]):
            prepare_inputs(b.images, cfg)

    predict_collection(big, ck, batch_size=batch_size, write=False)  # warm-up
    res = {"n_items": n, "batch_size": batch_size,
           "read_cand_per_s": round(n / min(timed(read_only) for _ in range(2)), 1),
           "read_prepare_cand_per_s": round(n / min(timed(read_prepare) for _ in range(2)), 1)}
    t_seq = min(timed(lambda: predict_collection(big, ck, batch_size=batch_size, write=False,
                                                 prefetch=False)) for _ in range(2))
    t_pf = min(timed(lambda: predict_collection(big, ck, batch_size=batch_size, write=False))
               for _ in range(2))
    t_w = timed(lambda: predict_collection(big, ck, batch_size=batch_size, write=True))
    res.update({"no_prefetch_cand_per_s": round(n / t_seq, 1),
                "prefetch_cand_per_s": round(n / t_pf, 1),
                "end_to_end_cand_per_s": round(n / t_w, 1)})
    print(f"predict_collection over {n} candidates ({prod}, batch {batch_size}): read "
          f"{res['read_cand_per_s']}/s, read+prepare {res['read_prepare_cand_per_s']}/s, "
          f"whole path without prefetch {res['no_prefetch_cand_per_s']}/s, with prefetch "
          f"{res['prefetch_cand_per_s']}/s, with load + hash + derived-column write "
          f"{res['end_to_end_cand_per_s']}/s", flush=True)
    res["backends"] = bench_backends(big, ck, batch_size=batch_size, repeat=repeat)
    import shutil

    shutil.rmtree(big_path.parent, ignore_errors=True)
    return res


def bench_backends(coll, ck, *, batch_size: int, repeat: int = 3) -> dict:
    """``predict_collection(..., backend=b)`` end to end (checkpoint hash, model load, read,
    prepare, model, derived-column write) for torch / onnx / onnx-int8, interleaved
    ``repeat`` times so that all three see the same machine load. The first ONNX call of a
    checkpoint exports it (and quantises it for int8): timed separately, cache emptied."""
    import os
    import shutil

    from workbench.learn.export import onnx_cache_dir
    from workbench.learn.infer import BACKENDS, predict_collection

    n = len(coll)
    shutil.rmtree(onnx_cache_dir(ck), ignore_errors=True)
    out = {b: {"seconds": []} for b in BACKENDS}
    for b in BACKENDS:  # cold: includes the export (+ quantisation) for the ONNX backends
        t0 = time.perf_counter()
        ref = predict_collection(coll, ck, batch_size=batch_size, write=True, backend=b)
        out[b]["first_call_s"] = round(time.perf_counter() - t0, 2)
        out[b]["labels"] = ref["pred_label"].to_numpy()
    for _ in range(repeat):
        for b in BACKENDS:
            t0 = time.perf_counter()
            predict_collection(coll, ck, batch_size=batch_size, write=True, backend=b)
            out[b]["seconds"].append(time.perf_counter() - t0)
    load = os.getloadavg()
    for b in BACKENDS:
        t = np.array(out[b].pop("seconds"))
        out[b].update({"best_cand_per_s": round(n / t.min(), 1),
                       "median_cand_per_s": round(n / np.median(t), 1),
                       "same_label_as_torch": round(float(
                           (out[b].pop("labels") == out["torch"]["labels"]).mean()), 4)
                       if b != "torch" else 1.0})
    out["torch"].pop("labels")
    sizes = {p.name.split(".")[1]: p.stat().st_size for p in onnx_cache_dir(ck).glob("*.onnx")}
    print(f"predict_collection end to end, {n} candidates, batch {batch_size}, best / median "
          f"of {repeat} interleaved runs (load average {load[0]:.2f} {load[1]:.2f}):")
    for b in BACKENDS:
        r = out[b]
        print(f"  {b:10s} {r['best_cand_per_s']:8.1f} / {r['median_cand_per_s']:8.1f} cand/s"
              f"  first call {r['first_call_s']:6.2f} s  same label as torch "
              f"{r['same_label_as_torch']:.3f}", flush=True)
    return {"n_items": n, "repeat": repeat, "load_average": [round(v, 2) for v in load],
            "checkpoint_mb": round(_size(ck) / 1e6, 2),
            "onnx_mb": {k: round(v / 1e6, 2) for k, v in sizes.items()}, **out}


def _simulate(path, n):
    from workbench.cli import main

    try:
        main(["simulate", "transients", "--n", str(n), "--seed", "3", "-o", str(path)])
    except SystemExit as exc:
        if exc.code:
            raise


def bench_al(args) -> dict:
    from workbench.active.simulate import (
        features_for_simulation,
        plot_learning_curves,
        simulate_strategies,
    )
    from workbench.io.collection import open as open_collection

    strategies = args.strategies.split(",")
    out = {}
    sets = []
    if Path(args.sim).exists():
        c = open_collection(args.sim)
        sets.append(("simulated_radio", c, c.catalog["truth"].astype(str).to_numpy()))
    if Path(args.mirabest).exists():
        c = open_collection(args.mirabest)
        code = c.catalog["label_code"].astype(int).to_numpy()
        lab = np.where(code // 100 == 1, "FRI", np.where(code // 100 == 2, "FRII", None))
        sets.append(("mirabest", c, lab))
    for name, c, lab in sets:
        keep = np.array([v is not None and v == v for v in lab])
        x, src = features_for_simulation(c, source=args.features)
        res = simulate_strategies(x[keep], lab[keep], strategies=strategies,
                                  budget=args.budget, seeds=args.seeds,
                                  progress=lambda m: print("  ", m, flush=True))
        res["features"] = src
        OUT.mkdir(parents=True, exist_ok=True)
        plot_learning_curves(res, OUT / f"al_{name}{args.tag}.png", title=f"{name} ({src})")
        out[name] = res
        print(f"{name}: target (random's final accuracy) "
              f"{res['labels_needed']['target_accuracy']}")
        for s, row in res["labels_needed"]["table"].items():
            print(f"   {s:18s} labels needed {row['labels']}  saving {row['saving']}  "
                  f"final {row['final_accuracy']}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=120, help="simulated transient candidates")
    ap.add_argument("--size", type=int, default=256, help="ML-PPA input size")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--stream", type=int, default=512, help="stream length (candidates)")
    ap.add_argument("--prune", type=float, default=0.7)
    ap.add_argument("--collection-n", type=int, default=1024,
                    help="candidates in the predict_collection benchmark")
    ap.add_argument("--predict-only", action="store_true",
                    help="only predict_collection (torch / onnx / onnx-int8 end to end), not "
                         "the model-variant stream comparison")
    ap.add_argument("--repeat", type=int, default=3,
                    help="interleaved repetitions of the backend comparison")
    ap.add_argument("--survey-rate", type=float, default=50.0, help="candidates/s assumed")
    ap.add_argument("--al", action="store_true", help="also run the AL oracle comparisons")
    ap.add_argument("--no-inference", action="store_true")
    ap.add_argument("--sim", default="/tmp/sim")
    ap.add_argument("--mirabest", default="/tmp/mb")
    ap.add_argument("--strategies", default="random,margin,entropy,bald,coreset")
    ap.add_argument("--features", default="auto",
                    help="AL features: auto (stored SSL embeddings if any, else pixels+PCA), "
                         "pixels, embedding-<hash>")
    ap.add_argument("--tag", default="", help="suffix of the result files (e.g. -ssl)")
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    result = {}
    if not args.no_inference:
        result["inference"] = bench_inference(args)
    if args.al:
        result["active_learning"] = bench_al(args)
    (OUT / f"bench_learn{args.tag}.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {OUT / f'bench_learn{args.tag}.json'}")


if __name__ == "__main__":
    main()
