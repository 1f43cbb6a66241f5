"""Crash-safe writes: replace files atomically; leave no half-made output folder behind."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

__all__ = ["atomic_write_bytes", "fsync_dir", "new_folder"]


def fsync_dir(path) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@contextlib.contextmanager
def new_folder(out):
    """Remove the output folder ``out`` again if the block fails and ``out`` is new.

    Ingesters and simulators create a Collection and then fill it; when filling fails (bad
    input with ``errors="raise"``, Ctrl-C, a full disk) the user must not be left with a
    half-made folder that a re-run then refuses to overwrite. A folder that existed before
    the block (an ``overwrite=True`` target, or a Collection passed in) is never removed.
    """
    created = not Path(out).exists()
    try:
        yield
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
