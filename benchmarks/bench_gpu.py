"""One GPU script (issue 14, point 7): the workbench's torch paths on one GPU, in minutes.

    python benchmarks/bench_gpu.py                 # on a CUDA GPU (refuses to run without one)
    python benchmarks/bench_gpu.py --cpu-smoke     # every path for a few seconds on CPU

Prints each section as it finishes and writes everything as JSON (``--json``, rewritten
after every section, so a run stopped half-way keeps what it measured):

ssl        images/s of ``workbench.learn.train.train_ssl`` (SimCLR; bf16 autocast on CUDA, as
           the function does by itself), and of the same SimCLR step (``build_method``,
           ``Augment``) in three forms: eager fp32, bf16 autocast + channels-last, and that
           plus ``torch.compile`` of the encoder (compile time reported apart as warm-up),
           so one sees where each helps
embed      images/s of ``workbench.learn.encode.embed_collection`` (read, prepare, encode, store)
mlppa      ML-PPA (256 x 256 DM-time CNN) candidates/s through
           ``workbench.learn.infer.predict_logits`` (channels-last; bf16 autocast on CUDA), and
           through its ONNX export (``workbench.learn.compact.export_onnx``) with onnxruntime's
           CUDA provider where onnxruntime has it, and on CPU (``OnnxClassifier``)
al_round   one ``workbench.active.loop.ActiveLoop.run_round`` (retrain the head on the labels,
           score and rank the whole pool, queue) on a 300,000-item pool of 128-D embeddings
map        the 2-D map at 300,000 items on the GPU: not offered (UMAP and HDBSCAN run on the
           CPU with umap-learn and hdbscan; a GPU map would need RAPIDS cuML, not a
           dependency); ``bench_discover.py --only maps`` measures the CPU map

``--cpu-smoke`` runs every path on CPU with tiny sizes (torch.compile with the ``aot_eager``
backend, which needs no C++ toolchain) so the test suite keeps the script working
(tests/benchmarks/test_bench_gpu_smoke.py); its figures say nothing about a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Sizes per mode: GPU runs are sized to finish well inside 8 minutes on one GPU.
SIZES = {
    "gpu": {"ssl_n": 20000, "ssl_side": 64, "ssl_batch": 512, "ssl_epochs": 2,
            "step_batch": 512, "steps": 20, "embed_batch": 1024, "mlppa_side": 256,
            "mlppa_n": 8192, "mlppa_batch": 512, "onnx_cpu_n": 256, "pool": 300_000,
            "labelled": 3000, "al_epochs": 30},
    "cpu-smoke": {"ssl_n": 48, "ssl_side": 32, "ssl_batch": 16, "ssl_epochs": 1,
                  "step_batch": 8, "steps": 2, "embed_batch": 64, "mlppa_side": 32,
                  "mlppa_n": 64, "mlppa_batch": 32, "onnx_cpu_n": 32, "pool": 3000,
                  "labelled": 300, "al_epochs": 2},
}


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def _images_collection(path: Path, n: int, side: int, seed: int = 0):
    """A Collection of ``n`` synthetic radio-like stamps (a Gaussian blob or two on noise),
    written through the Collection API in blocks."""
    import workbench
    from workbench.io.collection import ProductSpec

    rng = np.random.default_rng(seed)
    coll = workbench.create(path, {"radio": ProductSpec(("1.4GHz",), (side, side))})
    yy, xx = np.mgrid[:side, :side].astype(np.float32)
    with coll.appender() as app:
        for s in range(0, n, 8192):
            m = min(8192, n - s)
            c = rng.uniform(side * 0.3, side * 0.7, (m, 2, 2)).astype(np.float32)
            w = rng.uniform(1, side / 8, (m, 2, 1, 1)).astype(np.float32)
            two = (rng.uniform(size=m) < 0.5).astype(np.float32)[:, None, None]
            img = np.exp(-((xx - c[:, 0, 0, None, None]) ** 2 + (yy - c[:, 0, 1, None, None])
                           ** 2) / (2 * w[:, 0] ** 2))
            img += two * np.exp(-((xx - c[:, 1, 0, None, None]) ** 2 +
                                  (yy - c[:, 1, 1, None, None]) ** 2) / (2 * w[:, 1] ** 2))
            img += rng.normal(0, 0.05, img.shape).astype(np.float32)
            app.add(pd.DataFrame({"id": [f"s{j:07d}" for j in range(s, s + m)]}),
                    {"radio": img[:, None].astype(np.float32)}, kind="radio")
    return workbench.open(path, "r+")


def bench_ssl(cfg, dev, tmp: Path) -> dict:
    import torch

    from workbench.learn.augment import Augment, make_generator
    from workbench.learn.encoders import ResNetEncoder
    from workbench.learn.ssl import build_method
    from workbench.learn.train import train_ssl

    t = time.perf_counter()
    coll = _images_collection(tmp / "ssl", cfg["ssl_n"], cfg["ssl_side"])
    out = {"n_images": cfg["ssl_n"], "size": cfg["ssl_side"], "batch": cfg["ssl_batch"],
           "make_collection_s": round(time.perf_counter() - t, 1)}
    stamps = []

    def progress(p):
        stamps.append((time.perf_counter(), p["global_step"]))

    res = train_ssl(coll, out=tmp / "enc.safetensors", method="simclr",
                    epochs=cfg["ssl_epochs"], batch_size=cfg["ssl_batch"],
                    size=cfg["ssl_side"], device=str(dev), progress=progress)
    (t0, s0), (t1, s1) = stamps[0], stamps[-1]  # the first step (warm-up) left out
    out["train_ssl_img_s"] = round((s1 - s0) * cfg["ssl_batch"] / max(t1 - t0, 1e-9), 1) \
        if s1 > s0 else round(cfg["ssl_batch"] / max(t1 - (t0 - 1e-9), 1e-9), 1)
    out["train_ssl_steps"] = res.steps
    out["train_ssl_autocast"] = "bf16" if dev.type == "cuda" else "off (CPU)"
    out["checkpoint"] = str(res.path)

    # the same SimCLR step in three forms
    bs, steps = cfg["step_batch"], cfg["steps"]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(bs, 1, cfg["ssl_side"], cfg["ssl_side"], generator=g).to(dev)
    aug = Augment()
    variants = {}
    for name, amp, cl, comp in (("eager_fp32", False, False, False),
                                ("bf16_channels_last", True, True, False),
                                ("bf16_channels_last_compiled", True, True, True)):
        torch.manual_seed(0)
        model = build_method("simclr", ResNetEncoder(1)).to(dev)
        if cl:
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        loss_fn = model.loss
        backend = None
        if comp:  # the encoder, where the convolutions are; the loss stays eager
            backend = "inductor" if dev.type == "cuda" else "aot_eager"
            model.encoder = torch.compile(model.encoder, backend=backend)

        def step(k, loss_fn=loss_fn, amp=amp, cl=cl, opt=opt, model=model):
            gk = make_generator(k)
            x1, x2 = aug(x, gk), aug(x, gk)
            if cl:
                x1 = x1.contiguous(memory_format=torch.channels_last)
                x2 = x2.contiguous(memory_format=torch.channels_last)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                loss = loss_fn(x1, x2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            model.after_step(0.5)
            return float(loss.detach())

        t = time.perf_counter()
        warm = [step(k) for k in range(2)]  # compile (if any) and allocator warm-up
        _sync(dev)
        warm_s = time.perf_counter() - t
        t = time.perf_counter()
        losses = [step(k) for k in range(2, 2 + steps)]
        _sync(dev)
        el = time.perf_counter() - t
        variants[name] = {"img_s": round(bs * steps / el, 1), "warmup_s": round(warm_s, 1),
                          "finite_loss": bool(np.isfinite(warm + losses).all())}
        if backend:
            variants[name]["compile_backend"] = backend
    out["step_variants"] = variants
    out["step_batch"] = bs
    out["fastest_step_variant"] = max(variants, key=lambda k: variants[k]["img_s"])
    out["_coll"] = coll
    return out


def bench_embed(cfg, dev, tmp: Path, coll, checkpoint) -> dict:
    from workbench.learn.encode import embed_collection

    res = embed_collection(coll, checkpoint, batch_size=cfg["embed_batch"], device=str(dev),
                           force=True)
    return {"n_images": len(coll), "batch": cfg["embed_batch"],
            "embed_img_s": round(len(coll) / max(res.seconds, 1e-9), 1),
            "seconds": round(res.seconds, 2), "dim": int(res.embeddings.shape[1])}


def bench_mlppa(cfg, dev, tmp: Path) -> dict:
    import torch

    from workbench.learn.compact import OnnxClassifier, export_onnx
    from workbench.learn.infer import predict_logits
    from workbench.learn.mlppa import MLPPA

    side, n, bs = cfg["mlppa_side"], cfg["mlppa_n"], cfg["mlppa_batch"]
    torch.manual_seed(0)
    model = MLPPA(side).eval()
    x = np.random.default_rng(0).normal(size=(n, 1, side, side)).astype(np.float32)
    out = {"input": [1, side, side], "n_candidates": n, "batch": bs,
           "parameters": int(sum(p.numel() for p in model.parameters()))}
    predict_logits(model, x[:bs], batch_size=bs, device=str(dev))  # warm-up
    _sync(dev)
    t = time.perf_counter()
    ref = predict_logits(model, x, batch_size=bs, device=str(dev))
    _sync(dev)
    out["torch_candidates_s"] = round(n / (time.perf_counter() - t), 1)
    out["torch_autocast"] = "bf16" if dev.type == "cuda" else "off (CPU)"

    path = export_onnx(model, tmp / "mlppa.onnx", input_shape=(1, side, side))
    import onnxruntime as ort

    providers = ort.get_available_providers()
    out["onnxruntime"] = ort.__version__
    out["onnxruntime_providers"] = providers
    if dev.type == "cuda" and "CUDAExecutionProvider" in providers:
        sess = ort.InferenceSession(str(path), providers=["CUDAExecutionProvider",
                                                          "CPUExecutionProvider"])
        run = lambda xb: sess.run(["logits"], {"input": xb})[0]  # noqa: E731
        run(x[:bs])
        t = time.perf_counter()
        got = np.concatenate([run(x[s:s + bs]) for s in range(0, n, bs)])
        out["onnx_cuda_candidates_s"] = round(n / (time.perf_counter() - t), 1)
        out["onnx_cuda_max_abs_diff_vs_torch"] = float(np.abs(got - ref).max())
    else:
        out["onnx_cuda"] = ("not available: " + ("no GPU in this run" if dev.type != "cuda"
                            else "this onnxruntime has no CUDAExecutionProvider "
                                 "(install onnxruntime-gpu)"))
    m = min(n, cfg["onnx_cpu_n"])
    clf = OnnxClassifier(path)
    clf.logits(x[:min(m, bs)], batch_size=bs)
    t = time.perf_counter()
    got = clf.logits(x[:m], batch_size=bs)
    out["onnx_cpu_candidates_s"] = round(m / (time.perf_counter() - t), 1)
    out["onnx_cpu_max_abs_diff_vs_torch"] = float(np.abs(got - ref[:m]).max())
    return out


def bench_al(cfg, dev, tmp: Path) -> dict:
    """One retrain + rescore round of the active-learning loop on a big pool of embeddings."""
    import workbench
    from workbench.active.loop import ActiveLoop
    from workbench.io.collection import ProductSpec

    n, n_lab = cfg["pool"], cfg["labelled"]
    rng = np.random.default_rng(1)
    t = time.perf_counter()
    coll = workbench.create(tmp / "pool", {"img": ProductSpec(("x",), (4, 4))})
    centres = rng.normal(0, 1, (2, 128))
    y = rng.integers(0, 2, n)
    X = (centres[y] + rng.normal(0, 1.5, (n, 128))).astype(np.float32)
    with coll.appender() as app:
        for s in range(0, n, 100_000):
            m = min(100_000, n - s)
            app.add(pd.DataFrame({"id": [f"p{j:07d}" for j in range(s, s + m)]}),
                    {"img": np.zeros((m, 1, 4, 4), np.float32)}, kind="image")
    coll = workbench.open(coll.path, "r+")
    name = "embedding-0123456789ab"
    coll.add_array(name, X, tool="benchmarks/bench_gpu.py (synthetic embeddings)")
    truth = np.where(y == 1, "pulsar", "rfi").astype(object)
    truth[rng.permutation(n)[n_lab:]] = None  # only n_lab items labelled so far
    coll.add_columns("oracle", {"truth": truth})
    make_s = time.perf_counter() - t
    loop = ActiveLoop(coll, label_column="truth", arch="head", source=name,
                      strategy="margin", queue_size=200, epochs=cfg["al_epochs"],
                      batch_size=256, seed=0)
    t = time.perf_counter()
    rec = loop.run_round()
    wall = time.perf_counter() - t
    return {"pool": n, "labelled": n_lab, "dim": 128, "strategy": "margin",
            "make_pool_s": round(make_s, 1), "round_s": round(wall, 2),
            "pool_items_scored_per_s": round(n / wall, 1), "queued": len(rec.queue),
            "holdout_metrics": {k: v for k, v in rec.metrics.items()
                                if isinstance(v, (int, float))}}


def bench_map() -> dict:
    try:
        import cuml  # noqa: F401

        cuml_there = True
    except ImportError:
        cuml_there = False
    return {"offered": False, "cuml_installed": cuml_there,
            "why": "no GPU map: the workbench's UMAP and HDBSCAN run on the CPU (umap-learn, "
                   "hdbscan); a GPU map would need RAPIDS cuML, which it does not use. The "
                   "CPU map at 300,000 items: python benchmarks/bench_discover.py --only maps "
                   "--sizes 300000"}


def _device(smoke: bool):
    import torch

    if smoke:
        return torch.device("cpu"), f"CPU ({os.cpu_count()} cores, {platform.processor() or '?'})"
    if not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py: no CUDA GPU is visible to torch; run it on a machine "
                         "with one, or use --cpu-smoke to check the script on CPU")
    return torch.device("cuda"), torch.cuda.get_device_name()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu-smoke", action="store_true",
                    help="every path on CPU with tiny sizes (seconds); no GPU figures")
    ap.add_argument("--json", default="bench_gpu.json", help="write the results here")
    ap.add_argument("--only", nargs="*", choices=["ssl", "embed", "mlppa", "al_round", "map"],
                    default=["ssl", "embed", "mlppa", "al_round", "map"])
    args = ap.parse_args(argv)
    import torch

    t_all = time.perf_counter()
    dev, name = _device(args.cpu_smoke)
    if args.cpu_smoke:
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    cfg = SIZES["cpu-smoke" if args.cpu_smoke else "gpu"]
    results = {"device": name, "device_type": dev.type, "cpu_smoke": args.cpu_smoke,
               "torch": torch.__version__, "python": platform.python_version(),
               "note": ("CPU smoke run: checks the paths, says nothing about GPU speed"
                        if args.cpu_smoke else f"measured on {name}"), "sections": {}}
    out_path = Path(args.json)

    def record(key, value):
        results["sections"][key] = value
        results["total_s"] = round(time.perf_counter() - t_all, 1)
        print(f"== {key}\n{json.dumps(value, indent=1, default=str)}", flush=True)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1, default=str))

    tmp = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    try:
        ssl = None
        if "ssl" in args.only or "embed" in args.only:
            t = time.perf_counter()
            ssl = bench_ssl(cfg, dev, tmp)
            coll = ssl.pop("_coll")
            ssl["section_s"] = round(time.perf_counter() - t, 1)
            if "ssl" in args.only:
                record("ssl", ssl)
        if "embed" in args.only:
            t = time.perf_counter()
            r = bench_embed(cfg, dev, tmp, coll, ssl["checkpoint"])
            r["section_s"] = round(time.perf_counter() - t, 1)
            record("embed", r)
        for key, fn in (("mlppa", bench_mlppa), ("al_round", bench_al)):
            if key in args.only:
                t = time.perf_counter()
                r = fn(cfg, dev, tmp)
                r["section_s"] = round(time.perf_counter() - t, 1)
                record(key, r)
        if "map" in args.only:
            record("map", bench_map())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"total {results['total_s']} s; wrote {out_path}", flush=True)
    return results


if __name__ == "__main__":
    main()
