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

The code is split by concern; the Collection class mixes them together:

* :mod:`workbench.io._manifest`: the manifest (reading and checking it, the write lock,
  committing changes, removing orphans) -- :class:`~workbench.io._manifest.ManifestState`;
* :mod:`workbench.io._view`: which items an object stands for (the whole Collection or a
  view made by ``select``: ``root``, ``rows``, ``ids``, ``catalog``) --
  :class:`~workbench.io._view.View`;
* :mod:`workbench.io._derived`: derived columns, arrays and files --
  :class:`~workbench.io._derived.DerivedData`;
* :mod:`workbench.io._appender`: staging and committing appends;
* this module: creating and opening, the catalog and the images.

What other packages may use is public and documented here; a test
(``tests/test_private_access.py``) keeps modules outside ``workbench.io`` off the private
attributes of these classes.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CollectionError, OutputError
from workbench.core.kinds import BASE_COLUMNS
from workbench.io import _atomic, _axes, _manifest, _replace, _stores
from workbench.io._appender import Appender, concat_catalogs
from workbench.io._atomic import atomic_write_bytes
from workbench.io._derived import DerivedData
from workbench.io._manifest import FORMAT, FORMAT_VERSION, LOCKFILE, MANIFEST, ManifestState
from workbench.io._view import View
from workbench.io.collection_types import Batch, Item, ProductSpec

__all__ = ["Collection", "Item", "Batch", "ProductSpec", "open", "create", "LOCKFILE"]


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


class Collection(ManifestState, View, DerivedData):
    """A survey's items: a catalog and image products, stored in a folder.

    Open one with :func:`workbench.open`; make one with :meth:`Collection.create`.

    ``len(coll)`` is the number of items; ``coll[i]`` (int) or ``coll["id"]`` (str) gives an
    :class:`Item`; ``coll.catalog`` is the catalog (with derived columns) as a DataFrame;
    ``coll.batches(size)`` iterates blocks of items; ``coll.select("snr > 8")`` gives a
    view of the items whose catalog rows match a query (see :mod:`workbench.io.query`).

    Public face for other packages: ``path`` and ``mode``; ``root`` (the whole Collection
    of a view, else itself), ``is_view``, ``rows`` (absolute catalog rows of these items,
    what :meth:`read` takes), ``ids``, ``catalog``, ``products``; ``derived`` (the derived
    records), ``derived_arrays``/``derived_array``/``derived_file`` and ``add_columns``/
    ``add_array``/``add_file``/``remove_derived``; ``manifest`` (a copy); ``view_of_rows``.
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
            if _parent._parent is not None:
                raise ValueError("the parent of a view is the whole Collection (its root)")
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

    def _forget_cached(self) -> None:
        """Drop the catalog, id index, arrays and axes read under the previous manifest."""
        self._root_cat = None
        self._full_cat = None
        self._id_rows = None
        self._zarr_cache = {}
        self._axes_cache = {}

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
            self._write_catalog_and_manifest(cat, self.manifest)

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
            app = Appender(_AppendTarget(self))
            try:
                yield app
            except BaseException:
                app.discard()
                raise
            app.commit()

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

    def _id_set(self) -> set:
        cat = self._base_catalog()
        return set() if cat is None else set(cat["id"].astype(str))

    def _full_catalog(self) -> pd.DataFrame:
        """Base catalog with the derived columns joined (cached until the manifest changes)."""
        if self._full_cat is None:
            self._full_cat = self._join_derived()
        return self._full_cat

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

    def __getitem__(self, key) -> Item:
        row = self._resolve(key)
        seg, j = self._segment_of(row)
        images = {}
        axes = {}
        ax_row = self._seg_axes(seg["name"]).iloc[j]
        names = list(self.products)
        blocks = _stores.read_blocks(  # all products in one go
            [self._zarr(seg["name"], name) for name in names], j,
            [self.path / "segments" / seg["name"] / f"{name}.zarr" for name in names],
            [f"segment {seg['name']} product {name!r}" for name in names])
        for name, arr in zip(names, blocks):
            spec = self.products[name]
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
        rows = self.rows
        cat = self.catalog
        for start in range(0, len(rows), size):
            r = rows[start:start + size]
            sub = cat.iloc[start:start + size].reset_index(drop=True)
            yield Batch(list(sub["id"].astype(str)), r, sub, self.read(r, products))

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


class _AppendTarget:
    """The Collection's side of one append (:class:`workbench.io._appender.AppendTarget`),
    given to the :class:`Appender` by :meth:`Collection.appender` under the write lock."""

    def __init__(self, coll: Collection):
        self._coll = coll

    @property
    def path(self) -> Path:
        return self._coll.path

    @property
    def products(self) -> dict[str, ProductSpec]:
        return self._coll.products

    def existing_ids(self) -> set[str]:
        return self._coll._id_set()

    def commit(self, segments: list[tuple[str, int]], catalogs: list[pd.DataFrame]) -> None:
        coll = self._coll
        cat = concat_catalogs(coll._base_catalog(), catalogs)
        manifest = coll.manifest
        manifest["segments"] = manifest["segments"] + [{"name": s, "n": n} for s, n in segments]
        manifest["n_items"] = int(len(cat))
        coll._write_catalog_and_manifest(cat, manifest)


def open(path, mode: str = "r") -> Collection:  # noqa: A001 - mirrors builtins.open on purpose
    """Open a Collection folder; ``mode='r'`` (default) read-only, ``'r+'`` read-write."""
    return Collection(path, mode)


def create(path, products, **kwargs) -> Collection:
    """Make a new Collection (see :meth:`Collection.create`)."""
    return Collection.create(path, products, **kwargs)
