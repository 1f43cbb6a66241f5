"""Items drawn in worker processes, so that the campaign server's one interpreter keeps its
time for requests.

Drawing an item (:func:`workbench.server.payload.render_item`: WCS, stretch, contours, PNG)
costs tens of milliseconds of mostly Python, once per item and campaign; a server labelling
at full speed spends a quarter of its interpreter on it. :class:`RenderPool` draws in
``processes`` separate interpreters (started with ``spawn``: no state of the server is
copied) that open the Collection read-only themselves and send back the images as JSON
text, exactly what :func:`render_item` makes in the server. Nothing but the Collection's
folder, the campaign's shown columns, its scheme's name and version and the item id goes
to a worker.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import SimpleNamespace

from workbench.core.cache import BoundedCache

__all__ = ["RenderPool", "WORKER_COLLECTIONS", "worker_collection"]

#: In a worker process: Collections it opened read-only, with their ComponentMaps, keyed by
#: folder and the manifest's bytes (a commit, e.g. items appended, opens it afresh). At most
#: 4 (a server serves few Collections at once); lives as long as the worker process.
WORKER_COLLECTIONS = BoundedCache(4, name="Collections opened by a drawing worker")


def worker_collection(folder: str):
    """``(Collection, ComponentMaps)`` of the Collection at ``folder`` as it is now, opened
    once per process and manifest (see :data:`WORKER_COLLECTIONS`)."""
    from workbench.io._manifest import MANIFEST

    try:
        manifest = hashlib.sha256((Path(folder) / MANIFEST).read_bytes()).hexdigest()
    except OSError:
        manifest = None  # opening it below reports the problem

    def make():
        from workbench.io.collection import open as open_collection
        from workbench.labeling.components import ComponentMaps

        coll = open_collection(folder)
        return coll, ComponentMaps(coll)

    return WORKER_COLLECTIONS.get_or_make((str(folder), manifest), make)


def _render_json(folder: str, show, scheme: str, version: int, item_id: str) -> str:
    """In a worker: the images of ``item_id`` as JSON text (see the module docstring)."""
    from workbench.core.blind import shown_columns
    from workbench.core.schemes import get_scheme
    from workbench.server.payload import render_item

    coll, maps = worker_collection(folder)
    campaign = SimpleNamespace(
        shown_columns=lambda cols: shown_columns(cols, show, campaign=True),
        scheme=get_scheme(scheme, version))
    return json.dumps(render_item(coll, campaign, item_id, maps=maps), allow_nan=False)


class RenderPool:
    """Draws items in ``processes`` worker processes (see the module docstring).

    :meth:`render_json` returns None when the workers are gone (a worker died): the caller
    then draws in its own process.
    """

    def __init__(self, processes: int = 1):
        self.processes = max(1, int(processes))
        self._pool = None
        self._broken = False
        self._lock = threading.Lock()

    def _executor(self):
        with self._lock:
            if self._pool is None and not self._broken:
                self._pool = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def render_json(self, coll, campaign, item_id: str) -> str | None:
        """The images of ``item_id`` of ``campaign`` (a :class:`Campaign`) as JSON text,
        drawn by a worker; None when the workers are gone."""
        pool = self._executor()
        if pool is None:
            return None
        try:
            return pool.submit(_render_json, str(coll.path), campaign.show_columns,
                               campaign.scheme_name, int(campaign.scheme_version),
                               str(item_id)).result()
        except BrokenProcessPool:
            with self._lock:
                self._broken = True
            return None

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool, self._broken = self._pool, None, True
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
