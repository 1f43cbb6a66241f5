"""Discovery benchmarks (issue 7): SSL on MiraBest, rare-class anomalies, maps at scale,
encoder throughput, Explorer at a million points.

    python benchmarks/bench_discover.py                     # everything (long)
    python benchmarks/bench_discover.py --only mirabest --epochs 6
    python benchmarks/bench_discover.py --only maps --sizes 100000 300000

Sections: mirabest (kNN k=20 / logistic regression on frozen SSL embeddings vs raw pixels,
confident FRI = label_code 100/102/104 vs confident FRII = 200/201), rare (simulated survey
with 0.5% ring sources: fraction of them in the top 2% of each anomaly ranking), maps (UMAP +
HDBSCAN + outlier scores on 128-D embeddings, ours (the default: a sampled UMAP fit above
60,000 items) vs plain umap-learn + hdbscan defaults, ``--pipelines ours_exact`` adds the
full fit of ``workbench map --exact``; each pipeline in its own process for wall time, CPU
time and peak RSS; trustworthiness and 10-NN preservation on a 2,000-point sample), numba (first-fit cost in a new process, with and
without the background warm-up), throughput (encoder img/s on CPU/GPU at 128 x 128),
explorer (1,000,000 points: lasso -> Gallery and zoom -> redraw).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRI, FRII = (100, 102, 104), (200, 201)


def _cv_scores(X, y, seed=0):
    """5-fold CV accuracy of kNN (k=20) and logistic regression on standardised features.

    The folds depend only on ``y`` and ``seed`` (StratifiedKFold, shuffled), so every feature
    set scored with the same ``seed`` is split into exactly the same folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier(20))
    lr = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
    return (float(cross_val_score(knn, X, y, cv=cv).mean()),
            float(cross_val_score(lr, X, y, cv=cv).mean()))


def _ingested_mirabest(path: Path | None, tmp: Path) -> Path:
    if path is not None and (path / "collection.json").exists():
        dst = tmp / "mb"
        shutil.copytree(path, dst)
        return dst
    from workbench.io.ingest_fits import ingest_fits

    src = ROOT.parent / "shared" / "data" / "mirabest"
    dst = tmp / "mb"
    ingest_fits(sorted(src.glob("*.fits")), dst, catalog=src / "catalog.csv")
    return dst


def _mean_sd(rows: list[dict]) -> dict:
    out = {}
    for k in rows[0]:
        v = np.array([r[k] for r in rows], float)
        out[k] = f"{v.mean():.3f} +- {v.std():.3f}" if len(v) > 1 else round(float(v[0]), 3)
    return out


def bench_mirabest(args) -> dict:
    """SSL on all 1,255 MiraBest images (labels unused), scored on confident FRI vs FRII.

    Three feature sets on the same 5 folds: the SSL embeddings (one encoder per training
    seed), the same architecture untrained (one per seed), and raw pixels at 32 x 32 (with
    the SSL input preparation and with the old linear full-field one). ``--mb-old`` also
    trains the previous recipe (linear peak-normalised full field, strong augmentations,
    BYOL) for a side-by-side comparison.
    """
    import torch

    import workbench
    from workbench.learn.augment import Augment
    from workbench.learn.data import CollectionImages
    from workbench.learn.encode import embed_collection, embed_images
    from workbench.learn.encoders import ResNetEncoder
    from workbench.learn.train import train_ssl

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    tmp = Path(tempfile.mkdtemp())
    try:
        path = _ingested_mirabest(Path(args.mirabest) if args.mirabest else None, tmp)
        coll = workbench.open(path, "r+")
        code = coll.catalog["label_code"].to_numpy()
        keep = np.isin(code, FRI + FRII)
        y = np.isin(code[keep], FRII).astype(int)
        new = dict(method=args.method, epochs=args.epochs, size=args.size, crop=args.crop)
        recipes = {"new": {k: v for k, v in new.items() if v is not None}}
        if args.mb_old:
            recipes["old"] = dict(method="byol", epochs=10, size=64, crop=None,
                                  stretch="linear", lr=1e-3, batch_size=128,
                                  augment=Augment.strong(), method_options={},
                                  encoder={"width": 16, "depth": (1, 1, 1), "out_dim": 128})
        out = {"n_pretrain": len(coll), "n_fri": int((y == 0).sum()),
               "n_frii": int((y == 1).sum()), "seeds": list(args.seeds),
               "cv": "StratifiedKFold(5, shuffle, random_state=0), same folds for all",
               "torch_threads": torch.get_num_threads(), "load_avg": os.getloadavg()}
        for rname, rec in recipes.items():
            ssl_rows, rand_rows, runs = [], [], []
            for seed in args.seeds:
                ck = tmp / f"enc-{rname}-{seed}.safetensors"
                t, c = time.perf_counter(), time.process_time()
                res = train_ssl(coll, out=ck, seed=seed, **rec)
                runs.append({"seed": seed, "wall_s": round(time.perf_counter() - t, 1),
                             "cpu_s": round(time.process_time() - c, 1), "steps": res.steps,
                             "final_loss": round(res.history[-1]["loss"], 4)})
                emb = embed_collection(coll, ck).embeddings
                from workbench.learn.checkpoints import read_metadata

                meta = read_metadata(ck)
                tr = meta["train"]
                ds = CollectionImages(coll, tr["product"], size=tr["size"], crop=tr["crop"],
                                      stretch=tr["stretch"])
                torch.manual_seed(seed)
                enc_cfg = {k: v for k, v in meta["encoder"].items() if k != "arch"}
                rand = embed_images(ds, ResNetEncoder(**enc_cfg).eval())
                for rows, X in ((ssl_rows, emb), (rand_rows, rand)):
                    knn, lr = _cv_scores(X[keep], y)
                    rows.append({"knn20": knn, "logreg": lr})
                print(f"  {rname} seed {seed}: {runs[-1]} ssl {ssl_rows[-1]} "
                      f"random {rand_rows[-1]}", flush=True)
            pix = ds.tensor
            pix = torch.nn.functional.interpolate(pix, size=(32, 32), mode="area")
            knn, lr = _cv_scores(pix.reshape(len(pix), -1).numpy()[keep], y)
            out[rname] = {"train": {k: v for k, v in tr.items() if k != "augment"},
                          "augment": tr["augment"], "encoder": meta["encoder"],
                          "method_options": meta["method"], "runs": runs,
                          "ssl": _mean_sd(ssl_rows), "random_init_encoder": _mean_sd(rand_rows),
                          "pixels_32x32_same_prep": {"knn20": round(knn, 3),
                                                     "logreg": round(lr, 3)}}
        old = CollectionImages(coll, size=32).tensor
        knn, lr = _cv_scores(old.reshape(len(old), -1).numpy()[keep], y)
        out["pixels_32x32_linear_full_field"] = {"knn20": round(knn, 3), "logreg": round(lr, 3)}
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_rare(args) -> dict:
    import workbench
    from workbench.embed.anomaly import AnomalyScorer
    from workbench.learn.data import CollectionImages
    from workbench.learn.encode import embed_collection
    from workbench.learn.train import train_ssl
    from workbench.sims.radio import simulate_radio

    tmp = Path(tempfile.mkdtemp())
    try:
        n = args.rare_n
        fr = {"compact": 0.4, "FRI": 0.2, "FRII": 0.2, "bent": 0.1, "multi": 0.095, "ring": 0.005}
        t = time.perf_counter()
        simulate_radio(tmp / "sim", n=n, seed=1, size=64, infrared=False, class_fractions=fr)
        sim_s = time.perf_counter() - t
        coll = workbench.open(tmp / "sim", "r+")
        rare = (coll.catalog["truth"] == "ring").to_numpy()
        t = time.perf_counter()
        train_ssl(coll, out=tmp / "enc.safetensors", method=args.method, epochs=args.rare_epochs,
                  size=64, seed=0)
        train_s = time.perf_counter() - t
        X = embed_collection(coll, tmp / "enc.safetensors").embeddings
        from sklearn.decomposition import PCA

        raw = CollectionImages(coll, size=32).tensor.reshape(n, -1).numpy()
        raw = PCA(32, random_state=0).fit_transform(raw)
        top = max(1, int(round(0.02 * n)))
        out = {"n": n, "n_rare": int(rare.sum()), "rare_class": "ring", "top_k": top,
               "simulate_s": round(sim_s, 1), "train_s": round(train_s, 1),
               "epochs": args.rare_epochs, "expected_at_random": 0.02}
        for space, Z in (("ssl", X), ("raw_pca32", raw)):
            for m in ("glosh", "iforest", "knn"):
                r = AnomalyScorer(m).fit(Z).ranking_[:top]
                out[f"{space}_{m}_rare_in_top2pct"] = round(float(rare[r].sum() / rare.sum()), 3)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _synthetic_embeddings(n, d=128, k=30, seed=0, outliers=0.0):
    """n x d float32: k Gaussian clusters on a 16-D subspace plus noise; the last
    ``round(outliers * n)`` rows are outliers, uniform over the clusters' latent box."""
    rng = np.random.default_rng(seed)
    latent = 16
    basis = np.linalg.qr(rng.normal(size=(d, latent)))[0]
    centres = rng.normal(0, 4, (k, latent))
    sizes = rng.dirichlet(np.full(k, 0.7))
    lab = rng.choice(k, n, p=sizes)
    Z = centres[lab] + rng.normal(0, 1, (n, latent)) * rng.uniform(0.5, 1.5, k)[lab, None]
    n_out = int(round(outliers * n))
    if n_out:
        Z[n - n_out:] = rng.uniform(Z.min(0), Z.max(0), (n_out, latent))
    X = Z @ basis.T + rng.normal(0, 0.3, (n, d))
    return X.astype(np.float32)


MAP_OUTLIERS = 0.01  # fraction of injected outliers in the maps benchmark


def _outlier_auc(n, scores):
    from sklearn.metrics import roc_auc_score

    truth = np.zeros(n)
    truth[n - int(round(MAP_OUTLIERS * n)):] = 1
    return round(float(roc_auc_score(truth, scores)), 4)


def _pipeline_child(which, n, outdir, q):
    import warnings

    warnings.simplefilter("ignore")
    X = _synthetic_embeddings(n, outliers=MAP_OUTLIERS)
    t = time.perf_counter()
    extra = {}
    if which in ("ours", "ours_exact"):
        from workbench.embed.cluster import HDBSCANClusterer
        from workbench.embed.projection import UMAPMap

        fast = which == "ours"
        m = UMAPMap(fit_sample="auto" if fast else None).fit(X)
        xy = m.embedding_
        t_map = time.perf_counter() - t
        cl = HDBSCANClusterer(fit_sample="auto" if fast else None).fit(xy)
        t_cl = time.perf_counter() - t - t_map
        # GLOSH in the embedding space (PCA-32), on the map's own kNN graph (for a sampled
        # map: built on the fitted items, the others placed from their graph rows)
        glosh = HDBSCANClusterer().fit(m.reduce(X), knn=m.knn_graph_,
                                       fit_rows=m.fit_rows_).outlier_scores_
        n_cl = cl.n_clusters_
        extra = {"map_fit_items": n if m.fit_rows_ is None else len(m.fit_rows_),
                 "cluster_fit_items": n if cl.fit_rows_ is None else len(cl.fit_rows_)}
    else:
        import hdbscan
        import umap

        xy = umap.UMAP().fit_transform(X)
        t_map = time.perf_counter() - t
        cl = hdbscan.HDBSCAN().fit(xy)
        t_cl = time.perf_counter() - t - t_map
        glosh = cl.outlier_scores_  # GLOSH on the 2-D map
        n_cl = int(cl.labels_.max() + 1)
    total = time.perf_counter() - t
    np.save(Path(outdir) / f"{which}_{n}.npy", xy)
    ru = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(r.ru_utime + r.ru_stime for r in ru)
    q.put({"wall_s": round(total, 1), "map_s": round(t_map, 1), "cluster_s": round(t_cl, 1),
           "outliers_s": round(total - t_map - t_cl, 1), "cpu_s": round(cpu, 1),
           "n_clusters": int(n_cl), "glosh_outlier_auc": _outlier_auc(n, np.nan_to_num(glosh)),
           "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
           "load_avg_after": [round(v, 1) for v in os.getloadavg()], **extra})
    # hdbscan's joblib (loky) workers keep a finished process alive for up to their 300 s idle
    # timeout; that wait is not part of either pipeline, so leave without it.
    q.close()
    q.join_thread()
    os._exit(0)


def _quality(X, xy, seed=0, m=2000, k=10):
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    s = rng.choice(len(X), m, replace=False)
    tw = trustworthiness(X[s], xy[s], n_neighbors=k)
    hi = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X[s], return_distance=False)[:, 1:]
    lo = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy[s], return_distance=False)[:, 1:]
    pres = np.mean([len(set(a) & set(b)) / k for a, b in zip(hi, lo)])
    return round(float(tw), 4), round(float(pres), 4)


def bench_maps(args) -> dict:
    ctx = mp.get_context("spawn")
    out = {"load_avg_before": [round(v, 1) for v in os.getloadavg()]}
    tmp = Path(tempfile.mkdtemp())
    for n in args.sizes:
        X = _synthetic_embeddings(n, outliers=MAP_OUTLIERS)
        for which in args.pipelines:
            q = ctx.Queue()
            p = ctx.Process(target=_pipeline_child, args=(which, n, str(tmp), q))
            p.start()
            p.join()
            r = q.get() if not q.empty() else {"error": f"exit code {p.exitcode}"}
            if "error" not in r:
                xy = np.load(tmp / f"{which}_{n}.npy")
                r["trustworthiness10"], r["knn10_preserved"] = _quality(X, xy)
            out[f"{which}_{n}"] = r
            print(f"  maps {which} n={n}: {r}", flush=True)
        a, b = out.get(f"ours_{n}", {}), out.get(f"plain_{n}", {})
        if "wall_s" in a and "wall_s" in b:
            out[f"speedup_{n}"] = round(b["wall_s"] / a["wall_s"], 2)
            print(f"  maps n={n}: ours {a['wall_s']} s vs plain {b['wall_s']} s: "
                  f"{out[f'speedup_{n}']}x", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    out["note"] = ("ours (the default): above 60k items UMAP fitted on 40k random items "
                   "(PCA-32 fitted on them; kNN graph by a k-means cell-probe search, no "
                   "numba; umap-learn's own layout with its numba kernels disk-cached) and "
                   "the rest placed at the fuzzy-weighted mean of their 15 nearest fitted "
                   "items; HDBSCAN on 40k items of the 2-D map, the rest by a 10-NN vote; "
                   "GLOSH in PCA-32 on the map's graph for the fitted items, quantile-matched "
                   "from the 10th-neighbour distance for the rest. ours_exact (--exact): "
                   "UMAP on PCA-32 of every item (auto above 20k items) + HDBSCAN on the "
                   "2-D map + GLOSH in the embedding space (PCA-32) on the map's own kNN graph (graph-based "
                   "HDBSCAN, no second neighbour search); plain: umap.UMAP() defaults on 128-D + "
                   "hdbscan.HDBSCAN() defaults on the 2-D map, GLOSH from that 2-D clustering. "
                   "Synthetic: 30 Gaussian clusters on a 16-D subspace of 128-D plus noise, "
                   f"{MAP_OUTLIERS:.0%} outliers uniform over the clusters' latent box "
                   "(glosh_outlier_auc: how well each pipeline's GLOSH ranks them).")
    return out


def _numba_child(warm, q):
    t0 = time.perf_counter()
    idle = 20.0 if warm else 0.0
    job = None
    if warm:
        from workbench.embed.warmup import warm_up

        job = warm_up(parts=("umap", "hdbscan"))
        time.sleep(idle)  # the user loading data / reading the notebook meanwhile
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 32)).astype(np.float32)
    t = time.perf_counter()
    if job is not None:
        job.result()
    t_wait = time.perf_counter() - t
    from workbench.embed.projection import UMAPMap

    t = time.perf_counter()
    UMAPMap().fit(X)
    q.put({"first_fit_s": round(time.perf_counter() - t, 1), "waited_for_warmup_s":
           round(t_wait, 1), "idle_before_s": idle,
           "process_s": round(time.perf_counter() - t0, 1)})


def bench_numba(args) -> dict:
    ctx = mp.get_context("spawn")
    out = {}
    for warm in (False, True, False):
        q = ctx.Queue()
        p = ctx.Process(target=_numba_child, args=(warm, q))
        p.start()
        p.join()
        out.setdefault("warm" if warm else "cold", []).append(q.get())
    return out


def bench_throughput(args) -> dict:
    import torch

    from workbench.learn.augment import Augment, make_generator
    from workbench.learn.encoders import ResNetEncoder
    from workbench.learn.fit import pick_device
    from workbench.learn.ssl import build_method

    dev = torch.device(pick_device())
    name = torch.cuda.get_device_name() if dev.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    bs, steps = (256, 20) if dev.type == "cuda" else (32, 3)
    x = torch.randn(bs, 1, 128, 128, device=dev)
    out = {"device": name, "size": 128, "batch": bs}
    enc = ResNetEncoder(1).to(dev).eval()
    with torch.no_grad():
        enc(x)
        t = time.perf_counter()
        for _ in range(steps):
            enc(x)
        if dev.type == "cuda":
            torch.cuda.synchronize()
    out["embed_img_s"] = round(bs * steps / (time.perf_counter() - t), 1)
    aug = Augment()
    for method in ("simclr", "byol"):
        model = build_method(method, ResNetEncoder(1)).to(dev)
        opt = torch.optim.AdamW(model.parameters(), 1e-3)
        for k in range(steps + 1):
            if k == 1:
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t = time.perf_counter()
            g = make_generator(k)
            loss = model.loss(aug(x, g), aug(x, g))
            opt.zero_grad()
            loss.backward()
            opt.step()
            model.after_step(0.5)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        out[f"{method}_train_img_s"] = round(bs * steps / (time.perf_counter() - t), 1)
    return out


def bench_explorer(args) -> dict:
    import workbench
    from workbench.io.collection import ProductSpec
    from workbench.widgets.explorer import Explorer

    n = args.explorer_n
    tmp = Path(tempfile.mkdtemp())
    try:
        rng = np.random.default_rng(0)
        t = time.perf_counter()
        coll = workbench.create(tmp / "big", {"img": ProductSpec(("x",), (4, 4))})
        with coll.appender() as app:
            for s in range(0, n, 250_000):
                m = min(250_000, n - s)
                app.add(pd.DataFrame({"id": [f"i{j:07d}" for j in range(s, s + m)]}),
                        {"img": rng.normal(size=(m, 1, 4, 4)).astype(np.float32)}, kind="image")
        cen = rng.normal(0, 10, (40, 2))
        X = cen[rng.integers(0, 40, n)] + rng.normal(0, 1, (n, 2))
        coll.add_columns("map-umap", {"umap_x": X[:, 0], "umap_y": X[:, 1]})
        coll.add_columns("clusters", {"cluster": rng.integers(-1, 30, n),
                                      "cluster_prob": rng.uniform(size=n),
                                      "outlier_glosh": rng.uniform(size=n)})
        make_s = time.perf_counter() - t
        coll = workbench.open(coll.path)
        t = time.perf_counter()
        ex = Explorer(coll)
        ex.panel()
        init_s = time.perf_counter() - t
        x0, x1, y0, y1 = ex.view
        cx, cy, w = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 10
        lasso = [(cx - w, cy - w), (cx + w, cy - w), (cx + w, cy + w), (cx - w, cy + w)]
        t = time.perf_counter()
        ex.select_polygon(lasso)
        lasso_s = time.perf_counter() - t
        t = time.perf_counter()
        ex.view = [cx - 2 * w, cx + 2 * w, cy - 2 * w, cy + 2 * w]
        zoom_s = time.perf_counter() - t
        t = time.perf_counter()
        ex.color_by = "outlier_glosh"
        recolour_s = time.perf_counter() - t
        return {"n_points": n, "build_collection_s": round(make_s, 1),
                "explorer_init_s": round(init_s, 2),
                "lasso_to_gallery_s": round(lasso_s, 3), "n_selected": ex.n_selected,
                "zoom_to_redraw_s": round(zoom_s, 3), "recolour_s": round(recolour_s, 3),
                "png_kb": round(len(ex.image) / 1024, 1)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


SECTIONS = {"throughput": bench_throughput, "numba": bench_numba, "explorer": bench_explorer,
            "mirabest": bench_mirabest, "rare": bench_rare, "maps": bench_maps}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=list(SECTIONS), default=list(SECTIONS))
    ap.add_argument("--mirabest", default="/tmp/mb", help="ingested MiraBest Collection")
    ap.add_argument("--method", default="simclr", choices=["simclr", "byol"])
    ap.add_argument("--epochs", type=int, default=None,
                    help="SSL epochs (default: train_ssl's default)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--crop", type=float, default=0.64,
                    help="mirabest: centre crop (fraction of the 150 px side) before resizing")
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2],
                    help="mirabest: SSL training seeds (one encoder each)")
    ap.add_argument("--mb-old", action="store_true",
                    help="mirabest: also train the previous recipe side by side")
    ap.add_argument("--rare-n", type=int, default=2000)
    ap.add_argument("--rare-epochs", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000])
    ap.add_argument("--pipelines", nargs="*", default=["ours", "plain"],
                    choices=["ours", "ours_exact", "plain"],
                    help="maps: pipelines to run, each in its own process (ours_exact: the "
                         "full fit of `workbench map --exact`)")
    ap.add_argument("--explorer-n", type=int, default=1_000_000)
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    results = {}
    for name in args.only:
        t = time.perf_counter()
        print(f"== {name}", flush=True)
        results[name] = SECTIONS[name](args)
        results[name]["section_s"] = round(time.perf_counter() - t, 1)
        print(json.dumps(results[name], indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
