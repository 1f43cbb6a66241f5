"""Hide numba's first-call cost: warm the map/cluster kernels in a background thread.

umap-learn, pynndescent, hdbscan and datashader compile numba kernels the first time they run
in a process. With numba's disk cache (on by default next to the installed package, or under
``NUMBA_CACHE_DIR``) the compiled code is reused, but every new kernel still spends
~10-20 s loading and type-specialising them on the first fit (measured in
benchmarks/bench_discover.py). :func:`warm_up` runs tiny fits as a background
:class:`~workbench.core.jobs.Job` (call it at the top of a notebook, as notebooks/07_discover
does), so by the time a user has loaded or trained their embeddings the kernels are ready;
:func:`ensure_cache_dir` points numba at a persistent per-user cache when the package folder
is read-only (e.g. a system-wide install), so compiled code survives kernel restarts.

Compiled kernels belong to the process, so the warm-up Jobs do too: they are kept in
:data:`WARM_UPS` (see :mod:`workbench.core.cache`), one per set of parts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from workbench.core.cache import BoundedCache
from workbench.core.jobs import Job

__all__ = ["warm_up", "ensure_cache_dir", "WARM_UPS", "PARTS"]

#: What :func:`warm_up` can warm.
PARTS = ("umap", "hdbscan", "datashader")

#: The warm-up Jobs of this process, by the sorted tuple of parts they warm (at most 8). They
#: live as long as the process, like the kernels they compile; a Job's result is the seconds
#: each part took (for the benchmark and diagnostics).
WARM_UPS = BoundedCache(8, name="numba warm-ups")


def ensure_cache_dir() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to ``~/.cache/workbench/numba`` when numba could not cache
    next to umap-learn (read-only install) and nothing is set yet; returns the folder used."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return os.environ["NUMBA_CACHE_DIR"]
    try:
        import importlib.util

        spec = importlib.util.find_spec("umap")
        pkg = Path(spec.origin).parent if spec and spec.origin else None
    except (ImportError, ValueError):
        pkg = None
    if pkg is not None and os.access(pkg, os.W_OK):
        return None
    d = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "workbench" / "numba"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(d)
    return str(d)


def _run(parts, progress, cancel) -> dict:
    import warnings

    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 16)).astype(np.float32)
    took = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "umap" in parts and not cancel.is_set():
            t = time.perf_counter()
            from workbench.embed.projection import UMAPMap

            m = UMAPMap(n_neighbors=10, n_epochs=20).fit(X)
            m.transform(X[:8])
            # umap-learn uses exact distances below 4,096 items: compile the descent too
            from workbench.embed.neighbors import knn_graph

            knn_graph(X, 10, exact_below=0)
            took["umap"] = time.perf_counter() - t
            progress({"part": "umap", "seconds": took["umap"]})
        if "hdbscan" in parts and not cancel.is_set():
            t = time.perf_counter()
            from workbench.embed.cluster import HDBSCANClusterer

            HDBSCANClusterer(min_cluster_size=10).fit(X)
            took["hdbscan"] = time.perf_counter() - t
            progress({"part": "hdbscan", "seconds": took["hdbscan"]})
        if "datashader" in parts and not cancel.is_set():
            t = time.perf_counter()
            try:
                import datashader as ds
                import pandas as pd

                df = pd.DataFrame({"x": X[:, 0], "y": X[:, 1], "c": X[:, 2],
                                   "k": pd.Categorical(np.arange(256) % 3)})
                cv = ds.Canvas(plot_width=32, plot_height=32)
                cv.points(df, "x", "y", ds.count())
                cv.points(df, "x", "y", ds.mean("c"))
                cv.points(df, "x", "y", ds.count_cat("k"))
            except ImportError:
                pass
            took["datashader"] = time.perf_counter() - t
            progress({"part": "datashader", "seconds": took["datashader"]})
    return took


def warm_up(*, background: bool = True, parts=("umap", "hdbscan")) -> Job:
    """Compile/load the numba kernels of the map and cluster code (once per process).

    ``parts`` may also name ``"datashader"`` (the Explorer does not need it: it bins points
    with numpy, which has no compile step); see :data:`PARTS`.

    Returns the warm-up :class:`~workbench.core.jobs.Job` (its result: seconds per part),
    started in the background, or finished already with ``background=False`` (which raises
    its error). Asking again for the same parts returns the same Job, finished or not, even
    one that failed or was cancelled (see :data:`WARM_UPS`; its ``clear()`` lets it run again).

    Raises
    ------
    ValueError
        A part not in :data:`PARTS`.
    """
    key = tuple(sorted(set(parts)))
    unknown = [p for p in key if p not in PARTS]
    if unknown:
        raise ValueError(f"warm_up: unknown parts {unknown}; choose from {list(PARTS)}")
    ensure_cache_dir()
    job = WARM_UPS.get_or_make(
        key, lambda: Job(lambda progress, cancel: _run(key, progress, cancel),
                         name="workbench-numba-warmup").start())
    if not background:
        job.result()
    return job
