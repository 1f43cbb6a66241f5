"""The parallel path of :func:`workbench.io.ingest_fits.ingest_fits` (``client=`` given).

The files are cut into tasks of ``task_size`` files in input order. Each task reads and fits
its files exactly as the serial ingest does and stages one segment (images, axes and
catalog rows; :mod:`workbench.io._staging`). The client then makes the Collection and
commits the segments in input order in one transaction, giving ids by the serial rule
(:func:`~workbench.io.ingest_fits._next_id`), so ids and pixels equal a serial ingest's.

The common shape is fixed before any task runs, as the serial ingest fixes it: by ``size``,
or by the first file (in input order) that can be read; files before it that cannot be read
fail (or are skipped) here, on the client.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.core import errors as _errors
from workbench.core.errors import BatchError, FITSError, WorkbenchError
from workbench.io._appender import write_segment
from workbench.io._atomic import new_folder
from workbench.io._staging import StagingArea, file_identity, task_key
from workbench.io.collection import Collection, ProductSpec
from workbench.io.distributed import Task, commit_segments, run_staged
from workbench.io.fits_open import short_reason

__all__ = ["ingest_fits_tasks", "fits_task"]

#: Version of what a task writes; part of every key, so a change never reuses old segments.
_VERSION = 1


def _as_error(exc: BaseException, f) -> WorkbenchError:
    return exc if isinstance(exc, WorkbenchError) else FITSError(
        f"cannot be ingested ({short_reason(exc)})", path=f)


def _raise_recorded(err: list) -> None:
    """Re-raise an error a task recorded as ``[class name, reason, path, hint]``."""
    cls = getattr(_errors, err[0], None)
    if not (isinstance(cls, type) and issubclass(cls, WorkbenchError)) or cls is BatchError:
        cls = FITSError
    raise cls(err[1], path=err[2], hint=err[3])


def fits_task(root: str, key: str, files: list, hits: list, target: tuple, channel,
              product: str, errors: str) -> dict:
    """Read ``files`` (their catalogue rows ``hits``), fit them to ``target`` and stage the
    segment ``key``. A bad file with ``errors="raise"`` is returned as ``{"error": ...}``
    (not staged, not retried: the client raises it)."""
    from workbench.io.ingest_fits import _item_row, _prepare, _stem

    area = StagingArea(root)
    rows, datas, axes, skipped = [], [], [], []
    notes: dict = {}
    resized: dict = {}
    for f, hit in zip(files, hits):
        try:
            img, data, _, action, ax, beam = _prepare(f, channel, tuple(target))
        except Exception as exc:  # any failure of one file is that file's failure
            err = _as_error(exc, f)
            if errors == "raise":
                return {"error": [type(err).__name__, err.reason, err.path, err.hint]}
            skipped.append([str(f), err.reason])
            continue
        for n in img.notes:
            k = n.split(" (")[0]
            notes[k] = notes.get(k, 0) + 1
        resized[action] = resized.get(action, 0) + 1
        rows.append(_item_row(_stem(f), f, img, action, beam, hit))
        datas.append(data)
        axes.append(ax)
    with area.writing(key) as seg:
        if rows:
            arr = np.stack(datas).astype(np.float32, copy=False)[:, None]
            write_segment(seg.path, {product: arr}, {product: axes}, [product], len(rows))
            pd.DataFrame(rows).to_parquet(seg.path / "rows.parquet", index=False)
        seg.summary = {"n": len(rows), "skipped": skipped, "notes": notes, "resized": resized,
                       "matched": [_stem(f) for f, h, in zip(files, hits) if h is not None
                                   and not any(s[0] == str(f) for s in skipped)]}
    return area.summary(key)


def _first_readable(files, size, channel, errors, report):
    """Index, shape and units set by the first readable file (as the serial ingest)."""
    from workbench.io.ingest_fits import _prepare

    for i, f in enumerate(files):
        try:
            img = _prepare(f, channel, size)[0]
        except Exception as exc:
            err = _as_error(exc, f)
            if errors == "raise":
                if err is exc:
                    raise
                raise err from exc
            report.skipped.append((str(f), err.reason))
            continue
        return i, (tuple(size) if size else tuple(img.data.shape)), img.bunit or ""
    raise BatchError(f"none of the {len(files)} FITS files could be ingested",
                     report.skipped, path=report.path)


def ingest_fits_tasks(files, out, *, catalog, cat_rows: dict, product: str, kind: str,
                      size, channel, errors: str, overwrite: bool, progress, client,
                      task_size: int, report, matched: set) -> None:
    """Fill ``report`` by ingesting ``files`` through staged tasks (see the module)."""
    from workbench.io.ingest_fits import _next_id, _stem

    first, target, bunit = _first_readable(files, size, channel, errors, report)
    todo = files[first:]
    area = StagingArea.beside(out)
    tasks = []
    step = max(1, int(task_size))
    for a in range(0, len(todo), step):
        chunk = [str(f) for f in todo[a:a + step]]
        hits = [cat_rows.get(_stem(f)) for f in chunk]
        key = task_key("fits", _VERSION, [file_identity(f) for f in chunk], hits,
                       list(target), channel, product, errors)
        tasks.append(Task(key, fits_task, (chunk, hits, list(target), channel, product, errors),
                          len(chunk)))
    report.shape = target
    report.resized = {}
    summaries = run_staged(tasks, area, client=client, progress=progress, desc="ingest",
                           unit="file")
    for s in summaries:
        if "error" in s:
            _raise_recorded(s["error"])
    for s in summaries:
        report.skipped += [tuple(x) for x in s["skipped"]]
        for k, v in s["notes"].items():
            report.notes[k] = report.notes.get(k, 0) + v
        for k, v in s["resized"].items():
            report.resized[k] = report.resized.get(k, 0) + v
        matched.update(s["matched"])
    ids_seen: set[str] = set()
    with new_folder(out, inputs=[*files, catalog]):
        coll = Collection.create(out, {product: ProductSpec((product,), target, bunit, "sky")},
                                 overwrite=overwrite)

        def with_ids(rows):  # the serial rule, over all items in input order
            rows["id"] = [_next_id(str(i), ids_seen) for i in rows["id"]]
            return rows

        with coll.appender() as app:
            commit_segments(app, area, [t.key for t in tasks], summaries, kind=kind,
                            rows=with_ids)
        report.n_items = app.n_added
    area.discard()
