"""Run a job's tasks on Dask (dask.distributed), each writing a staged segment.

The heavy steps (ingest, embed, predict) split their work into tasks over input files or
Zarr chunks. :func:`run_staged` runs them:

* with ``client=None`` in this process, one after the other (what ``--workers``/
  ``--scheduler`` left out means: as before, no cluster);
* with a :class:`distributed.Client` on its workers: every task is submitted with
  ``retries=2`` (a task whose worker dies is rerun elsewhere; one that raises is retried
  twice, then the job stops with its error) and a progress bar counts items per second.

Every task writes its result as one segment of a :class:`~workbench.io._staging.StagingArea`
under a key made from its inputs and parameters (:func:`~workbench.io._staging.task_key`);
tasks whose segment is already complete (a run interrupted after they finished) are not run
again. The caller then commits all segments in one manifest transaction.

:func:`open_client` makes the client the CLI's ``--scheduler ADDRESS`` / ``--workers N``
ask for. The Collection's folder must be on a file system every worker sees (a laptop's
disk for a LocalCluster; the shared file system of an HPC cluster).

Adding Dask to another ingester takes a task function and a commit:

>>> def my_task(staging_root, key, inputs, params):          # doctest: +SKIP
...     with StagingArea(staging_root).writing(key) as seg:
...         rows, images, axes = read(inputs, params)         # the per-input work
...         write_segment(seg.path, images, axes, products, len(rows))
...         pd.DataFrame(rows).to_parquet(seg.path / "rows.parquet")
...         seg.summary = {"n": len(rows)}
...     return StagingArea(staging_root).summary(key)
>>> tasks = [Task(task_key("my", file_identity(f), params), my_task, (f, params), 1)
...          for f in files]                                  # doctest: +SKIP
>>> summaries = run_staged(tasks, area, client=client)        # doctest: +SKIP
>>> with new_folder(out):                                      # doctest: +SKIP
...     coll = Collection.create(out, products)
...     with coll.appender() as app:                          # one manifest transaction
...         commit_segments(app, area, [t.key for t in tasks], summaries, kind=kind)
>>> area.discard()                                            # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from workbench.core.cache import BoundedCache
from workbench.core.errors import InputError
from workbench.io._staging import DONE, StagingArea
from workbench.io.progress import progress_bar

__all__ = ["Task", "run_staged", "commit_segments", "open_client", "client_workers", "RETRIES",
           "chunk_blocks", "open_rows", "OPEN_COLLECTIONS", "write_values", "read_values", "ids_digest"]

#: How often Dask reruns a failed task before the job stops.
RETRIES = 2


@dataclass
class Task:
    """One unit of work: ``fn(staging_root, key, *args)`` writes the segment ``key`` and
    returns its summary (a JSON-safe dict). ``n``: items it covers (for the progress bar).
    ``fn`` must be a module-level function (workers import it)."""

    key: str
    fn: Callable
    args: tuple
    n: int = 1


def _dask():
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - installed with the lab extra
        raise InputError("running on a Dask cluster needs dask.distributed",
                         hint="pip install 'dask[distributed]' (part of workbench[lab])") from exc
    return distributed


@contextlib.contextmanager
def open_client(client=None, *, scheduler: str | None = None,
                workers: int | None = None) -> Iterator[object | None]:
    """The client a job runs on: ``client`` if given; a client of the scheduler at
    ``scheduler`` (an address such as ``tcp://host:8786``, or a scheduler file written by
    ``dask scheduler --scheduler-file``); a new LocalCluster of ``workers`` processes of
    one thread each (closed at the end); or None (run in this process)."""
    if client is not None or (scheduler is None and workers is None):
        yield client
        return
    if scheduler is not None and workers is not None:
        raise InputError("give either a scheduler address or a number of workers, not both")
    distributed = _dask()
    if scheduler is not None:
        kw = ({"scheduler_file": scheduler} if str(scheduler).endswith(".json")
              and os.path.isfile(scheduler) else {"address": scheduler})
        try:
            c = distributed.Client(**kw)  # waits distributed.comm.timeouts.connect (30 s)
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler {scheduler} ({exc})",
                             hint="start one with `dask scheduler`, or use --workers N") from exc
        try:
            yield c
        finally:
            c.close()
        return
    if int(workers) < 1:
        raise InputError(f"--workers must be at least 1 (got {workers})")
    import dask

    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    env.pop("MALLOC_TRIM_THRESHOLD_", None)  # see _tune_malloc
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        cluster = distributed.LocalCluster(n_workers=int(workers), threads_per_worker=1,
                                           processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


#: glibc's mallopt parameters, and the values a task process gets (see :func:`_tune_malloc`).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES, _MMAP_BYTES = 128 * 2**20, 32 * 2**20
_TUNED = []


def _tune_malloc() -> None:
    """Undo, in a worker process, the ``MALLOC_TRIM_THRESHOLD_=65536`` a Dask nanny sets.

    Setting that variable switches off glibc's adaptive mmap threshold, so every array over
    128 kB is mapped and unmapped afresh: the encoder ran 2.3x slower per image in such a
    worker than in a plain process (measured, 64 x 64 stamps). A worker that runs our tasks
    gets fixed thresholds instead (arrays under 32 MiB from the heap; up to 128 MiB of free
    heap kept): the speed of a plain process, at the cost of returning memory to the
    system a little later. Once per process, glibc only; elsewhere nothing happens."""
    if _TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _TUNED.append(True)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)
    except (OSError, AttributeError):
        pass


def _call(fn, *args):
    """What a worker runs for a :class:`Task`."""
    _tune_malloc()
    return fn(*args)


def client_workers(client) -> int:
    """Number of workers a client's cluster has now (1 without a client)."""
    if client is None:
        return 1
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


def run_staged(tasks: list[Task], area: StagingArea, *, client=None,
               progress: bool | Callable = False, desc: str = "", unit: str = "item",
               ) -> list[dict]:
    """Run ``tasks`` (skipping those already complete in ``area``); their summaries, in
    the order of ``tasks``. The first task error stops the job (the others are cancelled;
    what they staged stays for a rerun)."""
    area.prepare()
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("two tasks share a key")
    bar, close = progress_bar(progress, sum(t.n for t in tasks), unit=unit, desc=desc)
    out: dict[str, dict] = {}
    todo = []
    for t in tasks:
        if area.is_complete(t.key):
            out[t.key] = area.summary(t.key)
            bar(t.n)
        else:
            todo.append(t)
    try:
        if client is None:
            for t in todo:
                out[t.key] = t.fn(str(area.root), t.key, *t.args)
                bar(t.n)
        else:
            out.update(_run_on(client, todo, area, bar))
    finally:
        close()
    return [out[k] for k in keys]


def _run_on(client, todo: list[Task], area: StagingArea, bar) -> dict[str, dict]:
    distributed = _dask()
    by_key = {}
    futures = []
    for t in todo:
        f = client.submit(_call, t.fn, str(area.root), t.key, *t.args,
                          key=f"workbench-{t.key}", retries=RETRIES, pure=False)
        by_key[f.key] = t
        futures.append(f)
    out = {}
    try:
        for f in distributed.as_completed(futures):
            t = by_key[f.key]
            out[t.key] = f.result()  # raises the task's error (after its retries)
            bar(t.n)
            f.release()
    except BaseException:
        client.cancel(futures)
        raise
    return out


def commit_segments(app, area: StagingArea, keys: list[str], summaries: list[dict], *,
                    kind: str | None, rows=None) -> None:
    """Add the staged item segments ``keys`` (in this order: it is the items' order) to the
    appender ``app`` of a ``coll.appender()`` block, which commits them in one manifest
    transaction. Each segment holds ``rows.parquet`` (catalog rows) and the files of
    :func:`~workbench.io._appender.write_segment`; ``summaries[i]["n"]`` is its item count
    (0: nothing to add). ``rows(df)``: optional, returns the rows to store (e.g. with ids
    given by a rule over all items, in order)."""
    import pandas as pd

    for key, s in zip(keys, summaries):
        if not s.get("n"):
            continue
        seg = area.path(key)
        df = pd.read_parquet(seg / "rows.parquet")
        if rows is not None:
            df = rows(df)
        for extra in ("rows.parquet", DONE):
            (seg / extra).unlink()
        app.add_staged(seg, df, kind=kind)


# ---------------------------------------------------------------------- derived values
def chunk_blocks(coll, product: str, target: int = 4096) -> list:
    """The items of ``coll`` (a Collection or a view) as blocks of absolute rows, each
    block whole Zarr chunks of ``product`` (so no chunk is read by two tasks) joined up to
    about ``target`` items; view order is kept."""
    import numpy as np

    root = coll.root
    rows = np.asarray(coll.rows, dtype=np.int64)
    if not len(rows):
        return []
    bounds, acc = [], 0
    for s in root._manifest["segments"]:
        n = int(s["n"])
        if n:
            step = int(root._zarr(s["name"], product).chunks[0])
            bounds.extend(range(acc, acc + n, step))
        acc += n
    chunk = np.searchsorted(np.asarray(bounds, dtype=np.int64), rows, side="right")
    cuts = np.flatnonzero(np.diff(chunk)) + 1  # where a run of one chunk ends
    blocks, cur, size = [], [], 0
    for run in np.split(rows, cuts):
        cur.append(run)
        size += len(run)
        if size >= target:
            blocks.append(np.concatenate(cur))
            cur, size = [], 0
    if cur:
        blocks.append(np.concatenate(cur))
    return blocks


#: In each process (a Dask worker, or the client running tasks itself): the Collection
#: :func:`open_rows` opened last, with its catalog joined, keyed by its folder and the
#: whole manifest (so any commit opens it afresh). One entry: a worker's tasks read one
#: Collection at a time. Lives as long as the process; ``.clear()`` drops it.
OPEN_COLLECTIONS = BoundedCache(1, name="Collections opened by open_rows")


def open_rows(path, rows):
    """A read-only view of the Collection at ``path`` holding absolute ``rows`` (the
    Collection is opened, and its catalog joined, once per process and manifest: see
    :data:`OPEN_COLLECTIONS`)."""
    from workbench.io import _manifest
    from workbench.io.collection import Collection

    m = _manifest.load(path)
    key = (str(path), json.dumps(m, sort_keys=True))

    def make():
        root = Collection(path, "r")
        root._full_catalog()  # joined once here, shared by every view below
        return root

    return OPEN_COLLECTIONS.get_or_make(key, make).view_of_rows(rows)


def ids_digest(ids) -> str:
    """SHA-256 (32 hex digits) of a list of ids, for task keys."""
    import hashlib

    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()[:32]


def write_values(folder, arr) -> None:
    """Stage a block of derived values (rows = items) as ``values.zarr`` in ``folder``."""
    import numpy as np
    import zarr

    arr = np.ascontiguousarray(arr)
    z = zarr.create_array(store=str(folder / "values.zarr"), shape=arr.shape, dtype=arr.dtype,
                          chunks=tuple(max(1, s) for s in arr.shape))
    z[...] = arr


def read_values(area: StagingArea, keys: list[str], n_rows: list[int]):
    """The staged ``values.zarr`` of ``keys``, checked (row counts) and stacked in order."""
    import numpy as np

    from workbench.io import _stores

    parts = []
    for k, n in zip(keys, n_rows):
        p = area.path(k) / "values.zarr"
        z = _stores.open_zarr(p, f"staged values {k}")
        if z.shape[0] != n:
            from workbench.core.errors import CollectionError

            raise CollectionError(f"staged values hold {z.shape[0]} rows, expected {n}", path=p)
        parts.append(np.asarray(z[...]))
    return np.concatenate(parts) if parts else None
