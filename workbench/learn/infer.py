"""Batched inference: probabilities for arrays, for a whole Collection, and for a stream.

A checkpoint (see :mod:`workbench.learn.checkpoints`) holds the weights and a config
that says how inputs are prepared (``config["input"]``) and, after calibration, the
temperature (``config["temperature"]``). :func:`predict_collection` writes the results as
derived columns ``pred_<class>`` (probabilities) and ``pred_label``, whose provenance is
the checkpoint's SHA-256 and the backend that ran it: ``torch`` (the checkpoint's module),
``onnx`` or ``onnx-int8`` (its ONNX export, fp32 or dynamic int8, run with onnxruntime on
CPU; see :func:`workbench.learn.compact.onnx_for_checkpoint`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from workbench.core.errors import InputError, ModelError

__all__ = ["load_model", "predict_proba", "predict_logits", "mc_dropout_proba",
           "prepare_inputs", "predict_collection", "predict_stream", "softmax", "BACKENDS",
           "load_logits_fn", "prefetched"]

#: Inference backends of :func:`predict_collection` (and ``workbench predict --backend``).
BACKENDS = ("torch", "onnx", "onnx-int8")


def softmax(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature`` (float64 ``(n, k)``)."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def load_model(path):
    """``(model, config)`` from a safetensors checkpoint; the model is on CPU, eval mode.

    Files that are not workbench safetensors checkpoints (pickles, ``torch.save``
    archives) are refused without being unpickled.
    """
    from workbench.learn.checkpoints import load_checkpoint
    from workbench.learn.classifiers import build_model

    state, config = load_checkpoint(path)
    if "model" not in config:
        raise ModelError("the checkpoint has no classifier config in its metadata", path=path,
                         hint="pass a checkpoint written by `workbench train` (an SSL encoder "
                              "from `workbench train-ssl` is used by `workbench embed`)")
    model = build_model(config["model"])
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"weights do not fit the model in the checkpoint's config: {exc}",
                         path=path) from exc
    return model.eval(), config


def predict_logits(model, x: np.ndarray, *, batch_size: int = 256,
                   device: str | None = None) -> np.ndarray:
    """Logits ``(n, k)`` float32 for prepared inputs ``x``, in batches, without gradients.

    Image inputs ``(n, c, ny, nx)`` run in channels-last memory format (the model's
    parameters are converted in place; their values and ``state_dict`` are unchanged).
    The model is put in eval mode (dropout off).
    """
    return _logits(model.eval(), x, batch_size=batch_size, device=device)


def _logits(model, x: np.ndarray, *, batch_size: int, device: str | None) -> np.ndarray:
    """:func:`predict_logits` without changing the modules' train/eval modes (MC dropout
    keeps its dropout layers in train mode)."""
    import torch

    from workbench.learn.fit import pick_device

    device = pick_device(device)
    model = model.to(device)
    images = np.ndim(x) == 4
    if images:  # NHWC convolutions: ~1.8x faster for the ML-PPA CNNs on CPU (oneDNN)
        model = model.to(memory_format=torch.channels_last)
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[start:start + batch_size],
                                                       dtype=np.float32)).to(device)
            if images:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16,
                                enabled=device.startswith("cuda")):
                out.append(model(xb).float().cpu().numpy())
    k = getattr(model, "config", {}).get("n_classes", 0)
    return np.concatenate(out) if out else np.zeros((0, k), np.float32)


def predict_proba(model, x: np.ndarray, *, batch_size: int = 256, temperature: float = 1.0,
                  device: str | None = None) -> np.ndarray:
    """Class probabilities ``(n, k)`` for prepared inputs ``x``."""
    return softmax(predict_logits(model, x, batch_size=batch_size, device=device),
                   temperature=temperature)


def mc_dropout_proba(model, x: np.ndarray, *, samples: int = 10, batch_size: int = 256,
                     seed: int = 0) -> np.ndarray:
    """Monte-Carlo dropout: ``(samples, n, k)`` probabilities with dropout left on
    (Gal & Ghahramani 2016, arXiv:1506.02142); input to BALD.

    The model needs dropout layers with ``p > 0`` (a :class:`ModelError` otherwise): the
    plain ML-PPA network has none, so BALD rounds train it with ``dropout=0.2``.
    """
    import torch

    drops = [m for m in model.modules() if isinstance(m, torch.nn.Dropout) and m.p > 0]
    if not drops:
        raise ModelError("Monte-Carlo dropout needs a model with dropout > 0 (all samples "
                         "would be identical and BALD would be zero everywhere)",
                         hint="train it with dropout > 0, e.g. train_classifier(..., "
                              "dropout=0.2)")
    torch.manual_seed(seed)
    model = model.to("cpu")
    model.eval()
    for m in drops:
        m.train()
    try:
        out = np.stack([softmax(_logits(model, x, batch_size=batch_size, device="cpu"))
                        for _ in range(samples)])
    finally:
        model.eval()
    return out


def prepare_inputs(batch_images: dict | None, config: dict, *,
                   features: np.ndarray | None = None) -> np.ndarray:
    """Turn raw images (product -> ``(n, c, ny, nx)``) or feature rows into model inputs,
    as the checkpoint's ``config["input"]`` says."""
    from workbench.learn._prep import prepare_images, standardise_features

    spec = config.get("input", {})
    kind = spec.get("kind", "images")
    if kind == "images":
        prod = spec.get("product")
        if batch_images is None or prod not in batch_images:
            raise ModelError(f"the model needs image product {prod!r}")
        return prepare_images(batch_images[prod], size=spec.get("size"),
                              norm=spec.get("norm", "per_image"))
    if kind == "features":
        if features is None:
            raise ModelError("the model needs feature vectors (embeddings)")
        z, _, _ = standardise_features(features, mean=spec.get("mean"), std=spec.get("std"))
        return z
    raise ModelError(f"unknown input kind {kind!r} in checkpoint config")


def _collection_features(coll, spec: dict) -> np.ndarray:
    from workbench.learn.pool_features import features_for

    return features_for(coll, source=spec.get("source"))


def prefetched(iterable, *, depth: int = 2) -> Iterator:
    """Iterate over ``iterable`` in a background thread, keeping up to ``depth`` items
    ready, so reading and preparing the next block overlaps the model's work on this one
    (Zarr decompression, numpy partitions and torch kernels release the GIL).
    Exceptions are re-raised in the consumer; abandoning the iterator stops the thread."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(obj) -> bool:
        while not stop.is_set():
            try:
                q.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for obj in iterable:
                if not put((None, obj)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put((exc, None))
            return
        put((None, end))

    th = threading.Thread(target=work, name="workbench-prefetch", daemon=True)
    th.start()
    try:
        while True:
            exc, obj = q.get()
            if exc is not None:
                raise exc
            if obj is end:
                return
            yield obj
    finally:
        stop.set()
        th.join(timeout=5)


def _classifier_config(path) -> dict:
    """A classifier checkpoint's config, read without loading its weights."""
    from workbench.learn.checkpoints import read_metadata

    config = read_metadata(path)
    if "model" not in config:
        raise ModelError("the checkpoint has no classifier config in its metadata", path=path,
                         hint="pass a checkpoint written by `workbench train`")
    return config


def load_logits_fn(model_path, *, backend: str = "torch", digest: str | None = None,
                   device: str | None = None, batch_size: int = 256):
    """``(logits_fn, config)`` for a classifier checkpoint run by ``backend``.

    ``logits_fn(x)`` maps prepared inputs ``x`` to logits ``(n, k)``. ``torch`` runs the
    checkpoint's module (on ``device``); ``onnx`` / ``onnx-int8`` run its cached ONNX
    export with onnxruntime on CPU (``digest``: the checkpoint's SHA-256 if known).
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown inference backend {backend!r}", hint=f"use one of {BACKENDS}")
    if backend == "torch":
        model, config = load_model(model_path)
        return (lambda x: predict_logits(model, x, batch_size=batch_size, device=device),
                config)
    if device is not None and not str(device).startswith("cpu"):
        raise InputError(f"the {backend} backend runs on CPU with onnxruntime, not on "
                         f"{device!r}", hint="use --backend torch for a GPU")
    from workbench.learn.compact import OnnxClassifier, onnx_for_checkpoint

    config = _classifier_config(model_path)
    sess = OnnxClassifier(onnx_for_checkpoint(model_path, int8=backend == "onnx-int8",
                                              digest=digest))
    return (lambda x: sess.logits(x, batch_size=batch_size)), config


def predict_collection(coll, model_path, *, batch_size: int = 256, write: bool = True,
                       name: str = "predictions", device: str | None = None,
                       backend: str = "torch", progress=None,
                       prefetch: bool = True, client=None) -> pd.DataFrame:
    """Predict every item of ``coll`` with the checkpoint at ``model_path``.

    Returns a DataFrame (one row per item, in catalog order) with ``id``, ``pred_<class>``
    probabilities and ``pred_label``; with ``write=True`` the columns are stored as the
    derived set ``name`` with provenance ``{checkpoint, checkpoint_sha256, backend, ...}``.

    ``backend`` is one of :data:`BACKENDS`: ``torch`` (default; on ``device``), ``onnx``
    (the checkpoint exported to ONNX fp32, same predictions as torch to ~1e-6) or
    ``onnx-int8`` (dynamic int8 weights of the dense layers: 4x smaller, faster on CPU;
    probabilities moved by ~1e-3 in the tests, labels near 0.5 may flip). The ONNX exports run with onnxruntime
    on CPU and are cached beside the checkpoint, keyed by its SHA-256
    (:func:`workbench.learn.compact.onnx_for_checkpoint`); the first call exports.

    Images are read in blocks of ``batch_size`` contiguous rows and prepared vectorised.
    With ``prefetch`` (default) the next block is read and prepared in a background
    thread while the model classifies the current one (on the shared 2-core test machine
    it won 3 of 4 interleaved comparisons; on a GPU the CPU work hides behind the model).
    ``progress(done, total)`` is called per block.

    ``client`` (a ``distributed.Client``): classify on that Dask cluster, in tasks of whole
    Zarr chunks staged in ``COLLECTION/.staging`` (:mod:`workbench.learn._dask_tasks`);
    the same columns and record are stored. Models that read embeddings (features) run
    here: they are one small matrix product.
    """
    from workbench.core.provenance import made_by
    from workbench.learn.checkpoints import check_safetensors, file_hash

    check_safetensors(model_path)  # refuse pickles before hashing or exporting anything
    digest = file_hash(model_path, length=64) if write or backend != "torch" else None
    logits_fn, config = load_logits_fn(model_path, backend=backend, digest=digest,
                                       device=device, batch_size=batch_size)
    classes = config["classes"]
    temp = float(config.get("temperature", 1.0))
    spec = config.get("input", {})
    probs = []
    if spec.get("kind", "images") == "features":
        x = prepare_inputs(None, config, features=_collection_features(coll, spec))
        probs.append(softmax(logits_fn(x), temperature=temp))
    else:
        prod = spec.get("product")
        if prod not in coll.products:
            raise ModelError(f"the model was trained on product {prod!r}, which "
                             f"{coll.path} lacks", hint=f"products: {list(coll.products)}")

        if client is not None:
            from workbench.learn._dask_tasks import predict_blocks

            digest = digest or file_hash(model_path, length=64)
            probs.append(predict_blocks(coll, model_path, product=prod, backend=backend,
                                        digest=digest, device=device, batch_size=batch_size,
                                        client=client, progress=progress))
            probs = [p for p in probs if p is not None]

        def prepared():
            for b in coll.batches(batch_size, products=[prod]):
                yield len(b), prepare_inputs(b.images, config)

        done = 0
        blocks = () if client is not None else prefetched(prepared()) if prefetch else prepared()
        for n, x in blocks:  # with prefetch: the next block is read and prepared meanwhile
            probs.append(softmax(logits_fn(x), temperature=temp))
            done += n
            if progress is not None:
                progress(done, len(coll))
    p = np.concatenate(probs) if probs else np.zeros((0, len(classes)))
    df = pd.DataFrame({f"pred_{c}": p[:, i].astype(np.float32) for i, c in enumerate(classes)})
    df["pred_label"] = np.asarray(classes, dtype=object)[p.argmax(1)] if len(p) else []
    if write:
        coll.add_columns(name, df, made=made_by("workbench.learn.infer.predict_collection",
                                                checkpoint=str(model_path),
                                                checkpoint_sha256=digest, backend=backend,
                                                temperature=temp, batch_size=batch_size))
    df.insert(0, "id", coll.ids)
    return df


def predict_stream(model, config: dict, images: Iterable[np.ndarray], *,
                   batch_size: int = 256, device: str | None = None) -> Iterator[np.ndarray]:
    """Classify a stream of candidate images (each ``(ny, nx)`` or ``(c, ny, nx)``) in
    batches of ``batch_size``; yields ``(m, k)`` probability blocks as they fill (the last
    block may be short). For real-time use: the latency is one batch."""
    prod = config.get("input", {}).get("product", "image")
    temp = float(config.get("temperature", 1.0))
    buf = []
    for img in images:
        a = np.asarray(img, dtype=np.float32)
        buf.append(a[None] if a.ndim == 2 else a)
        if len(buf) == batch_size:
            x = prepare_inputs({prod: np.stack(buf)}, config)
            yield predict_proba(model, x, batch_size=batch_size, temperature=temp,
                                device=device)
            buf = []
    if buf:
        x = prepare_inputs({prod: np.stack(buf)}, config)
        yield predict_proba(model, x, batch_size=batch_size, temperature=temp, device=device)
