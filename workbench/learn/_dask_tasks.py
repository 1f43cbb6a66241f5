"""The Dask paths of :func:`~workbench.learn.encode.embed_collection` and
:func:`~workbench.learn.infer.predict_collection` (``client=`` given).

The items are split into blocks of whole Zarr chunks (:func:`workbench.io.distributed.
chunk_blocks`); each task reads its block on a worker, runs the encoder (or classifier) with
one torch thread per worker thread, and stages its block of results in the Collection's
staging area (``COLLECTION/.staging``) under a key made of the block's ids, the checkpoint's
hash and the input preparation. The client stacks the blocks in item order and stores them
as the same derived record a serial run writes; a rerun after an interruption skips the
blocks already staged.

A worker loads a model once per job, not once per task. The loaded encoders and
classifiers are held by a :class:`ModelCache` owned by the Dask worker running the tasks
(:func:`worker_models`); the job (:func:`embed_blocks`, :func:`predict_blocks`) empties it
on every worker when it ends, failed or not (:func:`release_worker_models`), so no model
outlives its job. Without a client the tasks run in this process with one cache for the job,
dropped when it ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from collections import OrderedDict

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

__all__ = ["embed_blocks", "predict_blocks", "embed_task", "predict_task", "ModelCache",
           "worker_models", "release_worker_models", "job_models"]

_VERSION = 1
#: Items per task (whole Zarr chunks joined up to about this many): fixed, so a rerun on a
#: cluster of another size finds the same tasks staged.
TASK_ROWS = 1024


class ModelCache:
    """Loaded models kept between the tasks of one Dask worker.

    Holds at most ``size`` models (the most recently used; loading another evicts the
    oldest), keyed by what identifies a model: checkpoint path, content hash, backend,
    device. Thread-safe: the worker's threads share it, and a model is loaded once even
    when several tasks ask for it at the same time. Its owner decides how long it lives
    (see the module notes); :meth:`clear` drops the models now.
    """

    def __init__(self, size: int = 1):
        if size < 1:
            raise ValueError("a ModelCache holds at least one model")
        self.size = int(size)
        self._models: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make):
        """The model cached under ``key``, else ``make()``, cached (evicting the oldest)."""
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            while len(self._models) >= self.size:
                self._models.popitem(last=False)
            model = make()
            self._models[key] = model
            return model

    def clear(self) -> None:
        """Drop every cached model."""
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)


#: Dask worker -> its ModelCache (weakly keyed: nothing keeps a worker alive).
_WORKER_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WORKER_MODELS_LOCK = threading.Lock()
#: The cache of a job whose tasks run in this process (no client); None outside one.
_JOB_MODELS: contextvars.ContextVar[ModelCache | None] = contextvars.ContextVar(
    "workbench_job_models", default=None)


def _current_worker():
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def worker_models() -> ModelCache:
    """The :class:`ModelCache` for the task running now: its Dask worker's (made on the
    worker's first task, emptied by :func:`release_worker_models` when the job ends), or the
    job's own when the tasks run in this process (:func:`job_models`). Anywhere else a new,
    empty cache, so a task function called directly keeps nothing."""
    worker = _current_worker()
    if worker is None:
        job = _JOB_MODELS.get()
        return ModelCache() if job is None else job
    with _WORKER_MODELS_LOCK:
        cache = _WORKER_MODELS.get(worker)
        if cache is None:
            cache = _WORKER_MODELS[worker] = ModelCache()
        return cache


def release_worker_models(dask_worker=None) -> int:
    """Drop the models cached by ``dask_worker`` (default: the worker this task runs on);
    ``client.run`` calls it on every worker, passing the worker, when a job ends. Returns
    how many models there were."""
    worker = dask_worker if dask_worker is not None else _current_worker()
    with _WORKER_MODELS_LOCK:
        cache = _WORKER_MODELS.pop(worker, None) if worker is not None else None
    if cache is None:
        return 0
    n = len(cache)
    cache.clear()
    return n


@contextlib.contextmanager
def job_models(client):
    """The lifetime of the models of one job: on ``client``'s workers, released from every
    worker when the block ends (a worker that is gone has nothing left to release); without
    a client, one cache for the tasks run in this process inside the block."""
    if client is not None:
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                client.run(release_worker_models, on_error="ignore")
        return
    token = _JOB_MODELS.set(ModelCache())
    try:
        yield
    finally:
        cache = _JOB_MODELS.get()
        _JOB_MODELS.reset(token)
        if cache is not None:
            cache.clear()


def _torch_threads() -> None:
    """One torch thread per thread of this Dask worker (no oversubscription of cores)."""
    import torch

    try:
        from distributed import get_worker

        n = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        return
    torch.set_num_threads(max(1, int(n)))


def embed_task(root: str, key: str, coll_path: str, rows, checkpoint: str, digest: str,
               prep: dict, batch_size: int, device) -> dict:
    """Embed the items at absolute ``rows``; stage ``values.zarr`` (n, d) float32."""
    from workbench.learn.data import CollectionImages
    from workbench.learn.encode import embed_images, load_encoder

    _torch_threads()
    enc, _ = worker_models().get(("enc", checkpoint, digest, device),
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
    with job_models(client):
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
    logits_fn, config = worker_models().get(
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
