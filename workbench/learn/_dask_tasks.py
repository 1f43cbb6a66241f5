"""The Dask paths of :func:`~workbench.learn.embed.embed_collection` and
:func:`~workbench.learn.infer.predict_collection` (``client=`` given).

The items are split into blocks of whole Zarr chunks (:func:`workbench.io.distributed.
chunk_blocks`); each task reads its block on a worker, runs the encoder (or classifier) with
one torch thread per worker thread, and stages its block of results in the Collection's
staging area (``COLLECTION/.staging``) under a key made of the block's ids, the checkpoint's
hash and the input preparation. The client stacks the blocks in item order and stores them
as the same derived record a serial run writes; a rerun after an interruption skips the
blocks already staged. Models are loaded once per worker process.
"""

from __future__ import annotations

import numpy as np

from workbench.io._staging import StagingArea, task_key
from workbench.io.distributed import (
    Task,
    chunk_blocks,
    ids_digest,
    open_rows,
    read_values,
    run_staged,
    write_values,
)

__all__ = ["embed_blocks", "predict_blocks", "embed_task", "predict_task"]

_VERSION = 1
#: Items per task (whole Zarr chunks joined up to about this many): fixed, so a rerun on a
#: cluster of another size finds the same tasks staged.
TASK_ROWS = 1024
_MODELS: dict = {}


def _torch_threads() -> None:
    """One torch thread per thread of this Dask worker (no oversubscription of cores)."""
    import torch

    try:
        from distributed import get_worker

        n = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return
    torch.set_num_threads(max(1, int(n)))


def _cached(key, make):
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = make()
    return _MODELS[key]


def embed_task(root: str, key: str, coll_path: str, rows, checkpoint: str, digest: str,
               prep: dict, batch_size: int, device) -> dict:
    """Embed the items at absolute ``rows``; stage ``values.zarr`` (n, d) float32."""
    from workbench.learn.data import CollectionImages
    from workbench.learn.embed import embed_images, load_encoder

    _torch_threads()
    enc, _ = _cached(("enc", checkpoint, digest, device),
                     lambda: load_encoder(checkpoint, device=device))
    ds = CollectionImages(open_rows(coll_path, rows), prep["product"], size=prep["size"],
                          crop=prep["crop"], stretch=prep["stretch"])
    emb = embed_images(ds, enc, batch_size=batch_size, device=device)
    area = StagingArea(root)
    with area.writing(key) as seg:
        write_values(seg.path, emb)
        seg.summary = {"n": int(len(emb))}
    return area.summary(key)


def _run_blocks(coll, product, kind, parts, fn, args, client, progress, target):
    root = coll.root
    area = StagingArea.of_collection(root.path)
    blocks = chunk_blocks(coll, product, target or TASK_ROWS)
    all_ids = np.asarray(root.ids, dtype=object)
    tasks = [Task(task_key(kind, _VERSION, ids_digest(all_ids[b]), *parts), fn,
                  (str(root.path), b, *args), len(b)) for b in blocks]
    run_staged(tasks, area, client=client, progress=progress, desc=kind, unit="item")
    keys = [t.key for t in tasks]
    values = read_values(area, keys, [len(b) for b in blocks])
    return values, area, keys


def embed_blocks(coll, checkpoint, digest: str, prep: dict, *, batch_size: int, device,
                 client, progress=False, target: int | None = None) -> np.ndarray:
    """Embeddings (n, d) of the items of ``coll`` computed by tasks on ``client``."""
    values, area, keys = _run_blocks(
        coll, prep["product"], "embed", [digest, prep], embed_task,
        (str(checkpoint), digest, prep, batch_size, device), client, progress, target)
    area.discard(keys)
    return values


def predict_task(root: str, key: str, coll_path: str, rows, model_path: str, backend: str,
                 digest: str | None, device, batch_size: int) -> dict:
    """Class probabilities (float64, the softmax at the checkpoint's temperature) of the
    items at absolute ``rows``, staged as ``values.zarr``."""
    from workbench.learn.infer import load_logits_fn, prepare_inputs, softmax

    _torch_threads()
    logits_fn, config = _cached(
        ("clf", model_path, digest, backend, device, batch_size),
        lambda: load_logits_fn(model_path, backend=backend, digest=digest, device=device,
                               batch_size=batch_size))
    prod = config.get("input", {}).get("product")
    temp = float(config.get("temperature", 1.0))
    probs = [softmax(logits_fn(prepare_inputs(b.images, config)), temperature=temp)
             for b in open_rows(coll_path, rows).batches(batch_size, products=[prod])]
    p = np.concatenate(probs) if probs else np.zeros((0, len(config["classes"])))
    area = StagingArea(root)
    with area.writing(key) as seg:
        write_values(seg.path, p)
        seg.summary = {"n": int(len(p))}
    return area.summary(key)


def predict_blocks(coll, model_path, *, product: str, backend: str, digest: str,
                   device, batch_size: int, client, progress=None,
                   target: int | None = None) -> np.ndarray:
    """Probabilities (n, k) of the items of ``coll`` computed by tasks on ``client``."""
    values, area, keys = _run_blocks(
        coll, product, "predict", [digest, backend, batch_size], predict_task,
        (str(model_path), backend, digest, device, batch_size), client,
        (lambda k: None) if progress is None else _counting(progress, len(coll)), target)
    area.discard(keys)
    return values


def _counting(progress, total: int):
    """Adapt ``progress(done, total)`` (predict's convention) to a step counter."""
    done = [0]

    def step(n):
        done[0] += n
        progress(done[0], total)
    return step
