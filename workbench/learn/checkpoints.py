"""Checkpoints as safetensors files: tensors + a JSON metadata record, never pickles.

A file is checked against the safetensors layout (8-byte little-endian header length, then a
JSON header) before anything reads it, so a pickle or a ``torch.save`` archive handed in by a
user is refused with a :class:`~workbench.core.errors.ModelError` and never deserialised.

The metadata (config, what data was seen, training state) is one JSON string under the
``"workbench"`` key. :func:`content_hash` hashes tensors (names, dtypes, shapes, bytes) and not
the metadata, so the same weights always have the same hash; embeddings are keyed by it.
:func:`file_hash` hashes the file's bytes (weights and metadata): classifier predictions
record it as their provenance. Writes are atomic (temporary file, fsync, rename), so a
process killed mid-save leaves the previous checkpoint in place.

Used by the SSL encoders (issue 7) and by the classifiers and active-learning rounds
(issue 8).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import uuid
from pathlib import Path

import torch

from workbench.core.errors import ModelError

__all__ = ["save_checkpoint", "load_checkpoint", "read_metadata", "check_safetensors",
           "content_hash", "file_hash", "ENCODER_PREFIX"]

_META_KEY = "workbench"
_MAX_HEADER = 256 * 1024 * 1024
#: Tensor-name prefix of the encoder weights inside a training checkpoint.
ENCODER_PREFIX = "encoder."


def check_safetensors(path) -> dict:
    """Return the parsed JSON header of safetensors file ``path``, or raise ModelError.

    Only the first ``8 + header`` bytes are read; nothing is unpickled.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError("no such checkpoint file", path=path,
                         hint="pass a .safetensors file written by `workbench train` or "
                              "`workbench train-ssl`")
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        what = "not a safetensors file"
        if head[:1] == b"\x80":
            what = "a Python pickle"
        elif head[:2] == b"PK":
            what = "a zip archive (torch.save format, which holds pickles)"
        elif head[:8] == b"\x89HDF\r\n\x1a\n":
            what = "an HDF5 file"
        if len(head) < 8:
            raise ModelError(f"checkpoint is {what} (too short)", path=path,
                             hint="checkpoints must be .safetensors files written by the workbench")
        (n,) = struct.unpack("<Q", head)
        if n < 2 or n > min(_MAX_HEADER, size - 8):
            raise ModelError(f"refusing to load: the file is {what}; it is not read further "
                             "(pickles can run code)", path=path,
                             hint="re-save the weights with safetensors (safetensors.torch.save_file)")
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelError(f"refusing to load: the file is {what} (no JSON header)", path=path,
                         hint="re-save the weights with safetensors") from None
    if not isinstance(header, dict):
        raise ModelError("refusing to load: safetensors header is not a JSON object", path=path)
    return header


def read_metadata(path) -> dict:
    """The workbench metadata record of a checkpoint (without loading tensors); ``{}`` for a
    safetensors file that has none (not written by the workbench)."""
    header = check_safetensors(path)
    raw = (header.get("__metadata__") or {}).get(_META_KEY)
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelError(f"checkpoint metadata is not valid JSON ({exc})", path=path) from exc


def content_hash(tensors: dict, *, prefix: str | None = None) -> str:
    """SHA-256 (hex) of the tensors whose names start with ``prefix`` (all if None)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        if prefix is not None and not name.startswith(prefix):
            continue
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(path, tensors: dict, metadata: dict) -> str:
    """Write ``tensors`` (name -> tensor) and ``metadata`` (JSON-safe dict) atomically.

    Returns the :func:`content_hash` of the encoder weights (``encoder.*``) when there are
    any, else of all tensors; it is also stored in the metadata as ``"hash"``.
    """
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    has_enc = any(k.startswith(ENCODER_PREFIX) for k in tensors)
    digest = content_hash(tensors, prefix=ENCODER_PREFIX if has_enc else None)
    meta = {**metadata, "hash": digest}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
        save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(meta, default=str)})
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ModelError(f"cannot write checkpoint ({exc.strerror or exc})", path=path,
                         hint="choose a writable output path") from exc
    return digest


def load_checkpoint(path, *, device="cpu") -> tuple[dict, dict]:
    """Load a checkpoint: ``(tensors, metadata)``; refuses anything but safetensors."""
    from safetensors.torch import load_file

    check_safetensors(path)
    meta = read_metadata(path)
    try:
        tensors = load_file(str(path), device=str(device))
    except Exception as exc:  # safetensors raises its own error types
        raise ModelError(f"cannot read checkpoint ({exc})", path=path) from exc
    return tensors, meta


def file_hash(path, *, length: int = 64) -> str:
    """SHA-256 (hex, first ``length`` digits) of the file's bytes: the identity of one
    exact checkpoint file (weights and metadata), recorded as the provenance of predictions."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:length]
