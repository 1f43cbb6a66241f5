"""The one kind of cache in the package: bounded, least-recently-used, with an owner.

>>> luts = BoundedCache(2, name="colour maps")
>>> luts.get_or_make("gray", lambda: [0, 255])
[0, 255]
>>> "gray" in luts, len(luts)
(True, 1)
>>> luts.clear(); len(luts)
0

Rule (issue 16): library code keeps no hidden process-wide state. A cache is a
:class:`BoundedCache` held by the object that uses it (its lifetime is that object's), or,
where one per process is the point (a Dask worker opening a Collection once for many tasks,
a drawing worker of the campaign server, numba's compiled kernels, matplotlib's colour
maps), a module-level ``BoundedCache`` whose docstring says so: what it holds, its key
(including whatever makes an entry stale, e.g. the Collection's manifest), its bound and that
it lives as long as the process. :meth:`BoundedCache.clear` empties it (tests, or a caller
who knows the data changed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future

__all__ = ["BoundedCache"]

_MISSING = object()


class BoundedCache:
    """A thread-safe mapping of at most ``max_entries`` values; adding one more drops the
    least recently used (read or added) entry.

    Parameters
    ----------
    max_entries : int
        The bound (at least 1).
    name : str
        What it holds, for its repr and errors.
    """

    def __init__(self, max_entries: int, *, name: str = "cache"):
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"{name}: max_entries must be an integer >= 1, not {max_entries!r}")
        self.max_entries = max_entries
        self.name = str(name)
        self._entries: OrderedDict = OrderedDict()
        self._making: dict = {}  # key -> Future of the value being made
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        """The value of ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used entry if full."""
        with self._lock:
            self._put(key, value)

    def _put(self, key, value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], object]):
        """The value of ``key``, made by ``make()`` and kept if missing.

        ``make`` runs in the calling thread, outside the cache's lock: other keys are served
        meanwhile, and a second thread asking for the same key waits for this value rather
        than making it twice. If ``make`` raises, nothing is kept and the waiting threads
        get the same exception.
        """
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is not _MISSING:
                self._entries.move_to_end(key)
                return value
            fut = self._making.get(key)
            mine = fut is None
            if mine:
                fut = self._making[key] = Future()
        if not mine:
            return fut.result()
        try:
            value = make()
        except BaseException as exc:
            with self._lock:
                self._making.pop(key, None)
            fut.set_exception(exc)
            raise
        with self._lock:
            self._making.pop(key, None)
            self._put(key, value)
        fut.set_result(value)
        return value

    def clear(self) -> None:
        """Drop every entry (a value being made meanwhile is kept when it is made)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """Values kept now (made and not yet dropped)."""
        with self._lock:
            return len(self._entries)

    def __contains__(self, key) -> bool:
        """Whether ``key`` is kept or being made now (so a prefetch need not ask again)."""
        with self._lock:
            return key in self._entries or key in self._making

    def __repr__(self) -> str:
        return f"BoundedCache({self.name!r}, {len(self)}/{self.max_entries} entries)"
