"""Crash-safe writes: replace files atomically; build output folders beside their target
and put them in place only when complete (see :mod:`workbench.io._replace`)."""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import uuid
from pathlib import Path

from workbench.core.errors import InputError, OutputError

__all__ = ["atomic_write_bytes", "fsync_dir", "new_folder", "replacing", "staging"]

#: The builds of the innermost :func:`new_folder` block of this thread (None outside one).
_STAGING: contextvars.ContextVar[list | None] = contextvars.ContextVar("workbench_staging",
                                                                      default=None)


def fsync_dir(path) -> None:
    """fsync a directory so a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix.

    The temporary file gets a fresh random name and is created exclusively without following
    symbolic links, so nothing planted in the folder can redirect the write elsewhere.
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}-{uuid.uuid4().hex[:12]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def staging() -> list | None:
    """The list that :meth:`Collection.create` registers its builds in, inside a
    :func:`new_folder` block (None outside one: a build is put in place at once)."""
    return _STAGING.get()


def _refuse_inputs_inside(out: Path, inputs) -> None:
    if not out.exists():
        return
    root = Path(os.path.realpath(out))
    for p in inputs or ():
        if not isinstance(p, (str, os.PathLike)):
            continue  # e.g. a DataFrame
        real = Path(os.path.realpath(p))
        if real == root or root in real.parents:
            raise InputError(f"lies inside the output folder {out}, which this run would "
                             "replace", path=p,
                             hint="copy the input elsewhere or choose another output folder")


@contextlib.contextmanager
def new_folder(out, *, inputs=()):
    """Build the output folder ``out`` beside it; put it in place only if the block succeeds.

    Ingesters and simulators call :meth:`Collection.create(out, ..., overwrite=...)
    <workbench.io.collection.Collection.create>` inside this block. The Collection is then
    made in a sibling build folder (``coll.path`` points there while the block runs; write
    files that belong with it, such as a simulation's ``sources/``, under ``coll.path``) and
    swapped in for ``out`` when the block ends without an exception: atomically, so a
    failure, Ctrl-C or SIGKILL at any point leaves an existing ``out`` exactly as it was
    and no half-made folder behind. Afterwards ``coll.path`` is ``out``.

    ``inputs``: the files the run reads; one that lies inside an existing ``out`` (which
    the run would replace) is refused with an :class:`InputError` before anything is
    written. A folder ``out`` that the block itself made directly (not through
    ``Collection.create``) is removed again if the block fails.
    """
    out = Path(out)
    _refuse_inputs_inside(out, inputs)
    created = not os.path.lexists(out)
    builds: list = []
    token = _STAGING.set(builds)
    try:
        yield
    except BaseException:
        _STAGING.reset(token)
        for b in builds:
            b.discard()
        if created and out.is_dir() and not out.is_symlink():
            shutil.rmtree(out, ignore_errors=True)
        raise
    _STAGING.reset(token)
    for k, b in enumerate(builds):
        try:
            b.install()
        except BaseException:
            for rest in builds[k + 1:]:
                rest.discard()
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
