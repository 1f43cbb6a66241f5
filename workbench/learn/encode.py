"""Encoding items: batched encoder inference, the embeddings stored beside the Collection by
checkpoint hash (what is done with them afterwards lives in :mod:`workbench.embed`).

``embed_collection(coll, "enc.safetensors")`` reads the encoder (safetensors only), runs it
over the Collection product with a DataLoader, and stores the vectors as the derived array
``embedding-<hash12>`` (12 hex digits of the encoder's content hash). Running it again with the
same checkpoint finds that array and returns it without touching the encoder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from workbench.core.errors import ModelError
from workbench.learn.checkpoints import ENCODER_PREFIX, load_checkpoint
from workbench.learn.data import CollectionImages, make_loader
from workbench.learn.encoders import build_encoder
from workbench.learn.fit import pick_device

__all__ = ["load_encoder", "embed_images", "embed_collection", "embedding_name", "EmbedResult"]


def load_encoder(path, *, device=None) -> tuple[torch.nn.Module, dict]:
    """The encoder stored in a checkpoint (in eval mode) and the checkpoint's metadata."""
    tensors, meta = load_checkpoint(path, device="cpu")
    if "encoder" not in meta:
        raise ModelError("checkpoint has no encoder config in its metadata", path=path,
                         hint="use a checkpoint written by `workbench train-ssl`")
    enc = build_encoder(meta["encoder"])
    state = {k[len(ENCODER_PREFIX):]: v for k, v in tensors.items()
             if k.startswith(ENCODER_PREFIX)}
    try:
        enc.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"encoder weights do not match its config ({exc})", path=path) from exc
    return enc.to(torch.device(pick_device(device))).eval(), meta


def embedding_name(digest: str) -> str:
    """Derived-array name of the embeddings made by the encoder with hash ``digest``."""
    return f"embedding-{digest[:12]}"


@torch.no_grad()
def embed_images(dataset, encoder: torch.nn.Module, *, batch_size: int = 256,
                 device=None, num_workers: int = 0) -> np.ndarray:
    """Run ``encoder`` over a dataset of ``(c, ny, nx)`` tensors -> float32 ``(n, out_dim)``."""
    dev = torch.device(pick_device(device))
    encoder = encoder.to(dev).eval()
    use_amp = dev.type == "cuda"
    out = []
    for x in make_loader(dataset, batch_size=batch_size, num_workers=num_workers):
        with torch.autocast(dev.type, enabled=use_amp):
            out.append(encoder(x.to(dev, non_blocking=True)).float().cpu())
    if not out:
        return np.zeros((0, encoder.out_dim), np.float32)
    return torch.cat(out).numpy().astype(np.float32)


@dataclass
class EmbedResult:
    """``name`` of the derived array, the ``embeddings`` (n, d), whether they were ``reused``
    and the wall time ``seconds``."""

    name: str
    embeddings: np.ndarray
    reused: bool
    seconds: float


def embed_collection(coll, checkpoint, *, batch_size: int = 256, device=None,
                     force: bool = False, client=None, progress=False) -> EmbedResult:
    """Embed every item of ``coll`` with the encoder in ``checkpoint``; store and return.

    Parameters
    ----------
    coll : Collection or path-like
        The Collection (opened read-write here if needed). Product and image size are the
        ones the encoder was trained on (from the checkpoint metadata).
    checkpoint : path-like
        A safetensors checkpoint from :func:`workbench.learn.train.train_ssl`.
    force : bool
        Recompute even if embeddings by this encoder are already stored.
    client : distributed.Client, optional
        Embed on this Dask cluster, in tasks of whole Zarr chunks that stage their blocks
        in ``COLLECTION/.staging`` (:mod:`workbench.learn._dask_tasks`); the stored record
        is the same. Default: in this process.
    """
    from workbench.io.collection import Collection
    from workbench.io.collection import open as open_collection

    t0 = time.perf_counter()
    if not isinstance(coll, Collection):
        coll = open_collection(coll, "r+")
    root = coll.root
    if root.mode != "r+":
        root = open_collection(root.path, "r+")
        coll = root.view_of_rows(coll.rows) if coll.is_view else root
    from workbench.learn.checkpoints import read_metadata

    meta = read_metadata(checkpoint)
    digest = meta.get("hash")
    if not digest or "encoder" not in meta:
        raise ModelError("not an encoder checkpoint (no hash/encoder in metadata)",
                         path=checkpoint, hint="use a checkpoint written by `workbench train-ssl`")
    name = embedding_name(digest)
    rec = root.derived.get(name)
    if rec is not None and not force:
        arr = coll.derived_array(name)
        if not np.isnan(arr).any():
            return EmbedResult(name, arr.astype(np.float32), True, time.perf_counter() - t0)
    if client is not None:
        return _embed_on(client, coll, checkpoint, meta, digest, name, batch_size, device,
                         progress, t0)
    enc, meta = load_encoder(checkpoint, device=device)
    train = meta.get("train", {})
    ds = CollectionImages(coll, train.get("product"), size=train.get("size"),
                          crop=train.get("crop"), stretch=train.get("stretch"))
    if ds.n_channels != enc.config["in_channels"]:
        raise ModelError(f"encoder takes {enc.config['in_channels']} channel(s), product "
                         f"{ds.product!r} has {ds.n_channels}", path=checkpoint)
    emb = embed_images(ds, enc, batch_size=batch_size, device=device)
    _store(coll, name, emb, ds.ids, checkpoint, digest, meta,
           {"product": ds.product, "size": ds.size, "crop": ds.crop, "stretch": ds.stretch})
    return EmbedResult(name, emb, False, time.perf_counter() - t0)


def _store(coll, name, emb, ids, checkpoint, digest, meta, prep) -> None:
    coll.add_array(name, emb, tool="workbench.learn.encode", ids=ids,
                   params={"checkpoint": str(checkpoint), "encoder_hash": digest,
                           "encoder": meta["encoder"], "method": meta.get("method", {}),
                           "product": prep["product"], "size": prep["size"],
                           "crop": prep["crop"], "stretch": prep["stretch"] or "linear",
                           "trained_on": meta.get("data", {}).get("hash")})


def _embed_on(client, coll, checkpoint, meta, digest, name, batch_size, device, progress,
              t0) -> EmbedResult:
    """The Dask path: the same preparation as :class:`CollectionImages`, blocks on workers."""
    from workbench.learn._dask_tasks import embed_blocks
    from workbench.learn.data import pick_product

    train = meta.get("train", {})
    crop, stretch = train.get("crop"), train.get("stretch")
    prep = {"product": pick_product(coll, train.get("product")), "size": train.get("size"),
            "crop": None if crop is None or crop >= 1 else float(crop),
            "stretch": None if stretch in (None, "linear") else stretch}
    n_ch = len(coll.products[prep["product"]].channels)
    if n_ch != meta["encoder"].get("in_channels", n_ch):
        raise ModelError(f"encoder takes {meta['encoder']['in_channels']} channel(s), product "
                         f"{prep['product']!r} has {n_ch}", path=checkpoint)
    emb = embed_blocks(coll, checkpoint, digest, prep, batch_size=batch_size, device=device,
                       client=client, progress=progress)
    if emb is None:
        emb = np.zeros((0, int(meta["encoder"].get("out_dim", 0))), np.float32)
    _store(coll, name, emb, coll.ids, checkpoint, digest, meta, prep)
    return EmbedResult(name, emb, False, time.perf_counter() - t0)
