"""The parallel paths (``client=`` given) of the transient ingesters:
:func:`workbench.io.ingest_filterbank.ingest_filterbank` and
:func:`workbench.io.ingest_candidates.ingest_candidates`.

Filterbanks: one task per filterbank and its candidate list (a
:class:`~workbench.io.filterbank_pairs.Pair`), running the serial unit of work
:func:`~workbench.io.ingest_filterbank.filterbank_items` on its worker and staging the items
as one segment. Candidate files: tasks of ``task_size`` ``.h5`` files in input order, each
reading its files with :func:`~workbench.io.ingest_candidates.candidate_item`. Every task's
key is made from its inputs (path, size, modification time) and the imaging parameters, so
a rerun after an interruption skips what is staged (:mod:`workbench.io.distributed`). The
client then commits the segments in input order in one manifest transaction, giving the
ids, pixels and catalog a serial ingest gives: ids that depend on all items (candidate
files sharing an id get ``~2``, ...) and the FETCH results columns are settled on the client
at commit.

A task that meets an error with ``errors="raise"`` returns it instead of staging anything
(it is not retried); the client raises the first such error in input order, as the serial
ingest would, and writes nothing.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd

from workbench.core import errors as _errors
from workbench.core.errors import FilterbankError, WorkbenchError
from workbench.core.kinds import TRANSIENT
from workbench.io._appender import write_segment
from workbench.io._staging import StagingArea, file_identity, task_key
from workbench.io.distributed import Task, commit_segments, run_staged

__all__ = ["filterbank_task", "candidates_task", "ingest_filterbank_tasks",
           "ingest_candidates_tasks"]

#: Version of what a task writes; part of every key, so a change never reuses old segments.
_VERSION = 1
_PRODUCTS = ["dm_time", "freq_time"]


def _recorded(err: WorkbenchError) -> dict:
    return {"error": [type(err).__name__, err.reason, err.path, err.hint]}


def _raise_first(summaries: list[dict]) -> None:
    """Raise the first error a task recorded (input order)."""
    for s in summaries:
        if "error" in s:
            name, reason, path, hint = s["error"]
            cls = getattr(_errors, name, None)
            if not (isinstance(cls, type) and issubclass(cls, WorkbenchError)):
                cls = FilterbankError
            raise cls(reason, path=path, hint=hint)


def _stage(area: StagingArea, key: str, items: list, summary: dict) -> dict:
    """Write ``items`` ((row, images, axes) each) as the segment ``key``."""
    with area.writing(key) as seg:
        if items:
            arrays, axes = {}, {}
            for name in _PRODUCTS:
                arr = np.stack([im[name] for _, im, _ in items]).astype(np.float32, copy=False)
                arrays[name] = arr[:, None] if arr.ndim == 3 else arr
                axes[name] = [(ax or {}).get(name) for _, _, ax in items]
            write_segment(seg.path, arrays, axes, _PRODUCTS, len(items))
            pd.DataFrame([row for row, _, _ in items]).to_parquet(seg.path / "rows.parquet",
                                                                  index=False)
        seg.summary = {"n": len(items), **summary}
    return area.summary(key)


def _discard(area: StagingArea, tasks: list, given: bool) -> None:
    """Remove what this job staged (the whole area beside a new Collection)."""
    if given:
        area.discard([t.key for t in tasks])
    else:
        area.discard()


def _staging_for(out) -> StagingArea:
    from workbench.io.collection import Collection

    if isinstance(out, Collection):
        return StagingArea.of_collection(out.path)
    return StagingArea.beside(out)


# ---------------------------------------------------------------------- filterbanks
def filterbank_task(root: str, key: str, pair, params, errors: str,
                    collection: str | None) -> dict:
    """Image every candidate of ``pair`` (:func:`filterbank_items`) and stage them as the
    segment ``key``; ``collection``: the folder of the Collection appended to (its catalog
    columns are checked against the list's, as the serial ingest does)."""
    from workbench.io.ingest_filterbank import _check_columns_fit, _reason, filterbank_items

    check = None
    if collection is not None:
        from workbench.io.collection import Collection

        coll = Collection(collection, "r")
        check = (lambda t, names, s: _check_columns_fit(coll, t, names, s))  # noqa: E731
    skipped: list = []
    notes: dict = {}
    items = []
    try:
        for item in filterbank_items(pair, params, errors=errors, skipped=skipped, notes=notes,
                                     check_table=check):
            items.append(item)
    except WorkbenchError as err:
        return _recorded(err)
    except Exception as exc:  # noqa: BLE001 -- the serial ingest reports any failure so
        return _recorded(FilterbankError(
            f"the candidates of {os.path.basename(str(pair.fil))} could not be ingested "
            f"({_reason(exc)})", path=str(pair.fil)))
    try:
        return _stage(StagingArea(root), key, items,
                      {"skipped": [list(s) for s in skipped], "notes": notes,
                       "n_cands": len(items) + len(skipped)})
    except Exception as exc:  # noqa: BLE001 -- e.g. a column of text and numbers
        return _recorded(FilterbankError(
            f"the candidates could not be stored ({_reason(exc)})",
            path=str(pair.candidates) if not isinstance(pair.candidates, pd.DataFrame)
            else str(pair.fil), hint="nothing was written; check the candidate list's columns"))


def _frame_digest(df: pd.DataFrame) -> str:
    h = hashlib.sha256(repr(list(df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()[:32]


def _pair_key(pair, params, errors: str, collection: str | None) -> str:
    cands = pair.candidates
    cands = (["frame", _frame_digest(cands)] if isinstance(cands, pd.DataFrame)
             else file_identity(cands))
    mask = params.mask
    if isinstance(mask, np.ndarray):
        mask = np.asarray(mask, bool).astype(int).tolist()
    par = {k: getattr(params, k) for k in ("n_dm", "n_time", "n_freq", "dm_factor",
                                           "min_dm_span", "width_unit", "max_window")}
    return task_key("filterbank", _VERSION, file_identity(pair.fil), cands, pair.file_name,
                    pair.id_stem, par, mask, errors, collection)


def ingest_filterbank_tasks(pairs: list, out, *, params, errors: str, overwrite: bool,
                            progress, client, report, describe: str, inputs: list,
                            src: str) -> None:
    """Fill ``report`` by ingesting ``pairs`` through staged tasks (see the module)."""
    import contextlib

    from workbench.io._atomic import new_folder
    from workbench.io.collection import Collection
    from workbench.io.transient_images import transient_products

    given = isinstance(out, Collection)
    collection = str(out.path) if given else None
    area = _staging_for(out)
    tasks = [Task(_pair_key(p, params, errors, collection), filterbank_task,
                  (p, params, errors, collection), 1) for p in pairs]
    summaries = run_staged(tasks, area, client=client, progress=progress,
                           desc="filterbanks", unit="file")
    _raise_first(summaries)
    n_cands = 0
    for s in summaries:
        report.skipped += [tuple(x) for x in s["skipped"]]
        for k, v in s["notes"].items():
            report.notes[k] = report.notes.get(k, 0) + v
        n_cands += int(s["n_cands"])
    if not any(s["n"] for s in summaries):
        _discard(area, tasks, given)
        raise FilterbankError(f"none of the {n_cands} candidate(s) could be ingested: "
                              f"{report.skipped[:3]}", path=src)
    with contextlib.nullcontext() if given else new_folder(out, inputs=inputs):
        coll = out if given else Collection.create(
            out, transient_products(params.n_dm, params.n_time, params.n_freq),
            overwrite=overwrite, description=f"transient candidates from {describe}")
        try:
            with coll.appender() as app:
                commit_segments(app, area, [t.key for t in tasks], summaries, kind=TRANSIENT)
        except WorkbenchError:
            raise
        except Exception as exc:  # noqa: BLE001 -- as the serial ingest: e.g. column types
            from workbench.io.ingest_filterbank import _reason

            raise FilterbankError(f"the candidates could not be stored in {report.path} "
                                  f"({_reason(exc)})", path=src,
                                  hint="nothing was written; check the candidate list's "
                                       "columns") from exc
    report.n_items = app.n_added
    _discard(area, tasks, given)


# ---------------------------------------------------------------------- candidate files
def candidates_task(root: str, key: str, files: list, shape: list, errors: str) -> dict:
    """Read the candidate files ``files`` (:func:`candidate_item`), keep those whose image
    shapes are ``shape`` and stage them as the segment ``key``."""
    from workbench.io.ingest_candidates import _shape, _shape_mismatch, candidate_item

    shape = tuple(tuple(s) for s in shape)
    items, names, skipped = [], [], []
    for f in files:
        try:
            item = candidate_item(f)
        except WorkbenchError as err:
            if errors == "raise":
                return _recorded(err)
            skipped.append([str(f), err.reason])
            continue
        if _shape(item[1]) != shape:
            why = _shape_mismatch(_shape(item[1]), shape)
            if errors == "raise":
                return _recorded(FilterbankError(why, path=f))
            skipped.append([str(f), why])
            continue
        items.append(item)
        names.append(os.path.basename(str(f)))
    return _stage(StagingArea(root), key, items, {"skipped": skipped, "files": names})


def ingest_candidates_tasks(files: list, out, *, first: int, shape: tuple, errors: str,
                            overwrite: bool, progress, client, task_size: int, report,
                            seen_ids: set, join, make_target) -> None:
    """Fill ``report`` by ingesting ``files[first:]`` (``files[first]`` is the first
    readable one, giving ``shape``) through staged tasks (see the module); ``join(meta,
    name)`` adds the FETCH results columns, ``make_target(shape)`` the Collection."""
    import contextlib

    from workbench.io._atomic import new_folder
    from workbench.io.collection import Collection
    from workbench.io.ingest_candidates import _unique

    given = isinstance(out, Collection)
    area = _staging_for(out)
    todo = [str(f) for f in files[first:]]
    step = max(1, int(task_size))
    tasks = []
    for a in range(0, len(todo), step):
        chunk = todo[a:a + step]
        key = task_key("candidates", _VERSION, [file_identity(f) for f in chunk],
                       [list(s) for s in shape], errors)
        tasks.append(Task(key, candidates_task, (chunk, [list(s) for s in shape], errors),
                          len(chunk)))
    summaries = run_staged(tasks, area, client=client, progress=progress, desc="candidates",
                           unit="file")
    _raise_first(summaries)
    for s in summaries:
        report.skipped += [tuple(x) for x in s["skipped"]]
    names = iter([s["files"] for s in summaries if s["n"]])

    def rows(df):  # ids unique over all items in input order, FETCH columns by file name
        df["id"] = [_unique(str(i), seen_ids) for i in df["id"]]
        metas = df.to_dict("records")
        for meta, name in zip(metas, next(names)):
            join(meta, name)
        return pd.DataFrame(metas, columns=list(dict.fromkeys(k for m in metas for k in m)))

    with contextlib.nullcontext() if given else new_folder(out, inputs=files):
        coll = make_target(shape)
        with coll.appender() as app:
            commit_segments(app, area, [t.key for t in tasks], summaries, kind=TRANSIENT,
                            rows=rows)
    report.n_items = app.n_added
    _discard(area, tasks, given)
