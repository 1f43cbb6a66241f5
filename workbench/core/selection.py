"""One selection shared by plots, the Explorer's map, the Gallery and the Labeler.

>>> from workbench.core.selection import Selection
>>> sel = Selection()
>>> seen = []
>>> _ = sel.observe(seen.append)
>>> sel.set(["b", "a", "b"])
True
>>> sel.ids, seen
(['b', 'a'], [['b', 'a']])
>>> sel.set(["b", "a"])            # the same ids: nobody is told
False

A :class:`Selection` is a small observable holding item ids (strings, in the order they
were given, each once) and one *focus*: the item a person last clicked (the Gallery's open
item, drawn highlighted in the plots). Whoever changes it calls :meth:`Selection.set` (or
:meth:`Selection.set_focus`); everyone observing it is called back with the new value.
Setting the value a selection already holds calls nobody, so two views that follow each
other never loop. Plain Python, no imports beyond the standard library: every layer may
use it; the plots link it to HoloViews streams (:mod:`workbench.plots.link`) and the widgets
to their traitlets, all inside the kernel, so it works over the kernel's comm alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

__all__ = ["Selection"]

_WHATS = ("ids", "focus")


class Selection:
    """Item ids selected together, and the one item in focus.

    Parameters
    ----------
    ids : iterable of str, optional
        The initial selection.
    """

    def __init__(self, ids: Iterable = ()):
        self._ids: tuple[str, ...] = _unique(ids)
        self._focus: str | None = None
        self._observers: dict[str, list[Callable]] = {w: [] for w in _WHATS}
        self._lock = threading.RLock()
        #: Who made the last change (the ``source`` given to :meth:`set`), or None.
        self.source = None

    # ------------------------------------------------------------------ reading
    @property
    def ids(self) -> list[str]:
        """The selected ids (a copy), in selection order."""
        return list(self._ids)

    @property
    def focus(self) -> str | None:
        """The item in focus (last clicked), or None."""
        return self._focus

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self):
        return iter(self._ids)

    def __contains__(self, item_id) -> bool:
        return str(item_id) in set(self._ids)

    def __repr__(self) -> str:
        head = ", ".join(self._ids[:5]) + (", ..." if len(self._ids) > 5 else "")
        return f"Selection({len(self._ids)} ids: [{head}], focus={self._focus!r})"

    # ------------------------------------------------------------------ writing
    def set(self, ids: Iterable, *, source=None) -> bool:
        """Select ``ids`` (replacing the selection). Returns False (and tells nobody) when
        they are the ids already selected, in the same order."""
        new = _unique(ids)
        with self._lock:
            if new == self._ids:
                return False
            self._ids = new
            self.source = source
        self._notify("ids", list(new))
        return True

    def clear(self, *, source=None) -> bool:
        """Select nothing."""
        return self.set((), source=source)

    def set_focus(self, item_id: str | None, *, source=None) -> bool:
        """Put one item in focus (None: none). Returns False when it already is."""
        new = None if item_id is None or item_id == "" else str(item_id)
        with self._lock:
            if new == self._focus:
                return False
            self._focus = new
            self.source = source
        self._notify("focus", new)
        return True

    # ------------------------------------------------------------------ observing
    def observe(self, callback: Callable, what: str = "ids") -> Callable[[], None]:
        """Call ``callback(new)`` after every change of ``what`` (``"ids"``: the list of
        ids; ``"focus"``: the id in focus or None). Returns a function that stops it."""
        if what not in _WHATS:
            raise ValueError(f"a Selection can be observed for {_WHATS}, not {what!r}")
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        with self._lock:
            self._observers[what].append(callback)

        def unobserve() -> None:
            with self._lock:
                if callback in self._observers[what]:
                    self._observers[what].remove(callback)

        return unobserve

    def _notify(self, what: str, value) -> None:
        with self._lock:
            callbacks = list(self._observers[what])
        for cb in callbacks:
            cb(list(value) if isinstance(value, list) else value)


def _unique(ids: Iterable) -> tuple[str, ...]:
    if isinstance(ids, (str, bytes)):
        raise TypeError("give a list of ids, not one string")
    return tuple(dict.fromkeys(str(i) for i in ids))
