"""Benchmark: ML-PPA inference speed vs a survey's real-time candidate rate, ONNX / int8 /
pruning side by side, and the active-learning evidence (strategies vs random).

Run from the project root::

    python benchmarks/bench_learn.py                 # inference part (a few minutes)
    python benchmarks/bench_learn.py --no-inference --al --seeds 10   # issue 17's tables
    python benchmarks/bench_learn.py --predict-only  # predict_collection per backend only

Figures are printed and written to benchmarks/results/bench_learn.json (+ PNG curves).
The active-learning part (``--al``) ingests MiraBest from ../shared/data once and trains
its SSL embedding once (all 1,255 images, no labels; about 5 minutes on 2 CPU cores),
both cached in benchmarks/.cache (git-ignored) under a hash of the data and the
configuration; then every strategy runs against random on the same splits for each seed.
By default the MiraBest features are the encoder's pooled features averaged over the 8
flips and quarter turns of each image (``--features ssl-d8-pooled``;
:func:`workbench.learn.finetune.dihedral_embedding`); ``--features ssl`` gives the plain
embedding. With them and the ensemble head, margin from a TypiClust start
(``margin+typical``) needs 45% fewer labels than random on seeds 0-9 and on 10-19
(``--first-seed 10``) but 19% (interval reaching 0) on 20-29; see the README.
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

    from workbench.io.collection import open as open_collection
    from workbench.learn.checkpoints import save_checkpoint
    from workbench.learn.compact import OnnxClassifier, export_onnx, prune_model, quantize_dynamic
    from workbench.learn.infer import load_model, predict_proba
    from workbench.learn.supervised import model_inputs, train_classifier

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
    held = res.labels[res.labels["split"] == "holdout"]
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

    from workbench.learn.compact import onnx_cache_dir
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


# Variants of the active-learning evidence on MiraBest: head -> strategies (all against
# random on the same splits and starts). Kept or not, every one is printed.
AL_VARIANTS = {
    "logistic": "random,margin,entropy,badge,coreset,cluster_balanced,margin+cold",
    "mlp": "random,margin,entropy,bald,badge,cluster_balanced,margin+cold",
    "ensemble": "random,margin,bald,badge,margin+typical",
    "finetune": "random,margin,bald",
}


def _al_table(name: str, res: dict) -> list[str]:
    ln = res["labels_needed"]
    st = res["settings"]
    lines = [f"{name}: {st['n_pool']} pool / {st['n_test']} test items, head {st['head']}, "
             f"budget {st['budget']}, step {st['step']}, {len(st['seeds'])} seeds "
             f"({min(st['seeds'])}-{max(st['seeds'])}); target = "
             f"random's final accuracy {ln['target_accuracy']} (reached by random at "
             f"{ln['baseline_labels']} labels)",
             f"  second reading (last column): target = mean of random's last {ln['tail']} "
             f"points {ln['target_tail']} (reached by random at {ln['baseline_labels_tail']})",
             f"  {'strategy':17s} {'labels':>6s} {'saving':>7s} {'95% CI':>17s} "
             f"{'area':>7s} {'95% CI':>17s} {'final':>6s}  {'tail-target saving, 95% CI':>27s}"]
    for s, r in ln["table"].items():
        ci = r["saving_ci"] or [float("nan")] * 2
        aci = r["area_ci"] or [float("nan")] * 2
        tci = r["saving_tail_ci"] or [float("nan")] * 2
        sav = "   n/r " if r["saving"] is None else f"{r['saving']:+7.1%}"
        tsav = "   n/r " if r["saving_tail"] is None else f"{r['saving_tail']:+7.1%}"
        lines.append(f"  {s:17s} {str(r['labels']):>6s} {sav} [{ci[0]:+6.1%}, {ci[1]:+6.1%}] "
                     f"{r['area']:+7.4f} [{aci[0]:+.4f}, {aci[1]:+.4f}] "
                     f"{r['final_accuracy']:6.3f}  {tsav} [{tci[0]:+6.1%}, {tci[1]:+6.1%}]")
    return lines


def _verdict(results: dict) -> str:
    best = None
    for head, res in results.items():
        for s, r in res["labels_needed"]["table"].items():
            if s == "random" or r["saving"] is None or r["saving_ci"] is None:
                continue
            if r["saving_ci"][0] > 0 and (best is None or r["saving"] > best[2]):
                best = (head, s, r["saving"], r["saving_ci"])
    if best is None:
        return ("GOAL NOT MET: no strategy's saving has a 95% interval above 0 "
                "(see the area column for gains over the whole curve)")
    head, s, sav, ci = best
    ok = sav >= 0.30
    return (f"{'GOAL MET' if ok else 'GOAL NOT MET'}: best strategy with an interval above 0 is "
            f"{s} (head {head}): {sav:.0%} fewer labels than random, 95% CI "
            f"[{ci[0]:.0%}, {ci[1]:.0%}] (goal: >= 30% with the interval excluding 0)")


def _rare_table(name: str, res: dict) -> list[str]:
    t = res["summary"]["table"]
    lines = [f"{name}: labels until the first {res['k']} {res['rare_class']!r} are labelled "
             f"({res['n_rare']} of {res['n_items']}; random expects "
             f"{res['expected_random']}), {len(res['settings']['seeds'])} seeds",
             f"  {'strategy':17s} {'mean':>7s} {'median':>7s} {'x fewer':>8s} {'95% CI':>14s}  "
             f"per seed"]
    for s, r in t.items():
        ci = r["factor_ci"] or [float("nan")] * 2
        lines.append(f"  {s:17s} {r['labels_mean']:7.1f} {r['labels_median']:7.1f} "
                     f"{r['factor']:8.2f} [{ci[0]:5.2f}, {ci[1]:5.2f}]  {r['per_seed']}")
    best = max((r["factor"], s) for s, r in t.items() if s != "random")
    lo = t[best[1]]["factor_ci"][0]
    lines.append(f"  {'GOAL MET' if best[0] >= 5 and lo > 1 else 'GOAL NOT MET'}: best "
                 f"{best[1]} x{best[0]:.2f} fewer labels than random (goal: >= 5x)")
    return lines


def _hybrid_search_inputs(variant: str, coll, ssl_x, ssl_name: str):
    """Features and outlier score of one ``--rare-features`` variant for the MiraBest hybrid
    search: ``ssl`` (the embedding, kNN outlier score), ``morphology`` (per-side
    Fanaroff-Riley measures, :mod:`workbench.imaging.morphology`, ranked by its label-free
    hybrid score) or ``ssl+morphology`` (both standardised side by side, the hybrid score).
    Islands count as the source within half the catalogued largest angular size + 3 pixels
    (one FIRST beam, 5.4 arcsec) of the centre (:func:`workbench.active.rare.
    collection_morphology`). Returns ``(features, score or None, text)``."""
    if variant == "ssl":
        return ssl_x, None, f"{ssl_name} features, kNN outlier score"
    if variant not in ("morphology", "ssl+morphology"):
        raise SystemExit(f"--rare-features: unknown variant {variant!r} "
                         "(ssl, morphology, ssl+morphology)")
    from workbench.active.rare import collection_morphology

    m, score, n_none = collection_morphology(coll, "las_arcsec")  # + 3 px = 5.4 arcsec
    desc = (f"per-side morphology, {m.shape[1]} columns ({n_none} images without a "
            "source), ranked by the label-free hybrid score")
    if variant == "morphology":
        return m, score, desc

    def z(a):
        sd = a.std(0)
        return (a - a.mean(0)) / np.where(sd > 0, sd, 1.0)

    both = np.hstack([z(ssl_x), z(m)])
    return both, score, f"{ssl_name} + {desc}, standardised, {both.shape[1]} columns"


def _pixels_pca(coll, config: dict, size: int = 32, n_components: int = 32) -> np.ndarray:
    """Pixels prepared as for the SSL encoder (crop, stretch), area-averaged to size x size
    and reduced by PCA: a second view of each image for the ``ssl+pixels`` variant."""
    import torch

    from workbench.learn.data import CollectionImages
    from workbench.learn.pool_features import pca_reduce

    t = CollectionImages(coll, size=config["size"], crop=config.get("crop"),
                         stretch=config.get("stretch", "asinh")).tensor
    t = torch.nn.functional.interpolate(t, size=(size, size), mode="area")
    return pca_reduce(t.reshape(len(t), -1).numpy(), n_components=n_components)


RING_FRACTIONS = {"compact": 0.4, "FRI": 0.2, "FRII": 0.2, "bent": 0.1, "multi": 0.095,
                  "ring": 0.005}


def _ring_survey(n: int, cache: Path, features: str, seed: int = 1):
    """The simulated radio survey with rings at 0.5%, and its features: ``ssl`` (a SimCLR
    encoder trained 8 epochs on all its images, no labels; survey and embedding cached) or
    ``pixels`` (16x16 pixels -> PCA 32). Returns ``(features, truth, description)``."""
    if features == "pixels":
        from workbench.learn._prep import prepare_images
        from workbench.learn.pool_features import pca_reduce
        from workbench.sims.radio import simulate_radio_arrays

        sim = simulate_radio_arrays(n, seed=seed, size=64, infrared=False,
                                    class_fractions=RING_FRACTIONS)
        x = prepare_images(sim.radio[:, None], size=16).reshape(n, -1)
        return (pca_reduce(x, n_components=32), sim.catalog["truth"].astype(str).to_numpy(),
                "16x16 pixels -> PCA 32")
    import workbench
    from workbench.active.realdata import SSL_CONFIG, cached_ssl_embedding
    from workbench.sims.radio import simulate_radio

    path = cache / f"ringsim-n{n}-s{seed}"
    if not (path / "collection.json").exists():
        simulate_radio(path, n=n, seed=seed, size=64, infrared=False,
                       class_fractions=RING_FRACTIONS, overwrite=True)
    coll = workbench.open(path)
    x, info = cached_ssl_embedding(coll, cache, config={**SSL_CONFIG, "epochs": 8, "crop": None})
    return (x, coll.catalog["truth"].astype(str).to_numpy(),
            f"SSL embedding, 8 epochs, trained in {info['train_seconds']} s"
            f"{' (cached)' if info['cached'] else ''}")


def bench_al(args) -> dict:
    """Issue 17's tables: MiraBest FRI/FRII labels saved (point 1) and rare classes found
    early (point 2: MiraBest hybrids, simulated rings)."""
    from workbench.active.oracle import plot_learning_curves, simulate_strategies
    from workbench.active.rare import simulate_rare
    from workbench.active.realdata import (
        cached_ssl_embedding,
        mirabest_classes,
        mirabest_collection,
    )

    out: dict = {}
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if not (cache / ".gitignore").exists():
        (cache / ".gitignore").write_text("*\n")
    src = Path(args.mirabest_src)
    report: list[str] = []

    def say(lines):
        for line in lines:
            print(line, flush=True)
        report.extend(lines)

    if not (src / "catalog.csv").exists():
        print(f"MiraBest is absent ({src}): skipping points 1 and 2 (MiraBest part)")
    else:
        t0 = time.perf_counter()
        coll = mirabest_collection(src, cache)
        print("SSL embedding of MiraBest (trained once, then read from the cache) ...",
              flush=True)
        emb, info = cached_ssl_embedding(coll, cache)
        info_line = (f"SSL embedding {emb.shape} of all {len(coll)} MiraBest images, no labels "
                     f"({info['config']['method']}, {info['config']['epochs']} epochs, "
                     f"{info['config']['size']} px, crop {info['config']['crop']}, encoder "
                     f"{info['config']['encoder']}; trained in {info['train_seconds']} s"
                     f"{', from the cache' if info['cached'] else ''}; key {info['key']})")
        say([info_line])
        out["ssl"] = {**info, "seconds_here": round(time.perf_counter() - t0, 1)}
        codes = coll.catalog["label_code"].to_numpy()
        lab = mirabest_classes(codes)
        keep = np.array([v is not None for v in lab])
        feats, fname = emb, f"ssl:{info['key']}"
        ssl_ck = Path(args.cache) / f"ssl-{info['key']}.safetensors"
        if args.features.startswith("ssl-d8"):
            from workbench.learn.finetune import collection_images, dihedral_embedding

            pooled = args.features == "ssl-d8-pooled"
            enc, imgs = collection_images(coll, ssl_ck)
            feats = dihedral_embedding(enc, imgs, pooled=pooled)
            fname += "-d8" + ("-pooled" if pooled else "")
            say([f"features: the SSL encoder's {'pooled features' if pooled else 'output'} "
                 f"averaged over the 8 flips/quarter turns of each image, "
                 f"{feats.shape[1]} columns"])
        if args.features == "ssl+pixels":
            feats = np.hstack([emb, _pixels_pca(coll, info["config"])])
            fname += "+pixels32-pca32"
            say([f"features: SSL embedding + 32x32 pixels (same crop and stretch) -> PCA 32, "
                 f"{feats.shape[1]} columns"])
        say(["", "== 1. MiraBest confident FRI vs FRII: labels to reach random's final "
                 "accuracy, 95% bootstrap CI over seeds; area = mean accuracy gain over the "
                 "curve"])
        out["mirabest"] = {}
        for head in args.heads.split(","):
            strategies = (args.strategies or AL_VARIANTS[head]).split(",")
            t = time.perf_counter()
            head_arg = head
            if head == "finetune":  # the SSL encoder's last stage retrained every round
                from workbench.learn.finetune import (
                    FinetuneHead,
                    collection_images,
                    stage_inputs,
                )

                enc, imgs = collection_images(coll, ssl_ck)
                rows = np.flatnonzero(keep)
                head_arg = FinetuneHead(enc, stage_inputs(enc, imgs[rows]))
            res = simulate_strategies(feats[keep], lab[keep], strategies=strategies,
                                      budget=args.budget, head=head_arg,
                                      seeds=list(range(args.first_seed,
                                                       args.first_seed + args.seeds)),
                                      step=args.step,
                                      progress=(lambda m: print("   ", m, flush=True))
                                      if args.verbose else None)
            res["features"] = fname
            out["mirabest"][head] = res
            plot_learning_curves(res, OUT / f"al_mirabest_{head}{args.tag}.png",
                                 title=f"MiraBest FRI/FRII, {args.features} features, "
                                       f"head {head}")
            say(_al_table(f"head {head} ({time.perf_counter() - t:.0f} s)", res))
        say([_verdict(out["mirabest"])])
        if args.no_rare:
            out["report"] = report
            return out
        say(["", "== 2. Rare classes found early (labels until the first 10 are labelled)"])
        hyb = mirabest_classes(codes, hybrids=True)
        hyb = np.where(hyb == "hybrid", "hybrid", "other")
        d8 = args.features.startswith("ssl-d8")
        ssl_x, ssl_name = (feats, args.features) if d8 else (emb, "ssl")
        for variant in args.rare_features.split(","):
            x, score, desc = _hybrid_search_inputs(variant, coll, ssl_x, ssl_name)
            res = simulate_rare(x, hyb, "hybrid", k=10, seeds=args.seeds, anomaly=score)
            res["features"] = variant
            out["rare_mirabest_hybrid" + ("" if variant == "ssl" else f"_{variant}")] = res
            say(_rare_table(f"MiraBest hybrids ({desc}; all 1,255 items as the pool)", res))
            if score is not None:
                say(["  (the island radius and the score were the best of 50 variants on these "
                     "same images; picked on half the items and measured on the other half, "
                     "a median 4.2x over 20 splits: benchmarks/_rare_by_morphology.py)"])
    if args.no_rare:
        out["report"] = report
        return out
    for feats in args.ring_features.split(","):
        t = time.perf_counter()
        x, truth, desc = _ring_survey(args.ring_n, cache, feats)
        res = simulate_rare(x, truth, "ring", k=10, seeds=args.seeds)
        out[f"rare_simulated_ring_{feats}"] = res
        say(_rare_table(f"simulated survey rings at 0.5% ({desc}; "
                        f"{time.perf_counter() - t:.0f} s)", res))
    out["report"] = report
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
    ap.add_argument("--mirabest-src", default=str(ROOT.parent / "shared" / "data" / "mirabest"),
                    help="MiraBest folder (FITS + catalog.csv); ingested once into --cache")
    ap.add_argument("--cache", default=str(ROOT / "benchmarks" / ".cache"),
                    help="where the ingested MiraBest and its SSL embedding are cached "
                         "(keyed by a hash of the data and the training configuration)")
    ap.add_argument("--heads", default="logistic,mlp,ensemble",
                    help=f"AL heads to compare (variants: {AL_VARIANTS})")
    ap.add_argument("--ring-n", type=int, default=4000,
                    help="items of the simulated survey (rings at 0.5%%)")
    ap.add_argument("--features", choices=["ssl", "ssl+pixels", "ssl-d8", "ssl-d8-pooled"],
                    default="ssl-d8-pooled",
                    help="MiraBest features: the SSL embedding; it plus 32x32 pixels "
                         "reduced by PCA to 32; or the SSL encoder's output (ssl-d8) or pooled "
                         "features (ssl-d8-pooled, the default) averaged over the 8 "
                         "flips/quarter turns of each image")
    ap.add_argument("--strategies", default=None,
                    help="comma-separated strategies for every head (default: each head's "
                         "variants)")
    ap.add_argument("--no-rare", action="store_true", help="skip point 2 (rare classes)")
    ap.add_argument("--rare-features", default="ssl,morphology,ssl+morphology",
                    help="features of the MiraBest hybrid search, one table each: ssl (the "
                         "--features embedding, kNN outlier score), morphology (per-side "
                         "Fanaroff-Riley measures ranked by their label-free hybrid score), "
                         "ssl+morphology")
    ap.add_argument("--ring-features", default="ssl,pixels",
                    help="features of the simulated survey for the ring search: ssl (an "
                         "8-epoch SimCLR embedding, cached; about 13 minutes to train the first "
                         "time on 2 busy cores) and/or pixels")
    ap.add_argument("--verbose", action="store_true", help="print every simulated run")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--budget", type=int, default=250)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="point 1 (MiraBest FRI/FRII) runs seeds FIRST_SEED .. FIRST_SEED + "
                         "SEEDS - 1, e.g. 10 for a held-out set 10-19 (point 2 keeps 0 .. "
                         "SEEDS - 1)")
    ap.add_argument("--step", type=int, default=None,
                    help="labels per round of the MiraBest simulation (default budget/15: "
                         "16 for 250)")
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
