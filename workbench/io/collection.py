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

A Collection may come from someone else: the manifest is checked on every load, and every
file it names must resolve inside the folder (:mod:`workbench.io._manifest`); Zarr and
Parquet files are opened as untrusted data (:mod:`workbench.io._stores`). Deletions happen
only inside the Collection's own folders. ``create(..., overwrite=True)`` builds the new
Collection beside the old one and swaps it in only when complete
(:mod:`workbench.io._replace`).
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CollectionError, OutputError, ReadOnlyError
from workbench.core.kinds import BASE_COLUMNS
from workbench.io import _atomic, _axes, _manifest, _replace, _stores
from workbench.io._appender import Appender
from workbench.io._atomic import atomic_write_bytes
from workbench.io._derived import DerivedData
from workbench.io._manifest import FORMAT, FORMAT_VERSION, MANIFEST
from workbench.io.collection_types import Batch, Item, ProductSpec

__all__ = ["Collection", "Item", "Batch", "ProductSpec", "open", "create"]

LOCKFILE = ".lock"


def _check_path_writable(path: Path) -> None:
    parent = path.parent  # the new Collection is built beside ``path``
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot create a folder here: {parent} is a file", path=path,
                          hint="choose an output folder path that is not inside a file")
    if not os.access(parent, os.W_OK):
        raise OutputError("cannot write here", path=path,
                          hint="choose an output folder you have write access to")


def _is_collection(path: Path) -> bool:
    return (path / MANIFEST).is_file()


class Collection(DerivedData):
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
            Folder to create. It must not exist (or be empty) unless ``overwrite``; then an
            existing Collection there is replaced (never a folder that is not a Collection).
        products : dict of name -> ProductSpec
            The image products every item has, e.g.
            ``{"radio": ProductSpec(("1.4GHz",), (150, 150), "Jy/beam", "sky")}``.

        The new Collection is made in a sibling folder and put in place by one atomic
        exchange, so an old Collection at ``path`` is never emptied first. Inside a
        :func:`workbench.io._atomic.new_folder` block (how ingesters and simulators call
        it) the exchange waits until the block has filled the Collection and ends without
        an error; until then ``coll.path`` is the sibling folder and ``path`` is untouched.
        """
        path = Path(path)
        _check_path_writable(path)
        if os.path.islink(path):
            raise OutputError("is a symbolic link; refusing to write through it", path=path,
                              hint="give the real folder")
        if path.exists():
            if not path.is_dir():
                raise OutputError("exists and is not a folder", path=path)
            if any(path.iterdir()):
                if not overwrite:
                    raise OutputError("folder exists and is not empty", path=path,
                                      hint="choose a new output folder or pass overwrite=True")
                if not _is_collection(path):
                    raise OutputError("folder exists and is not a Collection; refusing to "
                                      "replace it", path=path)
        specs = {k: v if isinstance(v, ProductSpec) else ProductSpec.from_json(v)
                 for k, v in products.items()}
        if not specs:
            raise CollectionError("a Collection needs at least one image product", path=path)
        prod_json = {k: s.to_json() for k, s in specs.items()}
        _manifest.check_products(prod_json, path)
        try:
            build = _replace.Build(path, replace=overwrite, replaceable=_is_collection,
                                   what="Collection")
        except OSError as exc:
            raise OutputError(f"cannot write here ({exc.strerror or exc})", path=path,
                              hint="choose an output folder you have write access to") from exc
        try:
            (build.path / "segments").mkdir()
            (build.path / "derived").mkdir()
            manifest = {
                "format": FORMAT, "format_version": FORMAT_VERSION,
                "description": description, "products": prod_json,
                "segments": [], "n_items": 0, "catalog": None, "derived": {},
            }
            atomic_write_bytes(build.path / MANIFEST, json.dumps(manifest, indent=1).encode())
            coll = cls(build.path, "r+")
        except OSError as exc:
            build.discard()
            raise OutputError(f"cannot write here ({exc.strerror or exc})", path=path,
                              hint="choose an output folder you have write access to") from exc
        except BaseException:
            build.discard()
            raise
        pending = _atomic.staging()
        if pending is None:
            build.install()
            return cls(path, "r+")
        build.before_install = coll._rebase_source_files
        build.on_install = coll._moved_to
        pending.append(build)
        return coll

    def _moved_to(self, path: Path) -> None:
        """This (build) Collection now lives at ``path``."""
        self.path = Path(path)
        self._load_manifest()

    def _rebase_source_files(self, old: Path, new: Path) -> None:
        """Catalog ``source_file`` values naming files inside the build folder ``old`` (a
        simulation's ``sources/``) are rewritten to name them under ``new``, before the swap."""
        cat = self._base_catalog()
        if cat is None or "source_file" not in cat.columns:
            return
        prefix = str(old) + os.sep
        col = cat["source_file"].astype("string")
        hit = col.str.startswith(prefix).fillna(False).to_numpy(dtype=bool)
        if not hit.any():
            return
        cat = cat.copy()
        cat.loc[hit, "source_file"] = str(new) + os.sep + col[hit].str.slice(len(prefix))
        with self._lock():
            self._write_catalog_and_manifest(cat, json.loads(json.dumps(self._manifest)))

    def _load_manifest(self) -> None:
        self._manifest = _manifest.load(self.path)
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

    def _cleanup_orphans(self) -> None:
        """Remove files no committed manifest refers to (left by a writer that died).

        Only entries of the Collection's own ``segments/`` and ``derived/`` folders and its
        ``catalog-*``/``.tmp*`` files are removed, links never followed; a ``segments`` or
        ``derived`` that is a link (or a file) is a CollectionError and nothing is removed.
        """
        self._load_manifest()
        seg_dir = _manifest.own_dir(self.path, "segments")
        der_dir = _manifest.own_dir(self.path, "derived")
        live = {s["name"] for s in self._manifest["segments"]}
        for p in seg_dir.iterdir() if seg_dir else ():
            if p.name not in live:
                _manifest.remove(self.path, p)
        keep = {self._manifest.get("catalog"), MANIFEST, LOCKFILE}
        for p in self.path.iterdir():
            if (p.name not in keep and (p.name.startswith("catalog-") or p.name.startswith(".tmp"))
                    and (p.is_symlink() or p.is_file())):
                _manifest.remove(self.path, p)
        live_derived = set()
        for d in self._manifest["derived"].values():
            live_derived.add(d["file"])
            live_derived.add(d["file"] + ".ids.parquet")  # a derived array's id sidecar
        for p in der_dir.iterdir() if der_dir else ():
            if p.name not in live_derived:
                _manifest.remove(self.path, p)

    def _require_writable(self) -> None:
        if self.mode != "r+" or self._parent is not None:
            raise ReadOnlyError("opened read-only", path=self.path,
                                hint="open it with workbench.open(path, mode='r+')")

    def _write_catalog_and_manifest(self, cat: pd.DataFrame, manifest: dict) -> None:
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
        atomic_write_bytes(self.path / MANIFEST, json.dumps(manifest, indent=1).encode())
        if old and old != name:
            _manifest.remove(self.path, self.path / _manifest.plain_name(old, "catalog", self.path))
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

    def _base_catalog(self) -> pd.DataFrame | None:
        if self._root_cat is None:
            name = self._manifest.get("catalog")
            if name is None:
                return None
            p = _manifest.inside(self.path, name, what="catalog")
            cat = _stores.read_parquet(p, "catalog", rows=self._n_total(),
                                       columns=list(BASE_COLUMNS))
            ids = cat["id"].astype(str)
            if ids.duplicated().any():
                raise CollectionError(f"catalog {name} lists the id {ids[ids.duplicated()].iloc[0]!r} "
                                      "more than once", path=p)
            self._root_cat = cat
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

    def _seg_n(self, seg: str) -> int:
        for s in self._manifest["segments"]:
            if s["name"] == seg:
                return int(s["n"])
        raise KeyError(seg)

    def _zarr(self, seg: str, product: str):
        """The segment's array of ``product``, its shape checked against the manifest."""
        key = (seg, product)
        if key not in self._zarr_cache:
            p = _manifest.inside(self.path, "segments", seg, f"{product}.zarr", what="segment")
            shape = (self._seg_n(seg), *self.products[product].full_shape)
            self._zarr_cache[key] = _stores.open_zarr(
                p, f"segment {seg} product {product!r}", shape=shape, dtype="float32")
        return self._zarr_cache[key]

    def _seg_axes(self, seg: str) -> pd.DataFrame:
        if seg not in self._axes_cache:
            p = _manifest.inside(self.path, "segments", seg, "axes.parquet", what="segment")
            self._axes_cache[seg] = _stores.read_parquet(p, f"segment {seg} axes",
                                                         rows=self._seg_n(seg))
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
            z = self._zarr(seg["name"], name)
            arr = _stores.read_block(z, j, self.path / "segments" / seg["name"] / f"{name}.zarr",
                                     f"segment {seg['name']} product {name!r}")
            images[name] = arr[0] if len(spec.channels) == 1 else arr
            desc = ax_row.get(name)
            if desc is not None and not (isinstance(desc, float) and np.isnan(desc)):
                try:
                    axes[name] = _axes.expand(_axes.loads(desc), spec.shape)
                except Exception as exc:
                    raise CollectionError(
                        f"the axes of item {row} ({name!r}) are unreadable "
                        f"({type(exc).__name__}: {' '.join(str(exc).split())[:120]})",
                        path=self.path / "segments" / seg["name"] / "axes.parquet") from exc
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
        unknown = [p for p in products if p not in self.products]
        if unknown:
            raise CollectionError(f"no image product(s) {unknown}; this Collection has "
                                  f"{sorted(self.products)}", path=self.path)
        if len(rows) and (rows.min() < 0 or rows.max() >= self._n_total()):
            raise IndexError(f"rows out of range for {self._n_total()} items")
        offsets = np.asarray(self._offsets())
        segs = self._manifest["segments"]
        seg_of = np.searchsorted(offsets, rows, side="right") - 1
        for k in np.unique(seg_of):  # check the arrays against the manifest first
            for p in products:
                self._zarr(segs[k]["name"], p)
        out = {p: np.empty((len(rows), *self.products[p].full_shape), np.float32)
               for p in products}
        for k in np.unique(seg_of):
            sel = np.flatnonzero(seg_of == k)
            local = rows[sel] - offsets[k]
            lo, hi = int(local.min()), int(local.max()) + 1
            name = segs[k]["name"]
            for p in products:
                block = _stores.read_block(self._zarr(name, p), slice(lo, hi),
                                           self.path / "segments" / name / f"{p}.zarr",
                                           f"segment {name} product {p!r}")
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

    # ------------------------------------------------------------------ summary
    def info(self) -> dict:
        """A JSON-safe summary; the keys are stable (``workbench info --json`` prints it)."""
        cat = self.catalog
        kinds = cat["kind"].value_counts(dropna=True).to_dict() if len(cat) else {}
        size = sum(os.lstat(os.path.join(top, f)).st_size
                   for top, _, files in os.walk(self.path, followlinks=False) for f in files)
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
