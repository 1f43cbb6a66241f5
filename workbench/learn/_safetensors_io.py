"""Classifier checkpoints as safetensors files, with the model config in the metadata.

A checkpoint is never unpickled: before anything else the file's first bytes are checked
against the safetensors layout (8-byte little-endian header length, then a JSON header).
A pickle, a ``torch.save`` zip archive or anything else is refused with a
:class:`~workbench.core.errors.ModelError` without being deserialised.

(Written for the classifiers of issue 8; if ``workbench.learn.checkpoints`` grows the same
job, this module can become a thin wrapper over it.)
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

from workbench.core.errors import ModelError

__all__ = ["save_checkpoint", "load_checkpoint", "read_metadata", "check_safetensors",
           "file_hash"]

_META_KEY = "workbench"
_MAX_HEADER = 100 * 1024 * 1024


def _describe_foreign(head: bytes) -> str:
    if head[:1] == b"\x80":
        return "a Python pickle"
    if head[:2] == b"PK":
        return "a zip archive (torch.save format, which holds pickles)"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "an HDF5 file"
    return "not a safetensors file"


def check_safetensors(path) -> dict:
    """Check that ``path`` is a safetensors file and return its parsed JSON header.

    Only the first ``8 + header_length`` bytes are read and parsed as JSON; nothing is
    unpickled or executed.

    Raises
    ------
    ModelError
        If the file is missing, is a pickle / ``torch.save`` archive / anything else.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError("checkpoint file not found", path=path,
                         hint="pass the .safetensors file written by `workbench train`")
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ModelError(f"refusing to load: the file is {_describe_foreign(head)} and "
                             "too short to be a checkpoint", path=path)
        (n,) = struct.unpack("<Q", head)
        if n < 2 or n > min(_MAX_HEADER, size - 8):
            raise ModelError(f"refusing to load: the file is {_describe_foreign(head)}, "
                             "not a workbench safetensors checkpoint", path=path,
                             hint="checkpoints are never unpickled; re-save the weights "
                                  "with safetensors")
        raw = fh.read(n)
    if raw[:1] != b"{":
        raise ModelError("refusing to load: the file is not a safetensors checkpoint",
                         path=path, hint="checkpoints are never unpickled")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"refusing to load: corrupt safetensors header ({exc})",
                         path=path) from exc


def read_metadata(path) -> dict:
    """The workbench config stored in a checkpoint's metadata (a dict)."""
    header = check_safetensors(path)
    meta = header.get("__metadata__") or {}
    if _META_KEY not in meta:
        raise ModelError("safetensors file has no workbench model config in its metadata",
                         path=path, hint="it was not written by workbench; train with "
                                         "`workbench train`")
    try:
        return json.loads(meta[_META_KEY])
    except json.JSONDecodeError as exc:
        raise ModelError(f"bad workbench metadata: {exc}", path=path) from exc


def save_checkpoint(path, state_dict, config: dict) -> Path:
    """Write ``state_dict`` (name -> tensor) and ``config`` (JSON-safe dict) atomically.

    Returns the path written.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(config)})
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path) -> tuple[dict, dict]:
    """Load ``(state_dict, config)`` from a workbench safetensors checkpoint (CPU tensors)."""
    config = read_metadata(path)
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise ModelError(f"cannot read checkpoint tensors: {exc}", path=path) from exc
    return state, config


def file_hash(path, *, length: int = 16) -> str:
    """SHA-256 of the file's bytes (first ``length`` hex digits): the model's identity."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:length]
