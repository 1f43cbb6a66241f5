"""Variants of issue 17 point 1 (MiraBest confident FRI/FRII, labels to reach random's final
accuracy) that ``bench_learn.py --al`` cannot express: head settings, PCA-whitened
features, no random share in the batches.

    python benchmarks/_al_variants.py --strategies random,margin,margin+typical --sets 0,10,20
    python benchmarks/_al_variants.py --features pcaw16 --strategies random,margin
    python benchmarks/_al_variants.py --ensemble members=10 --strategies random,margin
    python benchmarks/_al_variants.py --random-fraction 0 --strategies random,margin

Features: the rotation-averaged pooled SSL features of ``bench_learn.py --al`` (its cache in
benchmarks/.cache; trained there if absent), optionally standardised and reduced by PCA to
K dimensions (``pcaK``) or PCA-whitened (``pcawK``; fitted on all 832 items, no labels).
Each (features, head settings, strategy, seed) curve is cached in
benchmarks/.cache/al-variants/ so that random's curves are computed once and shared by the
variants of a head; a table is printed per 10-seed set (``--sets``: their first seeds) and
for all of them pooled. Every run is :func:`workbench.active.oracle.simulate_strategies`
with bench_learn's settings (budget 250, 16 labels a round, 10 random starting labels,
250 test items). An experiment, not a workbench option.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mirabest"
CACHE = ROOT / "benchmarks" / ".cache"


def features() -> tuple[np.ndarray, np.ndarray]:
    from workbench.active.realdata import (
        cached_ssl_embedding,
        mirabest_classes,
        mirabest_collection,
    )
    from workbench.learn.finetune import collection_images, dihedral_embedding

    path = CACHE / "al-variants" / "d8-pooled.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return z["x"], z["y"]
    coll = mirabest_collection(DATA, CACHE)
    _, info = cached_ssl_embedding(coll, CACHE)
    lab = mirabest_classes(coll.catalog["label_code"].to_numpy())
    keep = np.array([v is not None for v in lab])
    enc, imgs = collection_images(coll, CACHE / f"ssl-{info['key']}.safetensors")
    x = dihedral_embedding(enc, imgs, pooled=True)[keep]
    y = np.asarray(lab[keep]).astype(str)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y)
    return x, y


def transform(x: np.ndarray, name: str) -> np.ndarray:
    if name == "d8":
        return x
    from sklearn.decomposition import PCA

    white = name.startswith("pcaw")
    k = name[4:] if white else name[3:]
    if not name.startswith("pca") or not k.isdigit():
        raise SystemExit(f"--features: d8, pcaK or pcawK, not {name!r}")
    z = (x - x.mean(0)) / x.std(0)
    return PCA(int(k), whiten=white, random_state=0).fit_transform(z)


def main():
    from workbench.active import heads
    from workbench.active.evidence import saving_table
    from workbench.active.oracle import simulate_strategies

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strategies", default="random,margin")
    ap.add_argument("--head", default="ensemble", choices=sorted(heads.HEADS))
    ap.add_argument("--ensemble", default="",
                    help="keyword arguments of the ensemble head, e.g. members=10 or "
                         "weight_decay=0.01")
    ap.add_argument("--features", default="d8", help="d8, pcaK or pcawK")
    ap.add_argument("--random-fraction", type=float, default=0.1)
    ap.add_argument("--sets", default="0", help="first seeds of 10-seed sets")
    ap.add_argument("--n", type=int, default=10, help="seeds per set")
    a = ap.parse_args()
    x, y = features()
    x = transform(x, a.features)
    tag = f"{a.features}_{a.head}"
    if a.ensemble:
        if a.head != "ensemble":
            raise SystemExit("--ensemble needs --head ensemble")
        kw = {}
        for item in a.ensemble.split(","):
            k, _, v = item.partition("=")
            kw[k] = float(v) if any(c in v for c in ".e") else int(v)
        heads.HEADS["ensemble"] = functools.partial(heads.HEADS["ensemble"], **kw)
        tag += "_" + a.ensemble.replace("=", "").replace(",", "_")
    strategies = a.strategies.split(",")
    if "random" not in strategies:
        strategies.insert(0, "random")
    store = CACHE / "al-variants"
    store.mkdir(parents=True, exist_ok=True)

    def path(s, seed):  # random ignores the random share: its curves are shared
        rf = "" if s == "random" or a.random_fraction == 0.1 else f"_rf{a.random_fraction:g}"
        return store / f"{tag}_{s}{rf}_{seed}.json"

    pooled: dict = {s: {} for s in strategies}

    def show(curves, label):
        ln = saving_table(curves, n_boot=2000)
        print(f"{tag} random share {a.random_fraction:g}, seeds {label}: target "
              f"{ln['target_accuracy']} (random at {ln['baseline_labels']} labels)")
        for s, r in ln["table"].items():
            if s != "random":
                print(f"  {s:20s} labels {r['labels']}  saving {r['saving']} "
                      f"{r['saving_ci']}  area {r['area']:+.4f} {r['area_ci']}  final "
                      f"{r['final_accuracy']}  tail-target saving {r['saving_tail']} "
                      f"{r['saving_tail_ci']}", flush=True)

    for first in [int(v) for v in a.sets.split(",")]:
        seeds = list(range(first, first + a.n))
        for seed in seeds:
            todo = [s for s in strategies if not path(s, seed).exists()]
            if todo:
                res = simulate_strategies(x, y.tolist(), strategies=todo, budget=250,
                                          seeds=[seed], head=a.head, n_boot=10,
                                          random_fraction=a.random_fraction)
                for s in todo:
                    path(s, seed).write_text(json.dumps(res["curves"][s][str(seed)]))
        curves = {s: {str(k): json.loads(path(s, k).read_text()) for k in seeds}
                  for s in strategies}
        for s in strategies:
            pooled[s].update(curves[s])
        show(curves, f"{seeds[0]}-{seeds[-1]}")
    if len(a.sets.split(",")) > 1:
        show(pooled, f"pooled ({a.sets})")


if __name__ == "__main__":
    sys.exit(main())
