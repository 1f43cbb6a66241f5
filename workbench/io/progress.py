"""One progress reporter for every long job (ingest, simulate, embed, train)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["progress_bar"]


def progress_bar(progress: bool | Callable[[int], object], total: int, *, unit: str = "item",
                 desc: str = "") -> tuple[Callable[[int], object], Callable[[], None]]:
    """``(update, close)`` for a job of ``total`` steps.

    ``progress`` is False (silent), True (a tqdm bar on stderr) or a callable that receives
    the number of steps just done (e.g. a widget's progress handler).
    """
    if callable(progress):
        return progress, lambda: None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit=unit, desc=desc or None)
        return bar.update, bar.close
    return (lambda n: None), (lambda: None)
