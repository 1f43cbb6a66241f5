"""One labeling :class:`~workbench.labeling.Session` per annotator and campaign, kept in memory.

The session holds only the step state of the item being labelled (everything that matters
is in the label store, drafts included), so a server restart loses nothing: a new session
reopens the annotator's claimed item and drafts. Session calls touch the store and the
Collection, so they run in a thread pool, never on the server's event loop; calls of one
annotator are serialised by a per-session lock, in the order they arrived.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

__all__ = ["SessionPool"]


@dataclass
class _Entry:
    session: object
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    used: float = field(default_factory=time.monotonic)


class SessionPool:
    """Sessions by ``(campaign key, annotator)``, built on first use.

    Parameters
    ----------
    registry : Registry
        Where campaigns, Collections and stores come from.
    workers : int
        Threads that run session calls.
    idle_seconds : float
        A session unused this long is dropped (its drafts stay in the store).
    items : ItemCache, optional
        Items and component maps shared by the sessions
        (:class:`workbench.server.items.ItemCache`; default: one of this pool's own).
    """

    def __init__(self, registry, *, workers: int = 8, idle_seconds: float = 3600.0,
                 items=None):
        from workbench.server.items import ItemCache

        self.registry = registry
        self.items = items if items is not None else ItemCache()
        self.executor = ThreadPoolExecutor(max_workers=int(workers),
                                           thread_name_prefix="workbench-campaign")
        self.idle_seconds = float(idle_seconds)
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._building: dict[tuple[str, str], asyncio.Lock] = {}

    async def run(self, fn, *args):
        """``fn(*args)`` in the pool's threads."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _build(self, ref, annotator: str):
        from workbench.labeling import Session

        coll = self.registry.collection(ref)
        store = self.registry.store(ref)
        # the campaign object, the items and the component maps are the server's, shared
        return Session(coll, store, None, campaign=self.registry.campaign(ref),
                       annotator=annotator, autosave=False, loader=self.items.loader(coll),
                       maps=self.items.maps(coll), ids=self.items.ids(coll))

    async def entry(self, ref, annotator: str) -> _Entry:
        """The session entry of ``annotator`` in campaign ``ref`` (built if needed)."""
        key = (ref.key, annotator)
        e = self._entries.get(key)
        if e is None:
            lock = self._building.setdefault(key, asyncio.Lock())
            async with lock:
                e = self._entries.get(key)
                if e is None:
                    self._evict()
                    session = await self.run(self._build, ref, annotator)
                    e = self._entries[key] = _Entry(session)
            self._building.pop(key, None)
        e.used = time.monotonic()
        return e

    def _evict(self) -> None:
        cutoff = time.monotonic() - self.idle_seconds
        for k in [k for k, e in self._entries.items()
                  if e.used < cutoff and not e.lock.locked()]:
            del self._entries[k]

    def shutdown(self) -> None:
        """Stop the threads (pending calls finish first)."""
        self.executor.shutdown(wait=True)
