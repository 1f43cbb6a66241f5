"""The parallel path of :func:`workbench.io.ingest_stamps.ingest_stamps` (``client=`` given).

An object's bands may lie in several files, and which object and band a file holds is known
only once it is opened, so the work runs in two rounds of staged tasks
(:mod:`workbench.io.distributed`):

1. *scan*: tasks of ``task_size`` files read their band planes
   (:func:`~workbench.io.stamp_planes.read_band_planes`) and record, per file, its
   ``(object, band, layout, where)`` planes or why it cannot be read. The client replays the
   serial ingest's file checks on these records in input order (unreadable files, a band
   given twice), giving the objects in the serial order and the bands wanted.
2. *stamps*: the first object that can be ingested is checked here on the client, as in
   the serial ingest (it fixes the shape when ``size`` is not given, and the unit); then
   tasks of ``task_size`` objects read the files holding their bands, resample, check and
   fit each object exactly as the serial ingest does and stage one segment of items.

The client joins the classifications table (if any) and commits the segments in object
order in one manifest transaction: ids, pixels and catalog equal a serial ingest's. Files
are read twice (once per round): the price of not holding every plane in one process.
Task keys are made from the files (path, size, modification time) and the parameters, so
a rerun after an interruption skips what is staged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.core import errors as _errors
from workbench.core.errors import BatchError, FITSError, InputError, WorkbenchError
from workbench.io._appender import write_segment
from workbench.io._atomic import new_folder
from workbench.io._staging import StagingArea, file_identity, task_key
from workbench.io.distributed import Task, commit_segments, run_staged
from workbench.io.fits_open import card_value, short_reason

__all__ = ["scan_task", "stamps_task", "ingest_stamps_tasks"]

#: Version of what a task writes; part of every key, so a change never reuses old segments.
_VERSION = 1


def _record(err: WorkbenchError) -> list:
    return [type(err).__name__, err.reason, err.path, err.hint, str(err)]


def _rebuild(rec: list) -> WorkbenchError:
    cls = getattr(_errors, rec[0], None)
    if not (isinstance(cls, type) and issubclass(cls, WorkbenchError)) or cls is BatchError:
        cls = InputError
    return cls(rec[1], path=rec[2], hint=rec[3])


def _file_error(exc: BaseException, f) -> WorkbenchError:
    return exc if isinstance(exc, WorkbenchError) else FITSError(
        f"cannot be ingested ({short_reason(exc)})", path=f)


def scan_task(root: str, key: str, files: list) -> dict:
    """Record, per file of ``files``, its planes ``[object, band, layout, where]`` or its
    error; stages the record (no data) as the segment ``key``."""
    from workbench.io.stamp_planes import read_band_planes

    out = []
    for f in files:
        try:
            out.append({"planes": [[p.obj, p.band, p.layout, p.where]
                                   for p in read_band_planes(f)]})
        except Exception as exc:  # any failure of one file is that file's failure
            out.append({"error": _record(_file_error(exc, f))})
    area = StagingArea(root)
    with area.writing(key) as seg:
        seg.summary = {"n": 0, "files": out}
    return area.summary(key)


def _objects(files: list, scans: list, errors: str, report) -> dict:
    """object -> {band: file}, in the serial order; the serial file checks on the records."""
    objects: dict[str, dict[str, tuple]] = {}
    for f, rec in zip(files, scans):
        err = None
        if "error" in rec:
            err, text = _rebuild(rec["error"]), rec["error"][4]
        else:
            seen: dict = {}
            for obj, band, _, where in rec["planes"]:
                have = {**objects.get(obj, {}), **seen.get(obj, {})}
                seen.setdefault(obj, {})[band] = (f, where)
                if band in have:
                    err = InputError(f"band {band} of object {obj!r} is given twice "
                                     f"({have[band][1]} and {where})", path=f,
                                     hint="keep one file per band per object")
                    text = str(err)
                    break
        if err is not None:
            if errors == "raise":
                raise err
            report.skipped.append((str(f), text))
            continue
        for obj, band, _, where in rec["planes"]:
            objects.setdefault(obj, {})[band] = (f, where)
        layout = rec["planes"][0][2]
        report.layouts[layout] = report.layouts.get(layout, 0) + 1
    return objects


def _planes(group: list) -> list[dict]:
    """The planes ``{band: plane}`` of each ``(object, {band: file})`` of ``group``, each
    file read once."""
    from workbench.io.stamp_planes import read_band_planes

    cache: dict = {}
    out = []
    for obj, bands in group:
        planes = {}
        for band, f in bands.items():
            if str(f) not in cache:
                cache[str(f)] = {(p.obj, p.band): p for p in read_band_planes(f)}
            planes[band] = cache[str(f)][(obj, band)]
        out.append(planes)
    return out


class _Counts:
    """What a task counts for the report (the fields ``_prepare_object`` and
    ``resample_object`` write)."""

    def __init__(self):
        self.skipped: list = []
        self.notes: dict = {}
        self.resampled: dict = {}
        self.resized: dict = {}


def stamps_task(root: str, key: str, group: list, want: list, size, resample: bool,
                shape: list, product: str, errors: str) -> dict:
    """Prepare and fit the objects of ``group`` (``[object, {band: file}]`` each) as the
    serial ingest does and stage them as the segment ``key``; a bad object with
    ``errors="raise"`` is returned as ``{"error": ...}`` (not staged, not retried)."""
    from workbench.io.ingest_stamps import _object_item, _prepare_object

    counts = _Counts()
    rows, arrays, axes = [], [], []
    try:
        for (obj, _), planes in zip(group, _planes(group)):
            got = _prepare_object(obj, planes, want, size, resample, errors, counts)
            if got is None:
                continue
            row, images, ax = _object_item(obj, *got, want, tuple(shape), product, counts)
            rows.append(row)
            arrays.append(images[product])
            axes.append(ax[product])
    except WorkbenchError as err:
        return {"error": _record(err)}
    area = StagingArea(root)
    with area.writing(key) as seg:
        if rows:
            write_segment(seg.path, {product: np.stack(arrays).astype(np.float32, copy=False)},
                          {product: axes}, [product], len(rows))
            pd.DataFrame(rows).to_parquet(seg.path / "rows.parquet", index=False)
        seg.summary = {"n": len(rows), "ids": [r["id"] for r in rows],
                       "skipped": [list(s) for s in counts.skipped], "notes": counts.notes,
                       "resampled": counts.resampled, "resized": counts.resized}
    return area.summary(key)


def _add(into: dict, counts: dict) -> None:
    for k, v in counts.items():
        into[k] = into.get(k, 0) + v


def ingest_stamps_tasks(files: list, out, *, want, size, resample: bool, product: str,
                        kind: str, errors: str, overwrite: bool, progress, client,
                        task_size: int, report, table) -> None:
    """Fill ``report`` by ingesting ``files`` through two rounds of staged tasks (see the
    module); ``table``: the classifications to join (or None)."""
    from workbench.core.bands import sort_bands
    from workbench.io.collection import Collection, ProductSpec
    from workbench.io.ingest_stamps import StampsReport, _prepare_object
    from workbench.io.lens_challenge import join_labels

    area = StagingArea.beside(out)
    step = max(1, int(task_size))
    chunks = [files[a:a + step] for a in range(0, len(files), step)]
    scans = [Task(task_key("stamp-scan", _VERSION, [file_identity(f) for f in c]), scan_task,
                  (c,), len(c)) for c in chunks]
    recs = [r for s in run_staged(scans, area, client=client, progress=progress,
                                  desc="stamps (scan)", unit="file") for r in s["files"]]
    objects = _objects(files, recs, errors, report)
    if want is None:
        found = {b for bands in objects.values() for b in bands}
        want = sort_bands(found) if found else []
    report.bands = list(want)

    names = list(objects)
    first = None
    for i, obj in enumerate(names):  # the first good object, checked here as serially
        scratch = StampsReport(path=report.path)
        bands = {b: f for b, (f, _) in objects[obj].items()}
        got = _prepare_object(obj, _planes([(obj, bands)])[0], want, size, resample, errors,
                              scratch)
        if got is not None:
            first = (i, got[0])
            break
        report.skipped += scratch.skipped
        _add(report.notes, scratch.notes)
        _add(report.resampled, scratch.resampled)
    if first is None:
        raise BatchError(f"none of the {len(objects)} object(s) in {len(files)} file(s) could "
                         "be ingested", report.skipped, path=out)
    planes0 = first[1]
    shape = tuple(size) if size else planes0[want[0]].data.shape
    report.shape = shape
    unit = str(card_value(planes0[want[0]].header, "BUNIT", ""))

    todo = [(o, {b: f for b, (f, _) in objects[o].items()}) for o in names[first[0]:]]
    tasks = []
    for a in range(0, len(todo), step):
        group = todo[a:a + step]
        key = task_key("stamps", _VERSION,
                       [[o, {b: file_identity(f) for b, f in sorted(bs.items())}]
                        for o, bs in group],
                       list(want), list(size) if size else None, bool(resample),
                       list(shape), product, errors)
        tasks.append(Task(key, stamps_task, (group, list(want), size, bool(resample),
                                             list(shape), product, errors), len(group)))
    summaries = run_staged(tasks, area, client=client, progress=progress, desc="stamps",
                           unit="object")
    for s in summaries:
        if "error" in s:
            raise _rebuild(s["error"])
    good = []
    for s in summaries:
        report.skipped += [tuple(x) for x in s["skipped"]]
        _add(report.notes, s["notes"])
        _add(report.resampled, s["resampled"])
        _add(report.resized, s["resized"])
        good += s["ids"]
    joined = join_labels(table, good, report)

    def rows(df):  # the classifications columns after the item's own, as serially
        if not joined:
            return df
        return pd.DataFrame([{**r, **joined.get(r["id"], {})} for r in df.to_dict("records")])

    with new_folder(out, inputs=files):
        coll = Collection.create(out, {product: ProductSpec(tuple(want), shape, unit, "sky")},
                                 overwrite=overwrite,
                                 description=f"multi-band stamps ({','.join(want)})")
        with coll.appender() as app:
            commit_segments(app, area, [t.key for t in tasks], summaries, kind=kind, rows=rows)
    report.n_items = app.n_added
    area.discard()
