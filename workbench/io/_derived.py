"""Derived data of a Collection: columns, arrays and files computed from its items.

:class:`DerivedData` is a mixin of :class:`workbench.io.collection.Collection`; its methods
are documented there as part of the Collection. Files live in ``COLLECTION/derived/``; every
name the manifest gives is checked to resolve inside that folder (see
:mod:`workbench.io._manifest`) before it is read, replaced or deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import CollectionError
from workbench.core.provenance import made_by
from workbench.io import _manifest, _stores

__all__ = ["DerivedData", "DERIVED_CHUNK_BYTES"]

#: Target size of one chunk of a derived array (bytes, before compression).
DERIVED_CHUNK_BYTES = 16 * 2**20


class DerivedData:
    """Derived columns, arrays and files (mixed into :class:`Collection`)."""

    @property
    def derived(self) -> dict:
        """The derived records, a copy: name -> record of every derived column set, array and
        file of the root Collection (``type``: columns, array or file; ``made_by``: what made
        it, with its parameters, and when; ``columns``/``shape``/``sha256`` by type)."""
        return json.loads(json.dumps(self.root._manifest["derived"]))

    def derived_arrays(self, prefix: str = "") -> list[str]:
        """Names of the derived arrays starting with ``prefix``, newest first (by the
        ``created`` time of what made them; name order breaks ties)."""
        root = self.root
        found = [((rec.get("made_by") or {}).get("created") or "", name)
                 for name, rec in root._manifest["derived"].items()
                 if rec["type"] == "array" and name.startswith(prefix)]
        return [name for _, name in sorted(found, reverse=True)]

    def _derived_path(self, rec: dict, name: str, suffix: str = "") -> Path:
        return _manifest.inside(self.path, "derived", rec["file"] + suffix,
                                what=f"derived {name!r}")

    def _join_derived(self) -> pd.DataFrame:
        from workbench.core.kinds import BASE_COLUMNS

        cat = self._base_catalog()
        if cat is None:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in BASE_COLUMNS.items()})
        cat = cat.copy()
        for name, rec in self._manifest["derived"].items():
            if rec["type"] != "columns":
                continue
            p = self._derived_path(rec, name)
            d = _stores.read_parquet(p, f"derived columns {name!r}", columns=["id"])
            d["id"] = d["id"].astype(str)
            if d["id"].duplicated().any():
                raise CollectionError(f"derived columns {name!r} list an id twice", path=p)
            d = d.set_index("id").reindex(cat["id"].astype(str))
            for c in d.columns:
                cat[c] = d[c].to_numpy()
        return cat

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
        root = self.root
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

        root = self.root
        root._require_writable()
        arr = np.asarray(array)
        key = [str(i) for i in ids] if ids is not None else self.ids
        if arr.ndim == 0 or arr.shape[0] != len(key):
            raise CollectionError(f"derived array {name!r} has {arr.shape[:1]} rows for "
                                  f"{len(key)} items", path=self.path)
        if arr.dtype.kind not in "biuf":
            raise CollectionError(f"derived array {name!r} must be numeric, not {arr.dtype}",
                                  path=self.path)
        row = int(np.prod(arr.shape[1:], dtype=np.int64))
        if row > _stores.MAX_CHUNK_ELEMENTS:
            raise CollectionError(f"derived array {name!r} has {row} elements per item; the "
                                  f"limit is {_stores.MAX_CHUNK_ELEMENTS}", path=self.path)
        rows = max(1, min(len(arr), 4096, DERIVED_CHUNK_BYTES // max(1, row * arr.itemsize)))
        record = made or made_by(tool or name, version, **(params or {}))

        def write(p):
            z = zarr.create_array(store=str(p), shape=arr.shape, dtype=arr.dtype,
                                  chunks=(rows, *arr.shape[1:]))
            z[...] = arr
            pd.DataFrame({"id": key}).to_parquet(Path(str(p) + ".ids.parquet"), index=False)

        root._write_derived(name, {"type": "array", "shape": list(arr.shape),
                                   "dtype": str(arr.dtype), "made_by": record}, write, ".zarr")

    def _write_derived(self, name: str, record: dict, writer, suffix: str) -> None:
        if (not isinstance(name, str) or not name or name.startswith(".") or "/" in name
                or "\\" in name or "\x00" in name):
            raise CollectionError(f"bad derived name {name!r}", path=self.path,
                                  hint="use a plain name without '/' that does not start "
                                       "with '.'")
        with self._lock():
            self._load_manifest()
            ddir = _manifest.own_dir(self.path, "derived")
            if ddir is None:
                ddir = self.path / "derived"
                ddir.mkdir()
            fname = f"{name}-{uuid.uuid4().hex[:8]}{suffix}"
            tmp = ddir / f".tmp-{fname}"
            writer(tmp)
            os.rename(tmp, ddir / fname)
            extra = Path(str(tmp) + ".ids.parquet")
            if extra.exists():
                os.rename(extra, ddir / f"{fname}.ids.parquet")
            manifest = self.manifest
            old = manifest["derived"].get(name)
            manifest["derived"][name] = {**record, "file": fname}
            self._write_manifest(manifest)
            if old:
                self._remove_derived_files(old)
            self._load_manifest()

    def _remove_derived_files(self, rec: dict) -> None:
        """Delete the files of a derived record that is no longer in the manifest (its names
        were checked when the manifest was loaded; only entries of ``derived/`` go)."""
        ddir = self.path / "derived"
        for suffix in ("", ".ids.parquet"):
            _manifest.remove(self.path, ddir / _manifest.plain_name(
                rec["file"] + suffix, "derived file", self.path / _manifest.MANIFEST))

    def derived_array(self, name: str) -> np.ndarray:
        """Load a derived array, rows aligned to the items of this view (NaN where missing)."""
        root = self.root
        rec = root._manifest["derived"].get(name)
        if rec is None or rec["type"] != "array":
            raise KeyError(f"no derived array {name!r} in {self.path}; have "
                           f"{[k for k, v in root._manifest['derived'].items() if v['type'] == 'array']}")
        p = root._derived_path(rec, name)
        what = f"derived array {name!r}"
        shape = tuple(rec["shape"])
        row = int(np.prod(shape[1:], dtype=np.int64))
        if row > _stores.MAX_CHUNK_ELEMENTS:
            raise CollectionError(f"{what} claims {row} elements per item; the limit is "
                                  f"{_stores.MAX_CHUNK_ELEMENTS}", path=p)
        z = _stores.open_zarr(p, what, shape=shape, dtype=rec["dtype"])
        ids = _stores.read_parquet(root._derived_path(rec, name, ".ids.parquet"),
                                   f"{what} ids", rows=shape[0], columns=["id"])["id"].astype(str)
        pos = pd.Index(ids).get_indexer(pd.Index(self.ids))
        dtype = z.dtype if z.dtype.kind == "f" else np.dtype(np.float64)
        out = np.full((len(pos), *shape[1:]), np.nan, dtype=dtype)
        ok = pos >= 0
        need = np.unique(pos[ok])
        if len(need) == 0:
            return out
        if len(need) == shape[0]:
            arr = _stores.read_block(z, Ellipsis, p, what)
            out[ok] = arr[pos[ok]]
        else:
            arr = _stores.read_block(z.oindex, (need,), p, what)
            out[ok] = arr[np.searchsorted(need, pos[ok])]
        return out

    def add_file(self, name: str, data: bytes, *, suffix: str = ".bin", made: dict | None = None,
                 tool: str | None = None, version: str | None = None,
                 params: dict | None = None) -> str:
        """Store a derived file that is not per item (e.g. a fitted map model); the manifest
        records its SHA-256 (returned), which :meth:`derived_file` checks on every read."""
        root = self.root
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
        root = self.root
        rec = root._manifest["derived"].get(name)
        if rec is None or rec["type"] != "file":
            raise CollectionError(f"no derived file {name!r}", path=self.path,
                                  hint="see `workbench info COLLECTION` for derived data")
        p = root._derived_path(rec, name)
        if not p.is_file() or p.stat().st_size != rec["size"]:
            raise CollectionError(f"derived file {name!r} ({rec['file']}) is missing or not "
                                  f"the {rec['size']} bytes the manifest records", path=self.path,
                                  hint="recompute it")
        data = p.read_bytes()
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
            manifest = self.manifest
            rec = manifest["derived"].pop(name, None)
            if rec is None:
                raise KeyError(f"no derived data {name!r} in {self.path}")
            self._write_manifest(manifest)
            self._remove_derived_files(rec)
            self._load_manifest()
