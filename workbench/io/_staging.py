"""The staging area of a Collection: segments written by parallel tasks, committed together.

A parallel job (see :mod:`workbench.io.distributed`) splits its work into tasks. Each task
writes its own *segment* (its items' catalog rows as ``rows.parquet``, their images as Zarr
arrays, or a block of derived values) into the staging area, under a name derived from its
inputs and parameters (:func:`task_key`)::

    STAGING/
      <key>/                     a complete segment
          segment.json           written last: the task's summary (its "done" marker)
          rows.parquet, <product>.zarr, axes.parquet, values.zarr, ...
      .tmp-<key>-<hex>/          a segment being written (or left by a killed worker)

A task writes into a ``.tmp-`` folder, writes ``segment.json`` last, fsyncs and renames the
folder to ``<key>`` in one step: a segment is complete exactly when ``<key>/segment.json``
exists. A worker killed half-way leaves only a ``.tmp-`` folder, which nothing ever commits
and :meth:`StagingArea.clear_partial` removes. A task run twice (Dask reruns a task whose
worker died after it finished) finds its segment complete and keeps the first copy.

The client commits the complete segments in one manifest transaction
(:meth:`workbench.io._appender.Appender.add_staged`); until then readers see nothing of them.
Re-running the same job after an interruption finds the segments already staged under the
same keys and skips those tasks.

Where the staging area lives: ``COLLECTION/.staging`` for work on an existing Collection
(derived values), and ``.<name>.wb-staging`` beside the output folder for an ingest that
makes a new Collection (which does not exist until the ingest commits).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from workbench.core.errors import CollectionError, OutputError
from workbench.io._atomic import fsync_dir

__all__ = ["StagingArea", "task_key", "file_identity", "DONE", "STAGING"]

#: The staging folder inside an existing Collection.
STAGING = ".staging"
#: The file that marks a segment complete (written last, holds the task's summary).
DONE = "segment.json"
_TMP = ".tmp-"
_MAX_SUMMARY_BYTES = 64 * 2**20


def file_identity(path) -> list:
    """``[absolute path, size, mtime_ns]`` of an input file (None for size/time when it
    cannot be read: the task then reports the file as bad)."""
    p = os.path.abspath(path)
    try:
        st = os.stat(p)
        return [p, int(st.st_size), int(st.st_mtime_ns)]
    except OSError:
        return [p, None, None]


def task_key(kind: str, *parts) -> str:
    """A task's name: ``kind`` and 32 hex digits of the SHA-256 of its inputs and parameters
    (JSON; use :func:`file_identity` for files so a changed input gets a new key)."""
    blob = json.dumps([kind, *parts], sort_keys=True, default=str, separators=(",", ":"))
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def _plain_key(key: str) -> str:
    if (not isinstance(key, str) or not key or key.startswith(".") or "/" in key
            or "\\" in key or "\x00" in key):
        raise CollectionError(f"bad staging key {key!r}")
    return key


class StagingArea:
    """A folder of task segments (see the module docstring)."""

    def __init__(self, root):
        self.root = Path(root)

    @classmethod
    def of_collection(cls, coll_path) -> StagingArea:
        """``COLLECTION/.staging``."""
        return cls(Path(coll_path) / STAGING)

    @classmethod
    def beside(cls, out) -> StagingArea:
        """``.<name>.wb-staging`` beside the (future) output folder ``out``."""
        out = Path(os.path.abspath(out))
        return cls(out.parent / f".{out.name}.wb-staging")

    # ------------------------------------------------------------------ client side
    def prepare(self) -> None:
        """Make the folder (a link or a file in its place is refused) and remove partial
        segments left by killed workers. Call before submitting tasks."""
        if self.root.is_symlink() or (self.root.exists() and not self.root.is_dir()):
            raise OutputError("the staging area is not a plain folder; refusing to use it",
                              path=self.root, hint="remove it")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot make the staging area ({exc.strerror or exc})",
                              path=self.root) from exc
        self.clear_partial()

    def clear_partial(self) -> None:
        """Remove ``.tmp-`` folders and key folders without their done marker."""
        if not self.root.is_dir():
            return
        for p in self.root.iterdir():
            if p.is_symlink() or not p.is_dir():
                if p.name.startswith(_TMP) or p.is_symlink():
                    p.unlink(missing_ok=True)
                continue
            if p.name.startswith(_TMP) or not (p / DONE).is_file():
                shutil.rmtree(p, ignore_errors=True)

    def path(self, key: str) -> Path:
        return self.root / _plain_key(key)

    def is_complete(self, key: str) -> bool:
        p = self.path(key)
        return not p.is_symlink() and (p / DONE).is_file() and not (p / DONE).is_symlink()

    def summary(self, key: str) -> dict:
        """The summary a complete segment's task recorded."""
        done = self.path(key) / DONE
        try:
            if done.stat().st_size > _MAX_SUMMARY_BYTES:
                raise CollectionError("staged segment summary is implausibly large", path=done)
            out = json.loads(done.read_bytes())
        except (OSError, ValueError) as exc:
            raise CollectionError(f"staged segment is unreadable ({exc})", path=done) from exc
        if not isinstance(out, dict):
            raise CollectionError("staged segment summary is not an object", path=done)
        return out

    def complete_keys(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {p.name for p in self.root.iterdir()
                if not p.name.startswith(_TMP) and self.is_complete(p.name)}

    def discard(self, keys=None) -> None:
        """Remove the segments ``keys`` (all: the whole area)."""
        if keys is None:
            if self.root.is_dir() and not self.root.is_symlink():
                shutil.rmtree(self.root, ignore_errors=True)
            return
        for k in keys:
            p = self.path(k)
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()  # only when nothing else is staged

    # ------------------------------------------------------------------ task side
    @contextlib.contextmanager
    def writing(self, key: str):
        """``with area.writing(key) as seg: write files under seg.path; seg.summary = {...}``

        On success the summary is written as the done marker and the folder renamed to
        ``key``; on an exception (or a killed process) nothing under ``key`` appears. If
        another run of the same task completed first, its segment is kept and this one
        dropped (both hold the same content)."""
        seg = _Segment(self.root / f"{_TMP}{_plain_key(key)}-{uuid.uuid4().hex[:8]}")
        seg.path.mkdir(parents=True)
        try:
            yield seg
            seg.finish(self.path(key))
        finally:
            if seg.path.exists():
                shutil.rmtree(seg.path, ignore_errors=True)


class _Segment:
    def __init__(self, path: Path):
        self.path = path
        self.summary: dict = {}

    def finish(self, final: Path) -> None:
        data = json.dumps(self.summary, default=str).encode()
        fd = os.open(self.path / DONE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                     0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(self.path)
        try:
            os.rename(self.path, final)
        except OSError:
            if (final / DONE).is_file():
                return  # a twin run of this task got there first; the caller removes ours
            raise
        fsync_dir(final.parent)
