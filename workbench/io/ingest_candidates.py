"""Ingest ``your``/FETCH candidate HDF5 files into a transient Collection.

``workbench ingest candidates PATHS... -o OUT``: files, folders (their ``.h5``/``.hdf5``
files) and glob patterns. Each file becomes one item with our ``dm_time`` and ``freq_time``
products and the physical axes of :mod:`workbench.io.fetch_h5`; all files must have the
same image shapes as the first readable one (a Collection has one shape per product).

FETCH's predictions (``results_<model>.csv``: ``candidate`` (the file's path), ``probability``,
``label``) join as columns ``fetch_<model>_probability`` and ``fetch_<model>_label``, matched
by file name (the folders in ``candidate`` are ignored). Which results files: those given
with ``fetch_results`` (``--fetch-results CSV``, repeatable); when none are given, every
``results_*.csv`` lying in the folder of an input file is used. Items without a prediction
get NaN / -1.

Bad input: a file that cannot be read is skipped with its one-line reason
(``errors="skip"``) or stops the ingest with nothing written (``errors="raise"``).

With ``client=`` (CLI ``--workers``/``--scheduler``) the files are read by Dask tasks of
``task_size`` files (:mod:`workbench.io._filterbank_tasks`), with the serial result.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.core.errors import FilterbankError, InputError, WorkbenchError
from workbench.core.kinds import TRANSIENT
from workbench.io._atomic import new_folder
from workbench.io.batching import BatchBuffer
from workbench.io.collection import Collection
from workbench.io.fetch_h5 import read_fetch_h5
from workbench.io.filterbank_pairs import expand
from workbench.io.ingest_fits import IngestReport
from workbench.io.progress import progress_bar
from workbench.io.transient_images import transient_products

__all__ = ["ingest_candidates", "candidate_item", "read_fetch_results", "H5_SUFFIXES"]

H5_SUFFIXES = (".h5", ".hdf5")
_MAX_RESULTS_BYTES = 1 << 28  # a results CSV of 256 MiB is millions of candidates


def candidate_item(path) -> tuple[dict, dict, dict]:
    """One candidate file -> ``(catalog row, images, axes)``: the unit of work (a task of
    its own when run in parallel). Raises :class:`FilterbankError` naming the file."""
    c = read_fetch_h5(path)
    return c.meta, {"dm_time": c.dm_time, "freq_time": c.freq_time}, c.axes


def read_fetch_results(path) -> tuple[str, pd.DataFrame]:
    """A FETCH ``results_<model>.csv`` -> ``(model, table)``; the table is indexed by the
    candidate file name and has ``probability`` (0 .. 1) and ``label`` (0/1) columns.
    ``model`` is the part of the file name after ``results_`` (empty otherwise)."""
    path = Path(path)
    try:
        if os.path.getsize(path) > _MAX_RESULTS_BYTES:
            raise FilterbankError(f"results file is over {_MAX_RESULTS_BYTES >> 20} MiB",
                                  path=path)
        df = pd.read_csv(path, dtype=str)
    except FileNotFoundError:
        raise FilterbankError("no such FETCH results file", path=path) from None
    except (OSError, ValueError, pd.errors.EmptyDataError) as exc:
        raise FilterbankError(f"FETCH results cannot be read ({' '.join(str(exc).split())[:120]})",
                              path=path) from None
    cols = {str(c).strip().lower(): c for c in df.columns}
    missing = [c for c in ("candidate", "probability", "label") if c not in cols]
    if missing:
        raise FilterbankError(f"FETCH results lack column(s) {missing} (columns: "
                              f"{list(df.columns)[:8]})", path=path,
                              hint="FETCH writes candidate,probability,label")
    prob = pd.to_numeric(df[cols["probability"]], errors="coerce")
    label = pd.to_numeric(df[cols["label"]], errors="coerce")
    bad = ~(prob.between(0, 1) & label.isin([0, 1]))
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise FilterbankError(f"row {r} of the FETCH results has probability "
                              f"{df[cols['probability']].iloc[r]!r} and label "
                              f"{df[cols['label']].iloc[r]!r}; expected 0 .. 1 and 0/1",
                              path=path)
    names = df[cols["candidate"]].astype(str).map(
        lambda v: os.path.basename(v.strip().replace("\\", "/")))
    out = pd.DataFrame({"probability": prob.to_numpy(), "label": label.astype(int).to_numpy()},
                       index=pd.Index(names, name="file"))
    out = out[~out.index.duplicated(keep="last")]
    m = re.match(r"^results_([A-Za-z0-9_]{1,40})\.csv$", path.name)
    return (m.group(1) if m else ""), out


def _results_files(files: list[Path], given) -> list[Path]:
    if given:
        return [Path(p) for p in ([given] if isinstance(given, (str, os.PathLike)) else given)]
    found = set()
    for d in {f.parent for f in files}:
        with contextlib.suppress(OSError):
            found |= {d / n for n in os.listdir(d) if n.startswith("results_")
                      and n.endswith(".csv") and (d / n).is_file()}
    return sorted(found)


def ingest_candidates(paths, out, *, errors: str = "skip", overwrite: bool = False,
                      fetch_results=None, batch_size: int = 64,
                      progress: bool | Callable = False, client=None,
                      task_size: int = 64) -> IngestReport:
    """Ingest ``your``/FETCH candidate files (see the module docstring).

    Parameters
    ----------
    paths : path-like, glob pattern, folder, or a list of them
    out : path-like or Collection
        Folder of a new Collection, or an open (r+) one with the same image shapes.
    errors : {"skip", "raise"}
    fetch_results : path-like or list, optional
        FETCH ``results_*.csv`` to join; default: those beside the input files.
    client : distributed.Client, optional
        Run on this Dask cluster: tasks of ``task_size`` files each stage a segment (beside
        ``out``, or in an existing Collection's ``.staging``), committed together at the
        end in one transaction; ids, pixels and catalog are the serial ingest's, and a rerun
        after an interruption skips the tasks already staged (see
        :mod:`workbench.io._filterbank_tasks`). Default: this process, no staging.

    Returns
    -------
    IngestReport
    """
    if errors not in ("skip", "raise"):
        raise InputError(f"errors must be 'raise' or 'skip', not {errors!r}")
    files = expand(paths, H5_SUFFIXES)
    if not files:
        raise FilterbankError("no candidate file given", path=str(paths))
    results = [read_fetch_results(p) for p in _results_files(files, fetch_results)]
    report = IngestReport(path=str(getattr(out, "path", out)))
    given = isinstance(out, Collection)
    seen_ids: set = set(out.ids) if given else set()
    bars: list = []  # started after the first readable file: an early error is one line

    def items():
        """(file, item or None) in order; unreadable files reported here."""
        for k, f in enumerate(files):
            try:
                item = candidate_item(f)
            except WorkbenchError as exc:
                if errors == "raise":
                    raise
                report.skipped.append((str(f), exc.reason))
                item = None
            if item is not None and not bars:
                bars.extend(progress_bar(progress, len(files), unit="file", desc="candidates"))
                bars[0](k)
            if bars:
                bars[0](1)
            yield f, item

    if client is not None:
        return _ingest_on(files, out, results, report, seen_ids, errors=errors,
                          overwrite=overwrite, progress=progress, client=client,
                          task_size=task_size, given=given)
    try:
        it = items()
        first = next(((f, x) for f, x in it if x is not None), None)
        if first is None:
            raise FilterbankError(f"none of the {len(files)} file(s) could be ingested: "
                                  f"{report.skipped[:3]}", path=str(files[0]))
        shape = _shape(first[1][1])
        with contextlib.nullcontext() if given else new_folder(out, inputs=files):
            coll = _target(out, shape, overwrite, given)
            with coll.appender() as app:
                buf = BatchBuffer(app, kind=TRANSIENT, size=batch_size)
                for f, x in itertools.chain([first], it):
                    if x is None:
                        continue
                    meta, images, axes = x
                    if _shape(images) != shape:
                        why = _shape_mismatch(_shape(images), shape)
                        if errors == "raise":
                            raise FilterbankError(why, path=f)
                        report.skipped.append((str(f), why))
                        continue
                    meta["id"] = _unique(str(meta["id"]), seen_ids)
                    _join(meta, f, results)
                    buf.add(meta, images, axes)
                buf.flush()
    finally:
        if bars:
            bars[1]()
    report.n_items = app.n_added
    return _finish(report, shape, files, results)


def _finish(report: IngestReport, shape, files, results) -> IngestReport:
    report.shape = shape[0]
    for model, table in results:
        n = len(table) - sum(1 for f in files if f.name in table.index)
        if n > 0:
            note = f"FETCH results{' of model ' + model if model else ''} for files not ingested"
            report.notes[note] = n
    return report


def _ingest_on(files, out, results, report, seen_ids, *, errors, overwrite, progress, client,
               task_size, given) -> IngestReport:
    """The parallel path: the first readable file (read here, as the serial ingest does)
    sets the shapes; the rest runs as staged tasks (:mod:`workbench.io._filterbank_tasks`)."""
    from workbench.io._filterbank_tasks import ingest_candidates_tasks

    first, shape = 0, None
    while shape is None and first < len(files):
        try:
            shape = _shape(candidate_item(files[first])[1])
        except WorkbenchError as exc:
            if errors == "raise":
                raise
            report.skipped.append((str(files[first]), exc.reason))
            first += 1
    if shape is None:
        raise FilterbankError(f"none of the {len(files)} file(s) could be ingested: "
                              f"{report.skipped[:3]}", path=str(files[0]))
    ingest_candidates_tasks(
        files, out, first=first, shape=shape, errors=errors, overwrite=overwrite,
        progress=progress, client=client, task_size=task_size, report=report,
        seen_ids=seen_ids, join=lambda meta, name: _join(meta, Path(name), results),
        make_target=lambda s: _target(out, s, overwrite, given))
    return _finish(report, shape, files, results)


def _shape(images) -> tuple:
    return tuple(images["dm_time"].shape), tuple(images["freq_time"].shape)


def _shape_mismatch(got, shape) -> str:
    """Why a file's images cannot join the others'."""
    return (f"images are {got[0]} (DM-time) and {got[1]} (freq-time), the others "
            f"{shape[0]} and {shape[1]}")


def _target(out, shape, overwrite, given) -> Collection:
    (n_dm, n_time), (n_freq, _) = shape
    if given:
        want = {k: tuple(v.shape) for k, v in out.products.items()}
        if want.get("dm_time") != (n_dm, n_time) or want.get("freq_time") != (n_freq, n_time):
            raise FilterbankError(f"images are {shape[0]} and {shape[1]}; the Collection's "
                                  f"{want}", path=out.path)
        return out
    return Collection.create(out, transient_products(n_dm, n_time, n_freq), overwrite=overwrite,
                             description="your/FETCH candidate files")


def _unique(name: str, seen: set) -> str:
    out, k = name, 2
    while out in seen:
        out, k = f"{name}~{k}", k + 1
    seen.add(out)
    return out


def _join(meta: dict, f: Path, results) -> None:
    for model, table in results:
        pre = f"fetch_{model}_" if model else "fetch_"
        hit = table.index.get_indexer([f.name])[0]
        meta[pre + "probability"] = float(table["probability"].iloc[hit]) if hit >= 0 else math.nan
        meta[pre + "label"] = int(table["label"].iloc[hit]) if hit >= 0 else -1
