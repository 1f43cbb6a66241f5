"""The Collection: one survey's items on disk (Parquet catalog + chunked Zarr images).

Layout of a Collection folder::

    COLLECTION/
      collection.json            manifest: products, segments, catalog file, derived data
      catalog-000003.parquet     one row per item (id, kind, ra, dec, pixscale_arcsec, ...)
      segments/seg-000001/       one folder per committed append
          <product>.zarr         float32 array (n_items, n_channels, ny, nx)
          axes.parquet           per item and product, the physical axes (JSON)
      derived/<name>.parquet     derived columns (keyed by row), see ``add_columns``
      derived/<name>.zarr        derived arrays, see ``add_array``
      derived/<name>.<suffix>    derived files (e.g. fitted map models, SHA-256 in the
                                 manifest), see ``add_file``

The manifest is the single commit point: every append writes its segment under a temporary
name, renames it into place and then replaces ``collection.json`` atomically. A writer that
dies half-way leaves the previous manifest, so the Collection is exactly as it was; the
orphaned files are removed the next time the Collection is opened for writing.
"""

from __future__ import annotations

import bisect
import builtins
import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CollectionError, OutputError, ReadOnlyError
from workbench.core.kinds import BASE_COLUMNS
from workbench.core.provenance import made_by
from workbench.io import _axes
from workbench.io._appender import Appender
from workbench.io._atomic import atomic_write_bytes
from workbench.io.collection_types import Batch, Item, ProductSpec

__all__ = ["Collection", "Item", "Batch", "ProductSpec", "open", "create"]

FORMAT = "workbench-collection"
FORMAT_VERSION = 1
MANIFEST = "collection.json"
LOCKFILE = ".lock"


def _check_path_writable(path: Path) -> None:
    parent = path if path.exists() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot create a folder here: {parent} is a file", path=path,
                          hint="choose an output folder path that is not inside a file")
    if not os.access(parent, os.W_OK):
        raise OutputError("cannot write here", path=path,
                          hint="choose an output folder you have write access to")


class Collection:
    """A survey's items: a catalog and image products, stored in a folder.

    Open one with :func:`workbench.open`; make one with :meth:`Collection.create`.

    ``len(coll)`` is the number of items; ``coll[i]`` (int) or ``coll["id"]`` (str) gives an
    :class:`Item`; ``coll.catalog`` is the catalog (with derived columns) as a DataFrame;
    ``coll.batches(size)`` iterates blocks of items; ``coll.select("snr > 8")`` gives a
    view of the items whose catalog rows match a query (see :mod:`workbench.io.query`).
    """

    def __init__(self, path, mode: str = "r", *, _index: np.ndarray | None = None,
                 _parent: Collection | None = None):
        self.path = Path(path)
        self.mode = mode
        self._index = _index
        self._parent = _parent
        self._zarr_cache: dict = {}
        self._axes_cache: dict = {}
        self._full_cat = None
        self._id_rows = None
        if _parent is not None:
            self._manifest = _parent._manifest
            self._root_cat = _parent._root_cat
            self._full_cat = _parent._full_cat
            return
        if mode not in ("r", "r+"):
            raise ValueError("mode must be 'r' (read-only) or 'r+' (read-write)")
        self._root_cat = None
        self._load_manifest()
        if mode == "r+":
            if not os.access(self.path, os.W_OK):
                raise OutputError("Collection folder is not writable", path=self.path)
            with self._lock():
                self._cleanup_orphans()

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(cls, path, products: Mapping[str, ProductSpec | Mapping], *,
               overwrite: bool = False, description: str = "") -> Collection:
        """Make a new, empty Collection and return it open read-write.

        Parameters
        ----------
        path : path-like
            Folder to create. It must not exist unless ``overwrite`` (then it is replaced,
            but only if it is a Collection or empty).
        products : dict of name -> ProductSpec
            The image products every item has, e.g.
            ``{"radio": ProductSpec(("1.4GHz",), (150, 150), "Jy/beam", "sky")}``.
        """
        path = Path(path)
        _check_path_writable(path)
        if path.exists():
            if not overwrite and any(path.iterdir()):
                raise OutputError("folder exists and is not empty", path=path,
                                  hint="choose a new output folder or pass overwrite=True")
            if any(path.iterdir()) and not (path / MANIFEST).exists():
                raise OutputError("folder exists and is not a Collection; refusing to replace it",
                                  path=path)
            shutil.rmtree(path)
        specs = {k: v if isinstance(v, ProductSpec) else ProductSpec.from_json(v)
                 for k, v in products.items()}
        if not specs:
            raise CollectionError("a Collection needs at least one image product", path=path)
        tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            (tmp / "segments").mkdir(parents=True)
            (tmp / "derived").mkdir()
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION,
                "description": description,
                "products": {k: s.to_json() for k, s in specs.items()},
                "segments": [], "n_items": 0, "catalog": None, "derived": {},
            }
            atomic_write_bytes(tmp / MANIFEST, json.dumps(manifest, indent=1).encode())
            os.rename(tmp, path)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OutputError(f"cannot write here ({exc.strerror or exc})", path=path,
                              hint="choose an output folder you have write access to") from exc
        return cls(path, "r+")

    def _load_manifest(self) -> None:
        mpath = self.path / MANIFEST
        if not self.path.exists():
            raise CollectionError("no such Collection folder", path=self.path,
                                  hint="make one with `workbench ingest` or `workbench simulate`")
        if not mpath.exists():
            raise CollectionError(f"not a workbench Collection (no {MANIFEST})", path=self.path)
        try:
            manifest = json.loads(mpath.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CollectionError(f"{MANIFEST} is corrupt ({exc})", path=self.path) from exc
        if manifest.get("format") != FORMAT:
            raise CollectionError(f"{MANIFEST} is not a workbench Collection manifest",
                                  path=self.path)
        if manifest.get("format_version", 0) > FORMAT_VERSION:
            raise CollectionError(
                f"written by a newer workbench (format {manifest['format_version']})",
                path=self.path, hint="upgrade the workbench")
        self._manifest = manifest
        self._root_cat = None
        self._full_cat = None
        self._id_rows = None
        self._zarr_cache = {}
        self._axes_cache = {}

    def refresh(self) -> None:
        """Re-read the manifest (after another process appended)."""
        self._load_manifest()

    @contextlib.contextmanager
    def _lock(self):
        fd = os.open(self.path / LOCKFILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _cleanup_orphans(self) -> None:
        """Remove files no committed manifest refers to (left by a writer that died)."""
        self._load_manifest()
        live = {s["name"] for s in self._manifest["segments"]}
        for p in (self.path / "segments").iterdir():
            if p.name not in live:
                shutil.rmtree(p, ignore_errors=True)
        keep = {self._manifest.get("catalog"), MANIFEST, LOCKFILE}
        for p in self.path.iterdir():
            if p.is_file() and p.name not in keep and (
                    p.name.startswith("catalog-") or p.name.startswith(".tmp")):
                p.unlink()
        live_derived = set()
        for d in self._manifest["derived"].values():
            live_derived.add(d["file"])
            live_derived.add(d["file"] + ".ids.parquet")  # a derived array's id sidecar
        dd = self.path / "derived"
        if dd.exists():
            for p in dd.iterdir():
                if p.name not in live_derived:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()

    def _require_writable(self) -> None:
        if self.mode != "r+" or self._parent is not None:
            raise ReadOnlyError("opened read-only", path=self.path,
                                hint="open it with workbench.open(path, mode='r+')")

    def _write_catalog_and_manifest(self, cat: pd.DataFrame, manifest: dict) -> None:
        gen = int(manifest.get("generation", 0)) + 1
        name = f"catalog-{gen:06d}.parquet"
        tmp = self.path / f".tmp-{name}"
        cat.to_parquet(tmp, index=False)
        with builtins.open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, self.path / name)
        old = manifest.get("catalog")
        manifest["catalog"] = name
        manifest["generation"] = gen
        atomic_write_bytes(self.path / MANIFEST, json.dumps(manifest, indent=1).encode())
        if old and old != name:
            with contextlib.suppress(FileNotFoundError):
                (self.path / old).unlink()
        self._load_manifest()

    # ------------------------------------------------------------------ appending
    @contextlib.contextmanager
    def appender(self) -> Iterator[Appender]:
        """Append several batches as one transaction.

        >>> with coll.appender() as app:          # doctest: +SKIP
        ...     for cat, imgs in batches:
        ...         app.add(cat, imgs)

        Nothing is visible to readers until the block ends without an exception; if it
        raises (or the process dies), the Collection is left exactly as it was.
        """
        self._require_writable()
        with self._lock():
            self._load_manifest()
            app = Appender(self)
            try:
                yield app
            except BaseException:
                app._discard()
                raise
            app._commit()

    def append(self, catalog: pd.DataFrame, images: Mapping[str, np.ndarray],
               axes: Mapping[str, list] | None = None, *, kind: str | None = None) -> int:
        """Append one batch of items atomically; returns the number added.

        See :meth:`Appender.add` for the arguments.
        """
        with self.appender() as app:
            app.add(catalog, images, axes, kind=kind)
        return app.n_added

    # ------------------------------------------------------------------ reading
    @property
    def products(self) -> dict[str, ProductSpec]:
        """Product name -> :class:`ProductSpec`."""
        return {k: ProductSpec.from_json(v) for k, v in self._manifest["products"].items()}

    @property
    def derived(self) -> dict:
        """Name -> record of every derived column set and array (what made it, when)."""
        return json.loads(json.dumps(self._manifest["derived"]))

    def derived_arrays(self, prefix: str = "") -> list[str]:
        """Names of the derived arrays starting with ``prefix``, newest first (by the
        ``created`` time of what made them; name order breaks ties)."""
        root = self._parent or self
        found = [((rec.get("made_by") or {}).get("created") or "", name)
                 for name, rec in root._manifest["derived"].items()
                 if rec["type"] == "array" and name.startswith(prefix)]
        return [name for _, name in sorted(found, reverse=True)]

    def _base_catalog(self) -> pd.DataFrame | None:
        if self._root_cat is None:
            name = self._manifest.get("catalog")
            if name is None:
                return None
            self._root_cat = pd.read_parquet(self.path / name)
        return self._root_cat

    def _n_total(self) -> int:
        return int(self._manifest["n_items"])

    def _id_set(self) -> set:
        cat = self._base_catalog()
        return set() if cat is None else set(cat["id"].astype(str))

    @property
    def _rows(self) -> np.ndarray:
        if self._index is None:
            return np.arange(self._n_total())
        return self._index

    def __len__(self) -> int:
        return self._n_total() if self._index is None else len(self._index)

    def _full_catalog(self) -> pd.DataFrame:
        """Base catalog with the derived columns joined (cached until the manifest changes)."""
        if self._full_cat is None:
            self._full_cat = self._join_derived()
        return self._full_cat

    def _join_derived(self) -> pd.DataFrame:
        cat = self._base_catalog()
        if cat is None:
            cols = {c: pd.Series(dtype=d) for c, d in BASE_COLUMNS.items()}
            return pd.DataFrame(cols)
        cat = cat.copy()
        for rec in self._manifest["derived"].values():
            if rec["type"] != "columns":
                continue
            d = pd.read_parquet(self.path / "derived" / rec["file"])
            d = d.set_index("id").reindex(cat["id"].astype(str))
            for c in d.columns:
                cat[c] = d[c].to_numpy()
        return cat

    @property
    def catalog(self) -> pd.DataFrame:
        """The catalog rows of these items (with derived columns), index 0..len-1."""
        cat = self._full_catalog()
        if self._index is not None:
            cat = cat.iloc[self._index]
        return cat.reset_index(drop=True)

    @property
    def ids(self) -> list[str]:
        cat = self._base_catalog()
        if cat is None:
            return []
        ids = cat["id"].astype(str).to_numpy()
        return list(ids if self._index is None else ids[self._index])

    def _segment_of(self, row: int) -> tuple[dict, int]:
        segs = self._manifest["segments"]
        offsets = self._offsets()
        k = bisect.bisect_right(offsets, row) - 1
        return segs[k], row - offsets[k]

    def _offsets(self) -> list[int]:
        out, acc = [], 0
        for s in self._manifest["segments"]:
            out.append(acc)
            acc += int(s["n"])
        return out

    def _zarr(self, seg: str, product: str):
        key = (seg, product)
        if key not in self._zarr_cache:
            import zarr

            self._zarr_cache[key] = zarr.open_array(
                str(self.path / "segments" / seg / f"{product}.zarr"), mode="r")
        return self._zarr_cache[key]

    def _seg_axes(self, seg: str) -> pd.DataFrame:
        if seg not in self._axes_cache:
            self._axes_cache[seg] = pd.read_parquet(self.path / "segments" / seg / "axes.parquet")
        return self._axes_cache[seg]

    def _resolve(self, key) -> int:
        """Position within this view -> absolute row."""
        if isinstance(key, (int, np.integer)):
            n = len(self)
            i = int(key)
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError(f"item index {key} out of range for {n} items")
            return int(self._rows[i])
        if isinstance(key, str):
            if self._id_rows is None:
                cat = self._base_catalog()
                ids = [] if cat is None else cat["id"].astype(str)
                rows = range(len(ids)) if self._index is None else self._index
                self._id_rows = {ids[int(r)]: int(r) for r in rows}
            if key not in self._id_rows:
                raise KeyError(f"no item with id {key!r} in {self.path}")
            return self._id_rows[key]
        raise TypeError(f"index items by int position or str id, not {type(key).__name__}")

    def __getitem__(self, key) -> Item:
        row = self._resolve(key)
        seg, j = self._segment_of(row)
        images = {}
        axes = {}
        ax_row = self._seg_axes(seg["name"]).iloc[j]
        for name, spec in self.products.items():
            arr = np.asarray(self._zarr(seg["name"], name)[j])
            images[name] = arr[0] if len(spec.channels) == 1 else arr
            desc = ax_row.get(name)
            if desc is not None and not (isinstance(desc, float) and np.isnan(desc)):
                axes[name] = _axes.expand(_axes.loads(desc), spec.shape)
        meta = self._full_catalog().iloc[row]
        return Item(id=str(meta["id"]), index=row, images=images, meta=meta, axes=axes)

    def __iter__(self) -> Iterator[Item]:
        for i in range(len(self)):
            yield self[i]

    def read(self, rows, products: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Read the images of absolute ``rows`` (sorted or not) as product -> array of
        shape ``(len(rows), n_channels, ny, nx)``. Contiguous runs are read as slices."""
        rows = np.asarray(rows, dtype=np.int64)
        products = list(products or self.products)
        out = {p: np.empty((len(rows), *self.products[p].full_shape), np.float32)
               for p in products}
        if len(rows) == 0:
            return out
        offsets = np.asarray(self._offsets())
        segs = self._manifest["segments"]
        seg_of = np.searchsorted(offsets, rows, side="right") - 1
        for k in np.unique(seg_of):
            sel = np.flatnonzero(seg_of == k)
            local = rows[sel] - offsets[k]
            lo, hi = int(local.min()), int(local.max()) + 1
            for p in products:
                block = np.asarray(self._zarr(segs[k]["name"], p)[lo:hi])
                out[p][sel] = block[local - lo]
        return out

    def batches(self, size: int = 256, *, products: Iterable[str] | None = None) -> Iterator[Batch]:
        """Iterate over the items in blocks of ``size``, in catalog order."""
        rows = self._rows
        cat = self.catalog
        for start in range(0, len(rows), size):
            r = rows[start:start + size]
            sub = cat.iloc[start:start + size].reset_index(drop=True)
            yield Batch(list(sub["id"].astype(str)), r, sub, self.read(r, products))

    def select(self, query: str | None = None, *, ids: Iterable[str] | None = None,
               mask=None) -> Collection:
        """A read-only view of the items matching a ``query`` on the catalog (with derived
        columns), a list of ``ids``, or a boolean ``mask`` over this view.

        The query is in the workbench's own expression language (:mod:`workbench.io.query`:
        columns, literals, comparisons, and/or/not, ``in [...]``, arithmetic and a few column
        methods), never run as Python; anything outside it raises
        :class:`~workbench.core.errors.QueryError` before any of it is evaluated."""
        from workbench.io.query import query_mask

        cat = self.catalog
        rows = self._rows
        if query is not None:
            keep = query_mask(query, cat, path=self.path)
            rows = rows[keep]
            cat = cat[keep]
        if ids is not None:
            want = pd.Index([str(i) for i in ids])
            pos = pd.Index(cat["id"].astype(str)).get_indexer(want)
            if (pos < 0).any():
                missing = list(want[pos < 0][:5])
                raise KeyError(f"ids not in {self.path}: {missing}")
            rows = rows[pos]
        if mask is not None:
            rows = rows[np.asarray(mask, dtype=bool)]
        return Collection(self.path, "r", _index=np.asarray(rows, dtype=np.int64), _parent=self)

    def to_dask(self, product: str):
        """The product's images as one dask array ``(n, n_channels, ny, nx)``."""
        import dask.array as da

        parts = [da.from_zarr(self._zarr(s["name"], product)) for s in self._manifest["segments"]]
        arr = da.concatenate(parts, axis=0) if parts else da.zeros(
            (0, *self.products[product].full_shape), dtype=np.float32)
        return arr if self._index is None else arr[self._index]

    # ------------------------------------------------------------------ derived data
    def add_columns(self, name: str, columns: pd.DataFrame | Mapping, *, made: dict | None = None,
                    tool: str | None = None, version: str | None = None, params: dict | None = None,
                    ids: Iterable[str] | None = None) -> None:
        """Store derived catalog columns (e.g. cluster ids, outlier scores, predictions).

        Parameters
        ----------
        name : str
            Name of the derived set; writing the same name again replaces it.
        columns : DataFrame or dict of column -> array
            One row per item of this view (or per id in ``ids``).
        made, tool, version, params
            What made them: a :func:`workbench.core.provenance.made_by` record, or its
            parts (``tool`` defaults to ``name``).
        """
        root = self._parent or self
        root._require_writable()
        df = pd.DataFrame(dict(columns)) if not isinstance(columns, pd.DataFrame) else columns.copy()
        key = [str(i) for i in ids] if ids is not None else self.ids
        if len(df) != len(key):
            raise CollectionError(f"derived columns {name!r} have {len(df)} rows for "
                                  f"{len(key)} items", path=self.path)
        clash = set(df.columns) & (set(root._base_catalog().columns) | {"id"})
        if clash:
            raise CollectionError(f"derived columns {sorted(clash)} would shadow catalog columns",
                                  path=self.path, hint="rename them")
        for other, rec in root._manifest["derived"].items():
            if other != name and rec["type"] == "columns" and set(rec["columns"]) & set(df.columns):
                raise CollectionError(f"columns {sorted(set(rec['columns']) & set(df.columns))} "
                                      f"already belong to derived set {other!r}", path=self.path)
        df.insert(0, "id", key)
        record = made or made_by(tool or name, version, **(params or {}))
        root._write_derived(name, {"type": "columns", "columns": [c for c in df.columns if c != "id"],
                                   "made_by": record},
                            lambda p: df.to_parquet(p, index=False), ".parquet")

    def add_array(self, name: str, array: np.ndarray, *, made: dict | None = None,
                  tool: str | None = None, version: str | None = None, params: dict | None = None,
                  ids: Iterable[str] | None = None) -> None:
        """Store a derived array with one row per item (e.g. embeddings ``(n, d)``)."""
        import zarr

        root = self._parent or self
        root._require_writable()
        arr = np.asarray(array)
        key = [str(i) for i in ids] if ids is not None else self.ids
        if arr.shape[0] != len(key):
            raise CollectionError(f"derived array {name!r} has {arr.shape[0]} rows for "
                                  f"{len(key)} items", path=self.path)
        record = made or made_by(tool or name, version, **(params or {}))

        def write(p):
            z = zarr.create_array(store=str(p), shape=arr.shape, dtype=arr.dtype,
                                  chunks=(min(max(1, len(arr)), 4096), *arr.shape[1:]))
            z[...] = arr
            pd.DataFrame({"id": key}).to_parquet(Path(str(p) + ".ids.parquet"), index=False)

        root._write_derived(name, {"type": "array", "shape": list(arr.shape),
                                   "dtype": str(arr.dtype), "made_by": record}, write, ".zarr")

    def _write_derived(self, name: str, record: dict, writer, suffix: str) -> None:
        if not name or "/" in name or name.startswith("."):
            raise CollectionError(f"bad derived name {name!r}")
        with self._lock():
            self._load_manifest()
            fname = f"{name}-{uuid.uuid4().hex[:8]}{suffix}"
            tmp = self.path / "derived" / f".tmp-{fname}"
            writer(tmp)
            os.rename(tmp, self.path / "derived" / fname)
            extra = Path(str(tmp) + ".ids.parquet")
            if extra.exists():
                os.rename(extra, self.path / "derived" / f"{fname}.ids.parquet")
            manifest = json.loads(json.dumps(self._manifest))
            old = manifest["derived"].get(name)
            manifest["derived"][name] = {**record, "file": fname}
            atomic_write_bytes(self.path / MANIFEST, json.dumps(manifest, indent=1).encode())
            if old:
                p = self.path / "derived" / old["file"]
                shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
                Path(str(p) + ".ids.parquet").unlink(missing_ok=True)
            self._load_manifest()

    def derived_array(self, name: str) -> np.ndarray:
        """Load a derived array, rows aligned to the items of this view (NaN where missing)."""
        import zarr

        root = self._parent or self
        rec = root._manifest["derived"].get(name)
        if rec is None or rec["type"] != "array":
            raise KeyError(f"no derived array {name!r} in {self.path}; have "
                           f"{[k for k, v in root._manifest['derived'].items() if v['type'] == 'array']}")
        p = root.path / "derived" / rec["file"]
        arr = np.asarray(zarr.open_array(str(p), mode="r")[...])
        ids = pd.read_parquet(Path(str(p) + ".ids.parquet"))["id"].astype(str)
        pos = pd.Index(ids).get_indexer(pd.Index(self.ids))
        out = np.full((len(pos), *arr.shape[1:]), np.nan,
                      dtype=arr.dtype if arr.dtype.kind == "f" else np.float64)
        ok = pos >= 0
        out[ok] = arr[pos[ok]]
        return out

    def add_file(self, name: str, data: bytes, *, suffix: str = ".bin", made: dict | None = None,
                 tool: str | None = None, version: str | None = None,
                 params: dict | None = None) -> str:
        """Store a derived file that is not per item (e.g. a fitted map model); the manifest
        records its SHA-256 (returned), which :meth:`derived_file` checks on every read."""
        import hashlib

        root = self._parent or self
        root._require_writable()
        data = bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        record = made or made_by(tool or name, version, **(params or {}))
        root._write_derived(name, {"type": "file", "sha256": sha, "size": len(data),
                                   "made_by": record}, lambda p: Path(p).write_bytes(data), suffix)
        return sha

    def derived_file(self, name: str) -> bytes:
        """The bytes of a derived file; CollectionError if they no longer match the SHA-256
        recorded when it was stored (never hand such bytes to a deserialiser)."""
        import hashlib

        root = self._parent or self
        rec = root._manifest["derived"].get(name)
        if rec is None or rec["type"] != "file":
            raise CollectionError(f"no derived file {name!r}", path=self.path,
                                  hint="see `workbench info COLLECTION` for derived data")
        data = (root.path / "derived" / rec["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != rec["sha256"]:
            raise CollectionError(f"derived file {name!r} ({rec['file']}) does not match the "
                                  "SHA-256 recorded in the manifest; it was changed after it "
                                  "was written", path=self.path, hint="recompute it")
        return data

    def remove_derived(self, name: str) -> None:
        """Delete a derived column set or array."""
        self._require_writable()
        with self._lock():
            self._load_manifest()
            manifest = json.loads(json.dumps(self._manifest))
            rec = manifest["derived"].pop(name, None)
            if rec is None:
                raise KeyError(f"no derived data {name!r} in {self.path}")
            atomic_write_bytes(self.path / MANIFEST, json.dumps(manifest, indent=1).encode())
            p = self.path / "derived" / rec["file"]
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            Path(str(p) + ".ids.parquet").unlink(missing_ok=True)
            self._load_manifest()

    # ------------------------------------------------------------------ summary
    def info(self) -> dict:
        """A JSON-safe summary; the keys are stable (``workbench info --json`` prints it)."""
        cat = self.catalog
        kinds = cat["kind"].value_counts(dropna=True).to_dict() if len(cat) else {}
        size = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
        return {
            "path": str(self.path.resolve()),
            "format": FORMAT,
            "format_version": self._manifest["format_version"],
            "description": self._manifest.get("description", ""),
            "n_items": len(self),
            "kinds": {str(k): int(v) for k, v in kinds.items()},
            "products": {k: {"channels": list(s.channels), "shape": list(s.full_shape),
                             "dtype": "float32", "units": s.units, "axes": s.axes}
                         for k, s in self.products.items()},
            "columns": {c: str(t) for c, t in cat.dtypes.items()},
            "derived": {k: {kk: vv for kk, vv in v.items() if kk != "file"}
                        for k, v in self._manifest["derived"].items()},
            "n_segments": len(self._manifest["segments"]),
            "size_bytes": int(size),
        }

    def __repr__(self) -> str:
        prods = ", ".join(f"{k}{s.full_shape}" for k, s in self.products.items())
        return f"<Collection {self.path} ({len(self)} items; {prods}; mode={self.mode})>"


def open(path, mode: str = "r") -> Collection:  # noqa: A001 - mirrors builtins.open on purpose
    """Open a Collection folder; ``mode='r'`` (default) read-only, ``'r+'`` read-write."""
    return Collection(path, mode)


def create(path, products, **kwargs) -> Collection:
    """Make a new Collection (see :meth:`Collection.create`)."""
    return Collection.create(path, products, **kwargs)
