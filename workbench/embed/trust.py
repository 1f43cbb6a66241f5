"""The user's own list of map-model files that may be unpickled.

A fitted UMAP/t-SNE estimator can only be saved whole as a Python pickle, and unpickling runs
whatever code the file names. A Collection is data that others hand around, so a hash stored
in its own manifest proves nothing (whoever wrote the folder wrote both). The only pickles
the workbench ever loads are those whose SHA-256 is in this list, which lives in the user's
own folder, outside every Collection, and gets entries only from that user's own
``workbench map --save-model`` (:func:`workbench.embed.records.map_and_store` with
``save_model=True``) at the moment it writes the file.

Where: ``$WORKBENCH_HOME/trusted-models.json``; without ``WORKBENCH_HOME``,
``$XDG_DATA_HOME/workbench/trusted-models.json`` (default ``~/.local/share/workbench/``).
The folder is made private (0700) and the file is written atomically (temporary file, fsync,
rename) under a lock, readable and writable by its owner only. A list that another user owns
or could write is refused, as ssh refuses a shared key file: its entries would decide what
runs as you.

Format (JSON): ``{"format": "workbench-trusted-models", "version": 1, "models": {sha256:
{"name": derived file, "collection": folder, "added": ISO time}}}``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import tempfile
from pathlib import Path

from workbench.core.errors import ModelError

__all__ = ["ENV", "trust_list_path", "is_trusted", "trust"]

#: Environment variable naming the workbench's folder in the user's home.
ENV = "WORKBENCH_HOME"
FILENAME = "trusted-models.json"
FORMAT = "workbench-trusted-models"
MAX_BYTES = 8 << 20  # ~50,000 entries; a bigger file is not one this module wrote
_SHA = re.compile(r"[0-9a-f]{64}")


def trust_list_path() -> Path:
    """Where this user's trust list is (it need not exist yet)."""
    home = os.environ.get(ENV)
    if home:
        return Path(home).expanduser() / FILENAME
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data).expanduser() / "workbench" / FILENAME


def _check_private(p: Path) -> None:
    """The list and its folder must be the user's own and writable by nobody else."""
    if not hasattr(os, "getuid"):  # not POSIX: no owner bits to check
        return
    st = p.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise ModelError("the trust list or its folder is owned or writable by another user, "
                         "so it cannot decide what runs as you", path=p,
                         hint=f"chmod go-w {p}, or set {ENV} to a private folder of your own")


def _read(path: Path) -> dict:
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ModelError(f"cannot read the trust list ({exc.strerror})", path=path) from None
    _check_private(path.parent)
    _check_private(path)
    if st.st_size > MAX_BYTES:
        raise ModelError(f"the trust list is {st.st_size} bytes, more than the {MAX_BYTES} "
                         "this workbench writes", path=path, hint="delete it and refit your maps")
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ModelError(f"the trust list is not readable JSON ({exc})", path=path,
                         hint="delete it; re-run `workbench map --save-model` to trust your "
                              "maps again") from None
    if (not isinstance(doc, dict) or doc.get("format") != FORMAT
            or not isinstance(doc.get("models"), dict)):
        raise ModelError("not a workbench trust list (no format/models keys)", path=path,
                         hint="delete it; re-run `workbench map --save-model` to trust your "
                              "maps again")
    models = doc["models"]
    return {k: v for k, v in models.items() if isinstance(k, str) and _SHA.fullmatch(k)}


def is_trusted(sha256: str) -> bool:
    """Whether ``sha256`` (hex) is in this user's trust list."""
    return isinstance(sha256, str) and sha256 in _read(trust_list_path())


@contextlib.contextmanager
def _locked(folder: Path):
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks; writes are still atomic renames
        yield
        return
    fd = os.open(folder / f".{FILENAME}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def trust(sha256: str, *, name: str, collection) -> Path:
    """Add a model file this process has just written to the user's trust list; returns the
    list's path. Entries already there are kept."""
    if not _SHA.fullmatch(str(sha256)):
        raise ModelError(f"not a SHA-256: {sha256!r}")
    path = trust_list_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _locked(path.parent):
            _check_private(path.parent)
            models = _read(path)
            models[sha256] = {"name": str(name), "collection": str(collection),
                              "added": _dt.datetime.now(_dt.UTC).isoformat()}
            data = json.dumps({"format": FORMAT, "version": 1, "models": models},
                              indent=1, sort_keys=True).encode()
            fd, tmp = tempfile.mkstemp(prefix=f".tmp-{FILENAME}-", dir=path.parent)  # 0600
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
    except OSError as exc:
        raise ModelError(f"cannot write the trust list ({exc.strerror or exc})", path=path,
                         hint=f"set {ENV} to a folder you can write") from None
    return path
