"""Build a folder beside its target and swap it in only when it is complete.

``--overwrite`` must never destroy the old Collection before the new one exists. A
:class:`Build` is a sibling folder named ``.<target>.wb-build-<hex>``; it is filled while the
old target stays untouched, then :meth:`Build.install` swaps the two:

* on Linux, one ``renameat2(RENAME_EXCHANGE)`` call exchanges them atomically, and the old
  folder (now under the build name) is deleted;
* where the exchange is not supported, the old folder is renamed aside to
  ``.<target>.wb-old-<hex>``, the build renamed in, and the aside folder deleted. A crash
  between the two renames leaves no target: :func:`recover` (called when a Collection is
  opened) renames the aside folder back.

A live build (and an old folder renamed aside) holds an ``flock`` on its directory; folders
with our prefixes whose lock is free are leftovers of a killed run and are removed by
:func:`clean_leftovers` on the next run. Nothing without these prefixes is ever removed.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from workbench.core.errors import OutputError

__all__ = ["Build", "clean_leftovers", "recover", "exchange", "BUILD_TAG", "ASIDE_TAG"]

BUILD_TAG = ".wb-build-"
ASIDE_TAG = ".wb-old-"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM}


def _prefix(target: Path, tag: str) -> str:
    return f".{target.name}{tag}"


def _lock_dir(path: Path, *, block: bool) -> int | None:
    """An flock held on directory ``path`` (its fd), or None if someone else holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the last fd releases the flock


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ours(target: Path, tag: str) -> list[Path]:
    """Real (not symlinked) folders beside ``target`` named with our ``tag`` for it."""
    prefix = _prefix(target, tag)
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    return [Path(e.path) for e in entries
            if e.name.startswith(prefix) and e.is_dir(follow_symlinks=False)]


def _remove_unlocked(path: Path) -> bool:
    try:
        fd = _lock_dir(path, block=False)
    except OSError:
        return False
    if fd is None:
        return False  # a live run holds it
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        _unlock(fd)
    return True


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange the paths ``a`` and ``b``; False where the system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _NO_EXCHANGE:
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def recover(target) -> bool:
    """Rename an old folder set aside by a swap that died half-way back to ``target``.

    Only called when ``target`` does not exist; True if something was restored.
    """
    target = Path(target)
    if os.path.lexists(target):
        return False
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    for aside in sorted(_ours(target, ASIDE_TAG), key=mtime, reverse=True):
        try:
            fd = _lock_dir(aside, block=False)
        except OSError:
            continue
        if fd is None:
            continue  # a live swap is between its two renames; it will finish
        try:
            os.rename(aside, target)
            _fsync_dir(target.parent)
            return True
        except OSError:
            continue
        finally:
            _unlock(fd)
    return False


def clean_leftovers(target) -> None:
    """Remove build and aside folders of ``target`` left by killed runs (never a live one)."""
    target = Path(target)
    recover(target)
    for p in _ours(target, BUILD_TAG):
        _remove_unlocked(p)
    if os.path.lexists(target):
        for p in _ours(target, ASIDE_TAG):
            _remove_unlocked(p)


class Build:
    """A locked folder beside ``target`` that becomes ``target`` on :meth:`install`.

    ``replace``: an existing non-empty target may be replaced (if ``replaceable(target)``
    holds), else only a missing or empty one. ``before_install(build_path, target)`` and
    ``on_install(target)``, if set, are called just before and after the swap.
    """

    def __init__(self, target, *, replace: bool = False,
                 replaceable: Callable[[Path], bool] = lambda p: True, what: str = "folder"):
        self.target = Path(target)
        self.replace = replace
        self.replaceable = replaceable
        self.what = what
        clean_leftovers(self.target)
        self.path = self.target.parent / f"{_prefix(self.target, BUILD_TAG)}{uuid.uuid4().hex[:12]}"
        self.path.mkdir()
        self._fd = _lock_dir(self.path, block=True)
        self.on_install: Callable[[Path], None] | None = None
        self.before_install: Callable[[Path, Path], None] | None = None

    def discard(self) -> None:
        """Remove the build folder; the target is untouched."""
        shutil.rmtree(self.path, ignore_errors=True)
        _unlock(self._fd)
        self._fd = None

    def install(self) -> Path:
        """Make the build folder the target. On any error the build is discarded and the
        target is exactly as it was."""
        target, replace, what = self.target, self.replace, self.what
        try:
            if self.before_install is not None:
                self.before_install(self.path, target)
            _fsync_dir(self.path)
            if os.path.islink(target):
                raise OutputError("is a symbolic link; refusing to replace it", path=target)
            if target.exists() and any(target.iterdir()):
                if not replace:
                    raise OutputError("folder exists and is not empty", path=target,
                                      hint="choose a new output folder or pass overwrite=True")
                if not target.is_dir() or not self.replaceable(target):
                    raise OutputError(f"folder exists and is not a {what}; refusing to "
                                      "replace it", path=target)
                self._swap()
            else:
                os.rename(self.path, target)  # replaces an empty folder atomically
            _fsync_dir(target.parent)
        except OSError as exc:
            self.discard()
            if isinstance(exc, OutputError):
                raise
            raise OutputError(f"cannot put the new {what} in place ({exc.strerror or exc})",
                              path=target) from exc
        except BaseException:
            self.discard()
            raise
        _unlock(self._fd)
        self._fd = None
        if self.on_install is not None:
            self.on_install(target)
        return target

    def _swap(self) -> None:
        target = self.target
        if exchange(self.path, target):
            # the old folder now lies under the build name, locked by us: remove it
            shutil.rmtree(self.path, ignore_errors=True)
            return
        aside = target.parent / f"{_prefix(target, ASIDE_TAG)}{uuid.uuid4().hex[:12]}"
        old_fd = _lock_dir(target, block=True)
        try:
            os.rename(target, aside)
            try:
                os.rename(self.path, target)
            except BaseException:
                os.rename(aside, target)
                raise
            _fsync_dir(target.parent)
            shutil.rmtree(aside, ignore_errors=True)
        finally:
            _unlock(old_fd)
