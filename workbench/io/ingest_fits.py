"""Turn a folder (or globs) of FITS cutouts into a Collection.

Limits: images are read only after their headers' sizes are checked against the files
(:mod:`workbench.io.fits_open`); the common shape is at most
:data:`~workbench.io.fits_open.MAX_STAMP_SIDE` pixels per side.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.core.errors import BatchError, CatalogError, FITSError, InputError, WorkbenchError
from workbench.core.kinds import RADIO
from workbench.io import _axes
from workbench.io._atomic import new_folder
from workbench.io.batching import BatchBuffer
from workbench.io.catalogs import FILE_COLUMNS, read_table
from workbench.io.collection import Collection, ProductSpec
from workbench.io.fits import beam_from_header, fit_to_shape, read_fits_image
from workbench.io.fits_open import MAX_STAMP_SIDE, check_stamp_shape, rows_per_batch, short_reason
from workbench.io.progress import progress_bar

__all__ = ["IngestReport", "ingest_fits", "expand_paths", "FITS_SUFFIXES"]

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fz", ".fits.fz")


@dataclass
class IngestReport:
    """What an ingest did: items added, inputs skipped with reasons, tolerated problems."""

    path: str
    n_items: int = 0
    skipped: list = field(default_factory=list)  # (input, reason)
    notes: dict = field(default_factory=dict)  # note -> count of files
    unmatched_catalog_rows: list = field(default_factory=list)
    shape: tuple | None = None
    resized: dict = field(default_factory=dict)  # action -> count

    def to_json(self) -> dict:
        return {"path": self.path, "n_items": self.n_items,
                "skipped": [{"input": str(a), "reason": b} for a, b in self.skipped],
                "notes": self.notes, "unmatched_catalog_rows": self.unmatched_catalog_rows,
                "shape": list(self.shape) if self.shape else None, "resized": self.resized}


def _is_fits(name: str) -> bool:
    return name.lower().endswith(FITS_SUFFIXES)


def expand_paths(paths: Iterable) -> list[Path]:
    """Folders (their FITS files), glob patterns and plain files, sorted, without duplicates."""
    out: list[Path] = []
    for p in paths:
        p = str(p)
        if os.path.isdir(p):
            out += sorted(Path(p, f) for f in os.listdir(p) if _is_fits(f))
        elif any(ch in p for ch in "*?["):
            out += sorted(Path(f) for f in glob.glob(p, recursive=True) if os.path.isfile(f))
        else:
            out.append(Path(p))
    seen, uniq = set(), []
    for p in out:
        key = os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            uniq.append(p)
    return uniq


def _stem(name: str) -> str:
    """File name without folder and FITS suffix; names with dots (``J0123.4+5678``) and
    catalogue entries given without a suffix keep everything else."""
    base = os.path.basename(str(name).strip())
    for suf in sorted(FITS_SUFFIXES, key=len, reverse=True):
        if base.lower().endswith(suf):
            return base[: -len(suf)]
    return base


def _catalog_by_file(catalog) -> tuple[pd.DataFrame, str]:
    df = catalog if isinstance(catalog, pd.DataFrame) else read_table(catalog)
    lower = {c.lower(): c for c in df.columns}
    col = next((lower[n] for n in FILE_COLUMNS if n in lower), None)
    if col is None:
        cols = [str(c)[:40] for c in df.columns[:20]] + (["..."] if len(df.columns) > 20 else [])
        raise CatalogError(f"has no file-name column to join on (columns: {cols})",
                           path=None if isinstance(catalog, pd.DataFrame) else catalog,
                           hint=f"add a column named one of {list(FILE_COLUMNS)}")
    df = df.copy()
    df["_stem"] = df[col].astype(str).map(_stem)
    if df["_stem"].duplicated().any():
        dup = [str(v)[:60] for v in df.loc[df["_stem"].duplicated(), col].tolist()[:3]]
        raise CatalogError(f"names the same file more than once: {dup}",
                           path=None if isinstance(catalog, pd.DataFrame) else catalog)
    return df, col


def _prepare(f, channel, shape):
    """Read one file and fit it to ``shape`` (None: its own shape, which must then be within
    the size limit): ``(image, data, wcs, resize action, axes, beam)``."""
    img = read_fits_image(f, channel=channel)
    if shape is None and max(img.data.shape) > MAX_STAMP_SIDE:
        raise InputError(f"image is {img.data.shape[0]}x{img.data.shape[1]} px, larger than "
                         f"the {MAX_STAMP_SIDE} px per side a Collection's images may have",
                         path=f, hint="pass size (CLI: --size NYxNX) to crop every image")
    data, wcs, action = fit_to_shape(img.data, shape or img.data.shape, img.wcs)
    axes = _axes.sky(wcs) if wcs is not None else None
    return img, data, wcs, action, axes, beam_from_header(img.header)


def _next_id(stem: str, ids_seen: set) -> str:
    """The id of the next item from file ``stem``: the stem, or ``<stem>-<k>`` (k: items so
    far) when the stem is taken; the same in a serial and a parallel ingest."""
    item_id = stem
    if item_id in ids_seen:
        item_id = f"{item_id}-{len(ids_seen)}"
    ids_seen.add(item_id)
    return item_id


def _item_row(item_id: str, f, img, action: str, beam, hit: dict | None) -> dict:
    """One item's catalog row: what the file says, then the catalogue's columns (``_catalog``
    appended to names that clash)."""
    row = {"id": item_id, "ra": img.ra, "dec": img.dec,
           "pixscale_arcsec": img.pixscale_arcsec, "source_file": str(f),
           "source_hdu": img.hdu, "orig_ny": img.data.shape[0],
           "orig_nx": img.data.shape[1], "resize": action}
    row["bmaj"], row["bmin"], row["bpa"] = beam
    for c, v in (hit or {}).items():
        name = c if c not in row and c != "kind" else f"{c}_catalog"
        row[name] = v
    return row


def ingest_fits(paths, out, *, catalog=None, product: str = "radio", kind: str = RADIO,
                size: tuple[int, int] | None = None, channel: int | None = None,
                errors: str = "raise", batch_size: int = 256, overwrite: bool = False,
                progress: bool | Callable = False, client=None,
                task_size: int = 32) -> IngestReport:
    """Ingest FITS cutouts into a new Collection at ``out``.

    Parameters
    ----------
    paths : list of path-like
        Files, folders (all their FITS files) or glob patterns.
    catalog : path-like or DataFrame, optional
        Table whose columns are joined to items by file name (column ``file``/``filename``/
        ...; matched on the name without folder and FITS suffix).
    product, kind : str
        Name of the image product (default ``"radio"``) and the items' kind.
    size : (ny, nx), optional
        Common shape, at most :data:`~workbench.io.fits_open.MAX_STAMP_SIDE` (4096) pixels
        per side. By default the shape of the first image read (an image larger than that
        cannot set it: pass ``size`` to crop); other images are
        centre-cropped or NaN-padded to it (recorded in columns ``orig_ny``, ``orig_nx``,
        ``resize``) and their WCS reference pixel shifted to match. The restoring beam
        goes into ``bmaj``, ``bmin`` (arcsec) and ``bpa`` (deg), NaN where the header has
        none (:func:`~workbench.io.fits.beam_from_header`).
    channel : int, optional
        Plane to take from cubes with a non-degenerate third axis.
    errors : {"raise", "skip"}
        On a bad file (any failure while reading or preparing it, reported as a
        :class:`~workbench.errors.FITSError` naming the file), stop (nothing is written) or
        skip it and report it with its reason.
    client : distributed.Client, optional
        Run on this Dask cluster: tasks of ``task_size`` files each stage a segment beside
        ``out`` (``.<name>.wb-staging``), committed together at the end; the result (ids,
        pixels, catalog) is the serial ingest's, and a rerun after an interruption skips
        the tasks already staged (see :mod:`workbench.io.distributed`). Default: this
        process, no staging.

    Returns
    -------
    IngestReport
    """
    if errors not in ("raise", "skip"):
        raise ValueError("errors must be 'raise' or 'skip'")
    if size is not None:
        size = check_stamp_shape(size, "size")
    files = expand_paths(paths)
    if not files:
        raise InputError(f"no FITS files found in {[str(p) for p in paths]}",
                         hint=f"give files or folders holding {', '.join(FITS_SUFFIXES)}")
    cat = None
    cat_rows: dict = {}
    if catalog is not None:
        cat, _ = _catalog_by_file(catalog)
        cat_rows = {r.pop("_stem"): r for r in cat.to_dict("records")}
    report = IngestReport(path=str(out))
    matched: set[str] = set()
    if client is not None:
        from workbench.io._fits_tasks import ingest_fits_tasks

        ingest_fits_tasks(files, out, catalog=catalog, cat_rows=cat_rows, product=product,
                          kind=kind, size=size, channel=channel, errors=errors,
                          overwrite=overwrite, progress=progress, client=client,
                          task_size=task_size, report=report, matched=matched)
        _warn_unmatched(report, cat, matched)
        return report
    bar, close_bar = progress_bar(progress, len(files), unit="file", desc="ingest")

    coll = None
    app = None
    buf = None
    ids_seen: set[str] = set()

    import contextlib

    try:
        with new_folder(out, inputs=[*files, catalog]), contextlib.ExitStack() as stack:
            for f in files:
                try:
                    img, data, wcs, action, axes, beam = _prepare(f, channel, report.shape or size)
                except Exception as exc:  # any failure of one file is that file's failure
                    err = exc if isinstance(exc, WorkbenchError) else FITSError(
                        f"cannot be ingested ({short_reason(exc)})", path=f)
                    if errors == "raise":
                        if err is exc:
                            raise
                        raise err from exc
                    report.skipped.append((str(f), err.reason))
                    bar(1)
                    continue
                for n in img.notes:
                    key = n.split(" (")[0]
                    report.notes[key] = report.notes.get(key, 0) + 1
                if coll is None:
                    target = tuple(size) if size else img.data.shape
                    report.shape = target
                    coll = Collection.create(out, {product: ProductSpec(
                        (product,), target, img.bunit or "", "sky")}, overwrite=overwrite)
                    app = stack.enter_context(coll.appender())
                    buf = BatchBuffer(app, kind=kind,
                                      size=rows_per_batch(batch_size, 4 * target[0] * target[1]))
                report.resized[action] = report.resized.get(action, 0) + 1
                hit = cat_rows.get(_stem(f))
                if hit is not None:
                    matched.add(_stem(f))
                row = _item_row(_next_id(_stem(f), ids_seen), f, img, action, beam, hit)
                buf.add(row, {product: data}, {product: axes})
                bar(1)
            if coll is None:
                raise BatchError(f"none of the {len(files)} FITS files could be ingested",
                                 report.skipped, path=out)
            buf.flush()
    finally:
        close_bar()
    report.n_items = app.n_added
    _warn_unmatched(report, cat, matched)
    return report


def _warn_unmatched(report: IngestReport, cat, matched: set) -> None:
    if cat is not None:
        report.unmatched_catalog_rows = sorted(set(cat["_stem"]) - matched)
        if report.unmatched_catalog_rows:
            warnings.warn(f"{len(report.unmatched_catalog_rows)} catalogue rows match no "
                          f"ingested file, e.g. {report.unmatched_catalog_rows[:3]}", stacklevel=3)
