"""The parallel path of :func:`workbench.io.ingest_mosaic.ingest_mosaic` (``client=`` given).

The catalogue rows inside the mosaic are cut into tasks of ``task_size`` rows in catalogue
order. Each task opens the mosaic memory-mapped on its worker, cuts its stamps exactly as the
serial ingest does (:func:`~workbench.io.ingest_mosaic._cut_rows`) and stages one segment
beside ``out`` (:mod:`workbench.io._staging`); the client commits them in catalogue order in
one transaction. Ids come from the catalogue (known before any task runs), so the result
equals a serial ingest's. A rerun after an interruption skips the tasks already staged.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from workbench.core import errors as _errors
from workbench.core.errors import CatalogError, InputError, WorkbenchError
from workbench.io._appender import write_segment
from workbench.io._atomic import new_folder
from workbench.io._staging import StagingArea, file_identity, task_key
from workbench.io.distributed import Task, commit_segments, run_staged

__all__ = ["ingest_mosaic_tasks", "mosaic_task"]

_VERSION = 1


def mosaic_task(root: str, key: str, image: str, hdu, channel, rows_i: list, pos: dict,
                n: int, carry: dict, beam, product: str, errors: str) -> dict:
    """Cut the stamps of catalogue rows ``rows_i`` (positions ``pos``: name -> {row:
    value}) and stage the segment ``key``; a failure with ``errors="raise"`` comes back as
    ``{"error": ...}`` (not retried: the client raises it)."""
    from astropy.nddata import Cutout2D

    from workbench.io.ingest_mosaic import _cut_rows, open_mosaic

    with open_mosaic(image, hdu=hdu, channel=channel) as mos:
        fill = np.nan if mos.data.dtype.kind == "f" else 0
        try:
            rows, stamps, axes, skipped, n_edge = _cut_rows(
                Cutout2D, mos, image, rows_i, pos["x"], pos["y"], pos["ra"], pos["dec"],
                pos["id"], n, fill, carry, beam, errors)
        except WorkbenchError as err:
            return {"error": [type(err).__name__, err.reason, err.path, err.hint]}
    area = StagingArea(root)
    with area.writing(key) as seg:
        if rows:
            arr = np.stack(stamps).astype(np.float32, copy=False)[:, None]
            write_segment(seg.path, {product: arr}, {product: axes}, [product], len(rows))
            pd.DataFrame(rows).to_parquet(seg.path / "rows.parquet", index=False)
        seg.summary = {"n": len(rows), "skipped": skipped, "n_edge": n_edge}
    return area.summary(key)


def _digest(values: dict) -> str:
    """SHA-256 of a task's catalogue values (for its key)."""
    h = hashlib.sha256()
    for name in sorted(values):
        h.update(name.encode())
        h.update(repr(sorted(values[name].items())).encode())
    return h.hexdigest()[:32]


def ingest_mosaic_tasks(image, out, *, catalog, cat_path, keep, x, y, ra, dec, ids, n: int,
                        carry: dict, beam, spec, product: str, kind: str, hdu, channel,
                        errors: str, overwrite: bool, progress, client, task_size: int,
                        report) -> None:
    """Fill ``report`` by cutting the rows ``keep`` through staged tasks (see the module)."""
    from pathlib import Path

    from workbench.io.collection import Collection

    area = StagingArea.beside(out)
    tasks = []
    step = max(1, int(task_size))
    for a in range(0, len(keep), step):
        rows_i = [int(i) for i in keep[a:a + step]]
        pos = {"x": {i: float(x[i]) for i in rows_i}, "y": {i: float(y[i]) for i in rows_i},
               "ra": {i: float(ra[i]) for i in rows_i},
               "dec": {i: float(dec[i]) for i in rows_i},
               "id": {i: str(ids[i]) for i in rows_i}}
        sub = {name: {i: col[i] for i in rows_i} for name, col in carry.items()}
        key = task_key("mosaic", _VERSION, file_identity(image), hdu, channel, n, product,
                       errors, list(beam), _digest(pos), _digest(sub))
        tasks.append(Task(key, mosaic_task, (str(image), hdu, channel, rows_i, pos, n, sub,
                                             list(beam), product, errors), len(rows_i)))
    summaries = run_staged(tasks, area, client=client, progress=progress, desc="mosaic",
                           unit="stamp")
    for s in summaries:
        if "error" in s:
            cls = getattr(_errors, s["error"][0], InputError)
            raise cls(s["error"][1], path=s["error"][2], hint=s["error"][3])
    for s in summaries:
        report.skipped += s["skipped"]
        report.n_edge += int(s["n_edge"])
    if not any(s["n"] for s in summaries):
        raise CatalogError(f"no stamp could be cut from the mosaic {image}: "
                           f"{report.skipped[0]['reason'] if report.skipped else ''}",
                           path=cat_path)
    with new_folder(out, inputs=[image, catalog]):
        coll = Collection.create(out, {product: spec}, overwrite=overwrite,
                                 description=f"stamps of {Path(image).name}")
        with coll.appender() as app:
            commit_segments(app, area, [t.key for t in tasks], summaries, kind=kind)
        report.n_items = app.n_added
    area.discard()
