"""Real data for the active-learning evidence: MiraBest, and an SSL embedding made once.

:func:`mirabest_collection` ingests the MiraBest FITS folder (FIRST radio galaxies, label
codes in ``catalog.csv``) into a Collection in a cache folder, once; :func:`mirabest_classes`
turns its three-digit codes into classes; :func:`cached_ssl_embedding` trains a small SimCLR
encoder on every image of a Collection *without labels* and embeds them, caching the
vectors under a key made of the data (item ids and the image bytes) and the training
configuration, so a benchmark, a notebook and a test all reuse the same embedding and a
change of either retrains.

The default encoder is small on purpose (CPU, minutes): the ResNet-style encoder of
:func:`workbench.learn.train.train_ssl` (width 16, one block per stage) for 20 epochs on
64 x 64 stamps cropped to the central 64% (MiraBest sources fill little of their 150 px
stamps), about 5 minutes on two busy CPU cores. Its embedding gives about 0.79 five-fold
logistic-regression accuracy on confident FRI/FRII.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from workbench.core.errors import InputError

__all__ = ["default_cache_dir", "mirabest_collection", "mirabest_classes",
           "cached_ssl_embedding", "SSL_CONFIG", "FRI_CODES", "FRII_CODES", "HYBRID_CODES"]

#: Confident FRI / FRII and the hybrids (confident and uncertain), as issue 17 defines them.
FRI_CODES = (100, 102, 104)
FRII_CODES = (200, 201)
HYBRID_CODES = (300, 310)

#: The SSL training used for the evidence (keyword arguments of ``train_ssl``).
SSL_CONFIG = {"method": "simclr", "epochs": 20, "size": 64, "crop": 0.64, "seed": 0,
              "batch_size": 128, "encoder": {"width": 16, "depth": [1, 1, 1],
                                             "out_dim": 128}}


def default_cache_dir() -> Path:
    """``$WORKBENCH_HOME/cache/active`` if ``WORKBENCH_HOME`` is set, else
    ``~/.cache/workbench/active``."""
    home = os.environ.get("WORKBENCH_HOME")
    return (Path(home) / "cache" / "active" if home else
            Path.home() / ".cache" / "workbench" / "active")


def mirabest_collection(src, cache_dir=None):
    """The MiraBest folder ``src`` (FITS files + ``catalog.csv``) as a Collection, ingested
    once into ``cache_dir`` (a folder named by a hash of the file names and sizes)."""
    from workbench.io.collection import open as open_collection
    from workbench.io.ingest_fits import ingest_fits

    src = Path(src)
    cat = src / "catalog.csv"
    files = sorted(src.glob("*.fits"))
    if not cat.is_file() or not files:
        raise InputError("not a MiraBest folder (FITS files and catalog.csv)", path=src)
    h = hashlib.sha256()
    for f in [*files, cat]:
        h.update(f"{f.name}:{f.stat().st_size};".encode())
    out = Path(cache_dir or default_cache_dir()) / f"mirabest-{h.hexdigest()[:12]}"
    if not (out / "collection.json").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        import warnings

        with warnings.catch_warnings():  # the headers' tab characters: VerifyWarnings
            warnings.simplefilter("ignore")
            ingest_fits(files, out, catalog=cat, overwrite=True)
    return open_collection(out)


def mirabest_classes(codes, *, hybrids: bool = False) -> np.ndarray:
    """Classes of MiraBest label codes: "FRI" (100/102/104), "FRII" (200/201), with
    ``hybrids`` "hybrid" (300/310), else None (uncertain and other codes)."""
    c = np.asarray(codes).astype(int)
    out = np.full(len(c), None, dtype=object)
    out[np.isin(c, FRI_CODES)] = "FRI"
    out[np.isin(c, FRII_CODES)] = "FRII"
    if hybrids:
        out[np.isin(c, HYBRID_CODES)] = "hybrid"
    return out


def _data_key(coll, product: str) -> str:
    h = hashlib.sha256()
    for item in coll.ids:
        h.update(f"{item};".encode())
    for b in coll.batches(256, products=[product]):
        h.update(np.ascontiguousarray(b.images[product]).tobytes())
    return h.hexdigest()[:16]


def cached_ssl_embedding(coll, cache_dir=None, *, config: dict | None = None,
                         product: str | None = None, store: bool = False,
                         progress=None) -> tuple[np.ndarray, dict]:
    """SSL embeddings ``(len(coll), d)`` of every item, trained without labels, cached.

    Parameters
    ----------
    coll : Collection
    cache_dir : path, optional
        Default :func:`default_cache_dir`. Files ``ssl-<key>.npy`` / ``.json`` / encoder
        ``.safetensors``, ``key`` = hash of (ids, image bytes, ``config``).
    config : dict, optional
        ``train_ssl`` keyword arguments (default :data:`SSL_CONFIG`).
    store : bool
        Also store the vectors in ``coll`` (opened ``r+``) as the derived array
        ``embedding-ssl<key>``, where ``--features auto`` and the ActiveLoop find them.

    Returns
    -------
    ``(embeddings, info)``: ``info`` has the key, config, training seconds (of the run that
    made the cache), loss history and whether this call used the cache.
    """
    import time

    from workbench.io._atomic import atomic_write_bytes

    config = dict(SSL_CONFIG if config is None else config)
    product = product or next(iter(coll.products))
    key = hashlib.sha256((_data_key(coll, product) + json.dumps(
        {"product": product, **config}, sort_keys=True)).encode()).hexdigest()[:16]
    d = Path(cache_dir or default_cache_dir())
    npy, meta = d / f"ssl-{key}.npy", d / f"ssl-{key}.json"
    if npy.exists() and meta.exists():
        x = np.load(npy, allow_pickle=False)
        if x.shape[0] == len(coll):
            info = {**json.loads(meta.read_text()), "cached": True}
            if store:
                _store(coll, x, info)
            return x, info
    d.mkdir(parents=True, exist_ok=True)
    import torch

    from workbench.learn.encode import embed_collection
    from workbench.learn.train import train_ssl

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    try:
        t0 = time.perf_counter()
        ck = d / f"ssl-{key}.safetensors"
        res = train_ssl(coll, out=ck, product=product, device="cpu", progress=progress,
                        **config)
        train_s = time.perf_counter() - t0
        x = np.asarray(embed_collection(coll, ck).embeddings, np.float32)
    finally:
        torch.set_num_threads(threads)
    import io

    buf = io.BytesIO()
    np.save(buf, x, allow_pickle=False)
    atomic_write_bytes(npy, buf.getvalue())
    info = {"key": key, "config": config, "product": product, "n_items": len(coll),
            "train_seconds": round(train_s, 1),
            "loss": [round(h["loss"], 4) for h in res.history]}
    atomic_write_bytes(meta, json.dumps(info, indent=1).encode())
    if store:
        _store(coll, x, info)
    return x, {**info, "cached": False}


def _store(coll, x: np.ndarray, info: dict) -> None:
    name = f"embedding-ssl{info['key'][:12]}"
    if name not in coll.derived_arrays("embedding"):
        coll.add_array(name, x, tool="workbench.active.realdata.cached_ssl_embedding",
                       params={"key": info["key"], "config": info["config"]})
