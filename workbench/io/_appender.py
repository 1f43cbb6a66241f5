"""Staging and committing the batches of one append to a Collection (see
:meth:`workbench.io.collection.Collection.appender`).

The appender and the Collection talk through a small interface, in both directions:

* the Collection gives the :class:`Appender` an :class:`AppendTarget` (its folder, its
  products, the ids it holds, and a ``commit`` that writes the new catalog and manifest),
  inside ``Collection.appender()``, while it holds its write lock;
* the Collection ends the append with :meth:`Appender.commit` (the ``with`` block ended
  without an exception) or :meth:`Appender.discard` (it raised).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from workbench.core.errors import CollectionError
from workbench.core.kinds import BASE_COLUMNS, KINDS
from workbench.io import _axes
from workbench.io._atomic import fsync_dir

if TYPE_CHECKING:
    from workbench.io.collection_types import ProductSpec

__all__ = ["Appender", "AppendTarget", "normalise_catalog", "concat_catalogs", "write_segment"]

#: Target size of one chunk before compression (bytes).
CHUNK_BYTES = 2 * 1024 * 1024


def normalise_catalog(df: pd.DataFrame, kind: str | None) -> pd.DataFrame:
    df = df.copy()
    if "id" not in df.columns:
        raise CollectionError("catalog rows need an 'id' column")
    if kind is not None and "kind" not in df.columns:
        df["kind"] = kind
    for col, dtype in BASE_COLUMNS.items():
        if col not in df.columns:
            df[col] = pd.Series([pd.NA if dtype in ("string", "Int64") else np.nan] * len(df),
                                index=df.index)
        df[col] = df[col].astype(dtype)
    bad = set(df["kind"].dropna()) - set(KINDS)
    if bad:
        raise CollectionError(f"unknown item kind(s) {sorted(bad)}; known kinds: {list(KINDS)}")
    order = list(BASE_COLUMNS) + [c for c in df.columns if c not in BASE_COLUMNS]
    return df[order].reset_index(drop=True)


def concat_catalogs(base: pd.DataFrame | None, batches: list[pd.DataFrame]) -> pd.DataFrame:
    """The existing catalog and the staged batches as one frame, joined in one copy."""
    parts = ([base] if base is not None and len(base) else []) + list(batches)
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return pd.concat(parts, ignore_index=True, sort=False)


def write_segment(folder, arrays: Mapping[str, np.ndarray], axes: Mapping[str, list],
                  products: list[str], n: int) -> None:
    """Write one segment's files into ``folder``: ``<product>.zarr`` (float32, lz4 Blosc,
    chunks of about :data:`CHUNK_BYTES`) for each of ``arrays`` (shapes already checked)
    and ``axes.parquet`` (per item and product, the axes description or None)."""
    import zarr  # local: zarr import is not free
    from zarr.codecs import BloscCodec

    for name, arr in arrays.items():
        per_item = int(np.prod(arr.shape[1:])) * 4
        chunk_items = int(max(1, min(n, CHUNK_BYTES // max(per_item, 1))))
        z = zarr.create_array(
            store=str(folder / f"{name}.zarr"), shape=arr.shape, dtype="float32",
            chunks=(chunk_items, *arr.shape[1:]), fill_value=np.nan,
            compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
        )
        z[...] = arr
    axes_df = pd.DataFrame({name: [_axes.dumps(a) for a in axes.get(name, [None] * n)]
                            for name in products})
    axes_df.to_parquet(folder / "axes.parquet", index=False)


class AppendTarget(Protocol):
    """What an :class:`Appender` needs from the Collection it appends to.

    ``Collection.appender()`` makes one while it holds the Collection's write lock, with the
    manifest just re-read, and it is valid until the append ends.
    """

    @property
    def path(self) -> Path:
        """The Collection folder (segments are staged in ``path/segments``)."""

    @property
    def products(self) -> dict[str, ProductSpec]:
        """The Collection's image products."""

    def existing_ids(self) -> set[str]:
        """The ids of the items already in the Collection."""

    def commit(self, segments: list[tuple[str, int]], catalogs: list[pd.DataFrame]) -> None:
        """Commit the staged ``segments`` (folder name in ``segments/``, item count) and their
        catalog rows (one normalised frame per segment, in order) with one manifest replace."""


class Appender:
    """Collects batches of one append; commits them with one manifest replace.

    Made by :meth:`Collection.appender <workbench.io.collection.Collection.appender>`; use
    :meth:`add` (or :meth:`add_staged`) inside its ``with`` block. The block calls
    :meth:`commit` or :meth:`discard` when it ends.
    """

    def __init__(self, coll: AppendTarget):
        self._coll = coll
        self._segments: list[tuple[str, int]] = []
        self._catalogs: list[pd.DataFrame] = []
        self._ids: set[str] | None = None  # ids in the Collection and staged (read on first add)
        self.n_added = 0

    def add(self, catalog: pd.DataFrame, images: Mapping[str, np.ndarray],
            axes: Mapping[str, list] | None = None, *, kind: str | None = None) -> None:
        """Stage one batch.

        Parameters
        ----------
        catalog : DataFrame
            One row per item, with at least ``id``; ``kind`` defaults to ``kind``.
        images : dict of product -> array
            Arrays of shape ``(n, n_channels, ny, nx)`` (or ``(n, ny, nx)`` for
            single-channel products) matching the Collection's product specs; a product
            left out is stored as NaN.
        axes : dict of product -> list, optional
            Per item, an axes description (see :mod:`workbench.io._axes`) or None.
        """
        coll = self._coll
        n = len(catalog)
        if n == 0:
            return
        cat = normalise_catalog(catalog, kind)
        ids = cat["id"].astype(str)
        self._check_ids(ids)
        unknown = set(images) - set(coll.products)
        if unknown:
            raise CollectionError(f"unknown product(s) {sorted(unknown)}; this Collection has "
                                  f"{sorted(coll.products)}", path=coll.path)
        arrays = {}
        for name, spec in coll.products.items():
            if name in images:
                arr = np.asarray(images[name], dtype=np.float32)
                if arr.ndim == 3 and len(spec.channels) == 1:
                    arr = arr[:, None]
                if arr.shape != (n, *spec.full_shape):
                    raise CollectionError(
                        f"product {name!r} has shape {arr.shape[1:]} per item, expected "
                        f"{spec.full_shape}", path=coll.path)
            else:
                arr = np.full((n, *spec.full_shape), np.nan, np.float32)
            arrays[name] = arr
        axes = dict(axes or {})
        for name, lst in axes.items():
            if len(lst) != n:
                raise CollectionError(f"axes for {name!r} has {len(lst)} entries for {n} items")
        seg_name = f"seg-{uuid.uuid4().hex[:12]}"
        tmp = coll.path / "segments" / f".tmp-{seg_name}"
        tmp.mkdir(parents=True)
        write_segment(tmp, arrays, axes, list(coll.products), n)
        fsync_dir(tmp)
        os.rename(tmp, coll.path / "segments" / seg_name)
        self._segments.append((seg_name, n))
        self._catalogs.append(cat)
        self._ids |= set(ids)
        self.n_added += n

    def add_staged(self, folder, catalog: pd.DataFrame, *, kind: str | None = None) -> None:
        """Stage a segment a task already wrote (:func:`write_segment`, in a staging area
        on the Collection's file system, see :mod:`workbench.io._staging`): its arrays are
        checked against the product specs and ``catalog`` (one row per item), then the
        folder is moved into ``segments/``; it is committed with the other batches."""
        from workbench.io import _stores

        coll, folder = self._coll, Path(folder)
        n = len(catalog)
        if n == 0:
            return
        cat = normalise_catalog(catalog, kind)
        self._check_ids(cat["id"].astype(str))
        for name, spec in coll.products.items():
            _stores.open_zarr(folder / f"{name}.zarr", f"staged segment product {name!r}",
                              shape=(n, *spec.full_shape), dtype="float32")
        _stores.read_parquet(folder / "axes.parquet", "staged segment axes", rows=n)
        seg_name = f"seg-{uuid.uuid4().hex[:12]}"
        os.rename(folder, coll.path / "segments" / seg_name)
        self._segments.append((seg_name, n))
        self._catalogs.append(cat)
        self._ids |= set(cat["id"].astype(str))
        self.n_added += n

    def _check_ids(self, ids: pd.Series) -> None:
        coll = self._coll
        if ids.duplicated().any():
            raise CollectionError(f"duplicate ids in batch: {sorted(set(ids[ids.duplicated()]))[:5]}",
                                  path=coll.path)
        if self._ids is None:
            self._ids = coll.existing_ids()
        clash = set(ids) & self._ids
        if clash:
            raise CollectionError(f"ids already in the Collection: {sorted(clash)[:5]}",
                                  path=coll.path, hint="ids must be unique")

    def discard(self) -> None:
        """Delete the segments staged so far; nothing of them was ever visible to readers.
        (Called by the ``appender()`` block when it raises.)"""
        for seg, _ in self._segments:
            shutil.rmtree(self._coll.path / "segments" / seg, ignore_errors=True)
        self._segments.clear()
        self._catalogs.clear()

    def commit(self) -> None:
        """Make the staged batches part of the Collection, with one manifest replace; a
        second call commits only what was staged since. (Called by the ``appender()`` block
        when it ends without an exception.)"""
        if not self._segments:
            return
        self._coll.commit(list(self._segments), list(self._catalogs))
        self._segments.clear()
        self._catalogs.clear()
