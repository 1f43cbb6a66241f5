"""Buffer items one at a time and hand them to a Collection appender in batches."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["BatchBuffer"]


class BatchBuffer:
    """Collects items (catalog row, images, axes) and calls ``app.add`` every ``size`` items.

    Parameters
    ----------
    app : the object yielded by :meth:`Collection.appender`
    kind : str
        Item kind given to ``app.add``.
    size : int
        Items per batch (each batch is one Zarr segment write).

    Call :meth:`flush` once at the end (the last, partial batch).
    """

    def __init__(self, app, *, kind: str, size: int = 256):
        self.app, self.kind, self.size = app, kind, int(size)
        self._rows: list[dict] = []
        self._images: dict[str, list] = {}
        self._axes: dict[str, list] = {}

    def add(self, row: dict, images: Mapping[str, np.ndarray],
            axes: Mapping[str, object] | None = None) -> None:
        """Add one item: its catalog ``row``, ``images`` (product -> array) and ``axes``
        (product -> descriptor or None)."""
        self._rows.append(row)
        for name, arr in images.items():
            self._images.setdefault(name, []).append(arr)
        for name in images:
            self._axes.setdefault(name, []).append((axes or {}).get(name))
        if len(self._rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        """Append what is buffered (no-op when empty)."""
        if not self._rows:
            return
        self.app.add(pd.DataFrame(self._rows),
                     {k: np.stack(v) for k, v in self._images.items()},
                     {k: list(v) for k, v in self._axes.items()}, kind=self.kind)
        self._rows, self._images, self._axes = [], {}, {}
