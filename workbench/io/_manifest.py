"""Reading and checking a Collection's manifest (``collection.json``), and keeping every
path it names inside the Collection.

A Collection may be written by someone else, so the manifest is data to check, not to
trust. :func:`load` refuses (with a one-line :class:`CollectionError` naming the file) a
manifest whose keys, types or values are wrong before anything else is read or allocated:

* ``format`` is ours and ``format_version`` an int no newer than :data:`FORMAT_VERSION`;
* ``products``: at least one, named by plain file names, each with a list of channel names
  and a ``shape`` of two positive ints; channels x ny x nx per item at most
  :data:`MAX_ITEM_PIXELS` (64 Mi pixels, 256 MiB of float32);
* ``segments``: a list of ``{"name": plain file name, "n": int >= 0}``, names unique;
  ``n_items`` an int, at most :data:`MAX_ITEMS`, equal to the sum of the segments' ``n``;
* ``catalog``: None (no items yet) or a plain file name whose Parquet footer holds exactly
  ``n_items`` rows;
* ``derived``: records with ``type`` (columns, array or file) and ``file`` (plain name) and
  the fields their type needs.

Every file name (catalog, segments, derived files and arrays with their ``.ids.parquet``
sidecars, and the manifest itself) must be a plain name (no ``/``, no ``..``, not absolute)
that resolves, symbolic links followed, inside the Collection folder: see :func:`inside`.

:class:`ManifestState` (a mixin of :class:`workbench.io.collection.Collection`) holds an open
Collection's manifest: it re-reads it, takes the Collection's lock, and replaces the manifest
(and with it the catalog) as the one commit point of every change, removing afterwards what
no committed manifest names.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import uuid
from pathlib import Path

from workbench.core.errors import CollectionError, OutputError, ReadOnlyError
from workbench.io import _replace, _stores
from workbench.io._atomic import atomic_write_bytes

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "LOCKFILE", "MAX_ITEM_PIXELS", "MAX_ITEMS",
           "load", "validate", "check_products", "plain_name", "inside", "own_dir", "remove",
           "dump", "ManifestState"]

FORMAT = "workbench-collection"
FORMAT_VERSION = 1
MANIFEST = "collection.json"
#: The file a writer holds an exclusive ``flock`` on while it changes the Collection.
LOCKFILE = ".lock"

#: Most pixels (channels x ny x nx) one item of one product may have.
MAX_ITEM_PIXELS = 64 * 2**20
#: Most items a Collection may claim.
MAX_ITEMS = 2**31 - 1
#: Largest manifest file read.
MAX_MANIFEST_BYTES = 64 * 2**20

DERIVED_TYPES = ("columns", "array", "file")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _bad(msg: str, path) -> CollectionError:
    return CollectionError(msg, path=path, hint="the manifest was changed or damaged; "
                                                "restore the Collection from a good copy")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def plain_name(value, what: str, path) -> str:
    """``value`` if it is a plain file name (a string, no separators, not ``.``/``..``)."""
    if (not isinstance(value, str) or not value or value in (".", "..") or "/" in value
            or "\\" in value or "\x00" in value or os.path.isabs(value)):
        raise _bad(f"{what} {value!r} is not a plain file name", path)
    return value


def inside(root: Path, *parts: str, what: str) -> Path:
    """``root/parts...``, after checking that it resolves (symlinks followed) inside ``root``."""
    p = Path(root).joinpath(*parts)
    base = os.path.realpath(root)
    real = os.path.realpath(p)
    if os.path.commonpath([base, real]) != base:
        raise CollectionError(f"{what} {'/'.join(parts)!r} resolves outside the Collection "
                              f"(to {real})", path=root,
                              hint="a Collection may only refer to its own files")
    return p


def own_dir(root: Path, name: str) -> Path | None:
    """The Collection's own sub-folder ``name`` (None if missing); a symlink or a file in its
    place is a CollectionError, so nothing is ever listed, written or deleted elsewhere."""
    p = Path(root) / name
    if p.is_symlink() or (p.exists() and not p.is_dir()):
        raise CollectionError(f"{name}/ is not a plain folder of the Collection", path=p)
    return p if p.exists() else None


def remove(root: Path, p: Path) -> None:
    """Delete ``p`` (a file, a link or a folder tree, links never followed), which must lie
    in one of the Collection's own folders."""
    base = os.path.realpath(root)
    parent = os.path.realpath(p.parent)
    if os.path.commonpath([base, parent]) != base:
        raise CollectionError(f"refusing to delete {p}: it is not inside the Collection",
                              path=root)
    if p.is_symlink() or not p.is_dir():
        p.unlink(missing_ok=True)
    else:
        shutil.rmtree(p, ignore_errors=True)


def check_products(products, path) -> None:
    """Product specs: plain names, channel lists, two positive ints, pixels under the cap."""
    if not isinstance(products, dict) or not products:
        raise _bad("'products' must be a non-empty object of product specs", path)
    for name, spec in products.items():
        plain_name(name, "product name", path)
        if not isinstance(spec, dict):
            raise _bad(f"product {name!r} must be an object", path)
        ch, shape = spec.get("channels"), spec.get("shape")
        if (not isinstance(ch, list) or not ch or len(ch) > 65536
                or not all(isinstance(c, str) for c in ch)):
            raise _bad(f"product {name!r}: 'channels' must be a non-empty list of names", path)
        if (not isinstance(shape, list) or len(shape) != 2 or not all(_is_int(s) for s in shape)
                or min(shape) < 1):
            raise _bad(f"product {name!r}: 'shape' must be two positive integers", path)
        px = len(ch) * shape[0] * shape[1]
        if px > MAX_ITEM_PIXELS:
            raise _bad(f"product {name!r}: {len(ch)} x {shape[0]} x {shape[1]} = {px} pixels "
                       f"per item exceeds the limit of {MAX_ITEM_PIXELS}", path)
        for key in ("units", "axes"):
            if not isinstance(spec.get(key, ""), str):
                raise _bad(f"product {name!r}: {key!r} must be a string", path)


def _check_derived(derived, path) -> None:
    if not isinstance(derived, dict):
        raise _bad("'derived' must be an object", path)
    files = set()
    for name, rec in derived.items():
        if not isinstance(rec, dict) or rec.get("type") not in DERIVED_TYPES:
            raise _bad(f"derived {name!r} must be an object with 'type' one of "
                       f"{list(DERIVED_TYPES)}", path)
        f = plain_name(rec.get("file"), f"derived {name!r} file", path)
        if f in files:
            raise _bad(f"derived {name!r} shares its file {f!r} with another entry", path)
        files.add(f)
        mb = rec.get("made_by")
        if mb is not None and (not isinstance(mb, dict)
                               or not isinstance(mb.get("created", ""), str)):
            raise _bad(f"derived {name!r}: 'made_by' must be an object", path)
        t = rec["type"]
        if t == "columns":
            cols = rec.get("columns")
            if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
                raise _bad(f"derived {name!r}: 'columns' must be a list of names", path)
        elif t == "array":
            shape = rec.get("shape")
            if not isinstance(shape, list) or not shape or not all(
                    _is_int(s) and s >= 0 for s in shape) or not isinstance(rec.get("dtype"), str):
                raise _bad(f"derived array {name!r} needs a 'shape' of integers and a "
                           "'dtype'", path)
        elif not (isinstance(rec.get("sha256"), str) and _SHA256.fullmatch(rec["sha256"])
                  and _is_int(rec.get("size")) and rec["size"] >= 0):
            raise _bad(f"derived file {name!r} needs a 'sha256' (64 hex digits) and a 'size'",
                       path)


def validate(m, path) -> dict:
    """Check a parsed manifest's keys, types and values (see the module docstring)."""
    if not isinstance(m, dict):
        raise _bad(f"{MANIFEST} is not a JSON object", path)
    if m.get("format") != FORMAT:
        raise _bad(f"{MANIFEST} is not a workbench Collection manifest", path)
    v = m.get("format_version")
    if not _is_int(v) or v < 1:
        raise _bad(f"'format_version' must be a positive integer, not {v!r}", path)
    if v > FORMAT_VERSION:
        raise CollectionError(f"written by a newer workbench (format {v})", path=path,
                              hint="upgrade the workbench")
    if not isinstance(m.get("description", ""), str):
        raise _bad("'description' must be a string", path)
    check_products(m.get("products"), path)
    segs = m.get("segments")
    if not isinstance(segs, list):
        raise _bad("'segments' must be a list", path)
    names, total = set(), 0
    for s in segs:
        if not isinstance(s, dict) or not _is_int(s.get("n")) or s["n"] < 0:
            raise _bad("every segment must be an object with an integer 'n' >= 0", path)
        name = plain_name(s.get("name"), "segment", path)
        if name in names:
            raise _bad(f"segment {name!r} is listed twice", path)
        names.add(name)
        total += s["n"]
    n = m.get("n_items")
    if not _is_int(n) or not 0 <= n <= MAX_ITEMS:
        raise _bad(f"'n_items' must be an integer from 0 to {MAX_ITEMS}, not {n!r}", path)
    if n != total:
        raise _bad(f"'n_items' is {n} but the segments hold {total} items", path)
    cat = m.get("catalog")
    if cat is None:
        if n:
            raise _bad(f"{n} items but no 'catalog'", path)
    else:
        plain_name(cat, "catalog", path)
    g = m.get("generation", 0)
    if not _is_int(g) or g < 0:
        raise _bad("'generation' must be an integer >= 0", path)
    _check_derived(m.get("derived"), path)
    return m


def _check_paths(m: dict, root: Path) -> None:
    """Every file the manifest names resolves inside ``root``; the catalog's row count."""
    if m["catalog"] is not None:
        p = inside(root, m["catalog"], what="catalog")
        rows = _stores.parquet_rows(p, "catalog")
        if rows != m["n_items"]:
            raise _bad(f"the catalog {m['catalog']} has {rows} rows but the manifest says "
                       f"{m['n_items']} items", root / MANIFEST)
    for s in m["segments"]:
        inside(root, "segments", s["name"], what="segment")
    for name, rec in m["derived"].items():
        inside(root, "derived", rec["file"], what=f"derived {name!r}")
        if rec["type"] == "array":
            inside(root, "derived", rec["file"] + ".ids.parquet", what=f"derived {name!r} ids")


def load(root) -> dict:
    """Read, check and return the manifest of the Collection folder ``root``."""
    root = Path(root)
    if not os.path.lexists(root):
        _replace.recover(root)  # a replacement that died between its two renames
    if not root.exists():
        raise CollectionError("no such Collection folder", path=root,
                              hint="make one with `workbench ingest` or `workbench simulate`")
    if not root.is_dir():
        raise CollectionError("not a folder, so not a workbench Collection", path=root)
    mpath = root / MANIFEST
    if not os.path.lexists(mpath):
        raise CollectionError(f"not a workbench Collection (no {MANIFEST})", path=root)
    inside(root, MANIFEST, what="manifest")
    if not mpath.is_file():
        raise _bad(f"{MANIFEST} is not a file", mpath)
    if mpath.stat().st_size > MAX_MANIFEST_BYTES:
        raise _bad(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes", mpath)
    try:
        m = json.loads(mpath.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise CollectionError(f"{MANIFEST} is corrupt ({' '.join(str(exc).split())[:200]})",
                              path=mpath) from exc
    validate(m, mpath)
    _check_paths(m, root)
    return m


def dump(manifest: dict) -> bytes:
    """The bytes of ``collection.json`` for a manifest."""
    return json.dumps(manifest, indent=1).encode()


class ManifestState:
    """An open Collection's manifest (mixed into :class:`Collection`).

    The manifest is read (and checked, :func:`load`) when the Collection is opened and after
    every change this object commits; :meth:`refresh` re-reads it after another process
    wrote. Writers hold the Collection's lock (:data:`LOCKFILE`) from reading the manifest
    to replacing it, so two writers never lose each other's change.
    """

    path: Path
    mode: str

    @property
    def manifest(self) -> dict:
        """A copy of the manifest as last read (``collection.json``: ``products``,
        ``segments``, ``n_items``, ``catalog``, ``generation``, ``derived``, ...); changing
        it changes nothing on disk. See the module notes of :mod:`workbench.io._manifest`."""
        return json.loads(json.dumps(self._manifest))

    def refresh(self) -> None:
        """Re-read the manifest (after another process appended)."""
        self._load_manifest()

    def _load_manifest(self) -> None:
        """Read and check the manifest; forget everything read under the old one."""
        self._manifest = load(self.path)
        self._forget_cached()

    def _forget_cached(self) -> None:
        """Drop what was read under the previous manifest (the Collection extends this)."""

    def _n_total(self) -> int:
        """Items in the whole Collection."""
        return int(self._manifest["n_items"])

    @contextlib.contextmanager
    def _lock(self):
        """Hold the Collection's exclusive write lock (blocks until it is free)."""
        try:
            fd = os.open(self.path / LOCKFILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if os.path.islink(self.path / LOCKFILE):
                raise CollectionError(f"{LOCKFILE} is a symbolic link; a Collection holds its "
                                      "own files", path=self.path) from exc
            raise OutputError(f"cannot lock the Collection ({exc.strerror or exc})",
                              path=self.path) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _require_writable(self) -> None:
        """ReadOnlyError unless this is the whole Collection opened with ``mode='r+'``."""
        if self.mode != "r+" or self._parent is not None:
            raise ReadOnlyError("opened read-only", path=self.path,
                                hint="open it with workbench.open(path, mode='r+')")

    def _cleanup_orphans(self) -> None:
        """Remove files no committed manifest refers to (left by a writer that died).

        Only entries of the Collection's own ``segments/`` and ``derived/`` folders and its
        ``catalog-*``/``.tmp*`` files are removed, links never followed; a ``segments`` or
        ``derived`` that is a link (or a file) is a CollectionError and nothing is removed.
        """
        self._load_manifest()
        seg_dir = own_dir(self.path, "segments")
        der_dir = own_dir(self.path, "derived")
        live = {s["name"] for s in self._manifest["segments"]}
        for p in seg_dir.iterdir() if seg_dir else ():
            if p.name not in live:
                remove(self.path, p)
        keep = {self._manifest.get("catalog"), MANIFEST, LOCKFILE}
        for p in self.path.iterdir():
            if (p.name not in keep and (p.name.startswith("catalog-") or p.name.startswith(".tmp"))
                    and (p.is_symlink() or p.is_file())):
                remove(self.path, p)
        live_derived = set()
        for d in self._manifest["derived"].values():
            live_derived.add(d["file"])
            live_derived.add(d["file"] + ".ids.parquet")  # a derived array's id sidecar
        for p in der_dir.iterdir() if der_dir else ():
            if p.name not in live_derived:
                remove(self.path, p)

    def _write_manifest(self, manifest: dict) -> None:
        """Replace ``collection.json`` atomically (the commit point; hold the lock)."""
        atomic_write_bytes(self.path / MANIFEST, dump(manifest))

    def _write_catalog_and_manifest(self, cat, manifest: dict) -> None:
        """Write ``cat`` as the next catalog generation and commit ``manifest`` naming it
        (hold the lock); the old catalog file is removed and the manifest re-read."""
        gen = int(manifest.get("generation", 0)) + 1
        name = f"catalog-{gen:06d}.parquet"
        tmp = self.path / f".tmp-{uuid.uuid4().hex[:12]}-{name}"
        cat.to_parquet(tmp, index=False)
        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, self.path / name)
        old = manifest.get("catalog")
        manifest["catalog"] = name
        manifest["generation"] = gen
        self._write_manifest(manifest)
        if old and old != name:
            remove(self.path, self.path / plain_name(old, "catalog", self.path))
        self._load_manifest()
