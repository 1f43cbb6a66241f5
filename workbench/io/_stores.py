"""Opening the Parquet and Zarr files of a Collection as untrusted data.

A Collection may come from someone else. Before a byte of array data is read, a Zarr array's
``zarr.json`` is checked: format 3, a numeric data type, a regular chunk grid with chunks of
at most :data:`MAX_CHUNK_ELEMENTS`, only the codecs in :data:`ALLOWED_CODECS` (no codec that
can run code, such as a pickle filter) and no symbolic links anywhere in the store. Parquet
and Zarr failures become one-line :class:`CollectionError` that name the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from workbench.core.errors import CollectionError

__all__ = ["MAX_CHUNK_ELEMENTS", "ALLOWED_CODECS", "open_zarr", "read_block", "read_blocks",
           "parquet_rows", "read_parquet", "no_symlinks"]

#: Most elements one stored chunk may hold (64 Mi, 256 MiB of float32): decoding a chunk
#: allocates all of it.
MAX_CHUNK_ELEMENTS = 64 * 2**20

#: Zarr v3 codecs a Collection's arrays may use (what zarr and the workbench write).
ALLOWED_CODECS = frozenset({"bytes", "blosc", "zstd", "gzip", "crc32c", "transpose",
                            "sharding_indexed"})

_NUMERIC = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                      "uint64", "float16", "float32", "float64"})
_MAX_META_BYTES = 1 << 20


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def no_symlinks(path: Path, what: str) -> None:
    """CollectionError if ``path`` or anything below it is a symbolic link."""
    if path.is_symlink():
        raise CollectionError(f"{what} is a symbolic link; a Collection holds its own files",
                              path=path)
    for top, dirs, files in os.walk(path, followlinks=False):
        for name in dirs + files:
            if os.path.islink(os.path.join(top, name)):
                raise CollectionError(f"{what} contains a symbolic link ({name}); a "
                                      "Collection holds its own files", path=path)


def _check_codecs(codecs, path: Path) -> None:
    if not isinstance(codecs, list) or not codecs:
        raise CollectionError("zarr.json has no codec list", path=path)
    for c in codecs:
        name = c.get("name") if isinstance(c, dict) else c
        if name not in ALLOWED_CODECS:
            raise CollectionError(f"Zarr codec {name!r} is not allowed in a Collection "
                                  f"(allowed: {sorted(ALLOWED_CODECS)})", path=path)
        if name == "sharding_indexed":
            cfg = c.get("configuration") or {}
            _check_codecs(cfg.get("codecs"), path)
            _check_codecs(cfg.get("index_codecs"), path)


def _zarr_meta(path: Path, what: str) -> dict:
    meta = path / "zarr.json"
    if not meta.is_file():
        legacy = " (Zarr format 2 is not supported)" if (path / ".zarray").exists() else ""
        raise CollectionError(f"{what} is not a Zarr array{legacy}", path=path)
    if meta.stat().st_size > _MAX_META_BYTES:
        raise CollectionError(f"{what}: zarr.json is implausibly large", path=path)
    try:
        d = json.loads(meta.read_bytes())
    except (ValueError, RecursionError) as exc:
        raise CollectionError(f"{what}: zarr.json is corrupt ({_short(exc)})", path=path) from exc
    if not isinstance(d, dict) or d.get("zarr_format") != 3 or d.get("node_type") != "array":
        raise CollectionError(f"{what}: zarr.json does not describe a Zarr v3 array", path=path)
    return d


def _ints(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)


def open_zarr(path: Path, what: str, *, shape: tuple | None = None, dtype: str | None = None):
    """Open the Zarr array at ``path`` read-only after checking it as described above.

    ``shape``/``dtype``: what the manifest says the array must be (checked against
    ``zarr.json`` before anything is read).
    """
    path = Path(path)
    no_symlinks(path, what)
    d = _zarr_meta(path, what)
    arr_shape, dt = d.get("shape"), d.get("data_type")
    if not _ints(arr_shape) or any(s < 0 for s in arr_shape):
        raise CollectionError(f"{what}: zarr.json has no valid shape", path=path)
    if dt not in _NUMERIC:
        raise CollectionError(f"{what}: data type {dt!r} is not numeric", path=path)
    grid = d.get("chunk_grid")
    chunks = (grid.get("configuration") or {}).get("chunk_shape") if isinstance(grid, dict) else None
    if (not isinstance(grid, dict) or grid.get("name") != "regular" or not _ints(chunks)
            or len(chunks) != len(arr_shape) or any(c < 1 for c in chunks)):
        raise CollectionError(f"{what}: zarr.json has no valid regular chunk grid", path=path)
    n = 1
    for c in chunks:
        n *= c
    if n > MAX_CHUNK_ELEMENTS:
        raise CollectionError(f"{what}: chunks of {n} elements exceed the limit of "
                              f"{MAX_CHUNK_ELEMENTS}", path=path)
    sep = ((d.get("chunk_key_encoding") or {}).get("configuration") or {}).get("separator", "/")
    if sep not in ("/", ".") or d.get("storage_transformers") not in (None, []):
        raise CollectionError(f"{what}: unsupported chunk key encoding or storage transformer",
                              path=path)
    _check_codecs(d.get("codecs"), path)
    if shape is not None and tuple(arr_shape) != tuple(shape):
        raise CollectionError(f"{what} has shape {tuple(arr_shape)}, but the manifest says "
                              f"{tuple(shape)}", path=path)
    if dtype is not None and dt != dtype:
        raise CollectionError(f"{what} has data type {dt}, expected {dtype}", path=path)
    import zarr

    try:
        return zarr.open_array(str(path), mode="r", zarr_format=3)
    except Exception as exc:
        raise CollectionError(f"{what} cannot be opened ({_short(exc)})", path=path) from exc


def read_block(z, selection, path: Path, what: str):
    """``z[selection]`` as a NumPy array; a corrupt chunk is a CollectionError naming ``path``."""
    import numpy as np

    try:
        return np.asarray(z[selection])
    except Exception as exc:
        raise CollectionError(f"{what} is corrupt ({_short(exc)})", path=path) from exc


def read_blocks(arrays, selection, paths, whats) -> list:
    """:func:`read_block` of ``selection`` in each of ``arrays`` (their ``paths`` and
    ``whats`` for errors), in one pass through zarr's event loop: each read of a zarr v3
    array hands its work to zarr's loop thread and waits for it (about half a millisecond
    per hand-over on a busy machine); here the reads share one hand-over. A corrupt chunk
    is a CollectionError naming the first array that failed."""
    import asyncio

    import numpy as np
    from zarr.core.sync import sync

    async def gather():
        return await asyncio.gather(*(z.async_array.getitem(selection) for z in arrays),
                                    return_exceptions=True)

    try:
        results = sync(gather())
    except Exception as exc:
        raise CollectionError(f"{whats[0]} is corrupt ({_short(exc)})", path=paths[0]) from exc
    out = []
    for res, path, what in zip(results, paths, whats):
        if isinstance(res, BaseException):
            raise CollectionError(f"{what} is corrupt ({_short(res)})", path=path) from res
        out.append(np.asarray(res))
    return out


def parquet_rows(path: Path, what: str) -> int:
    """The number of rows a Parquet file says it holds (its footer only)."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise CollectionError(f"{what} is missing", path=path)
    try:
        return int(pq.read_metadata(path).num_rows)
    except Exception as exc:
        raise CollectionError(f"{what} is not a readable Parquet file ({_short(exc)})",
                              path=path) from exc


def read_parquet(path: Path, what: str, *, rows: int | None = None,
                 columns: list[str] | None = None):
    """Read a Parquet file as a DataFrame; ``rows``: the number it must hold (checked from
    the footer before the data is read); ``columns``: columns it must have."""
    import pandas as pd

    n = parquet_rows(path, what)
    if rows is not None and n != rows:
        raise CollectionError(f"{what} has {n} rows, but the manifest says {rows}", path=path)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:
        raise CollectionError(f"{what} is not a readable Parquet file ({_short(exc)})",
                              path=path) from exc
    missing = [c for c in columns or () if c not in df.columns]
    if missing:
        raise CollectionError(f"{what} lacks the column(s) {missing}", path=path)
    return df
