"""Crash-safe writes: replace files atomically; leave no half-made output folder behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

from workbench.core.errors import OutputError

__all__ = ["atomic_write_bytes", "fsync_dir", "new_folder", "replacing"]


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


@contextlib.contextmanager
def replacing(path):
    """Write an output file through a temporary file beside it, renamed over ``path`` at the end.

    ``with replacing(out) as tmp: write(tmp)``: readers and the user see the old file or the
    complete new one, never a truncated mix. If writing fails (disk full, no permission, a
    bug, Ctrl-C) the temporary file is removed and an existing ``path`` is left exactly as it
    was; an ``OSError`` becomes an :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise OutputError("the output folder does not exist", path=path,
                          hint="make the folder first or choose another output path")
    if path.is_dir():
        raise OutputError("is a folder, not a file", path=path)
    tmp = parent / f".tmp-{uuid.uuid4().hex[:8]}-{path.name}"
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror or exc})", path=path,
                          hint="check the folder's permissions and free space; "
                               "an existing file there was left unchanged") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
