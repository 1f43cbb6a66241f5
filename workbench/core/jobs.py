"""Background jobs: the one small class for long work that must not block a kernel's widgets.

>>> job = Job(lambda progress, cancel: sum(range(10))).start()
>>> job.result(timeout=5)
45

A :class:`Job` runs ``work(progress, cancel)`` in a daemon thread. ``work`` reports with
``progress(record)`` (any dict; the latest is :attr:`Job.progress`, and listeners added with
:meth:`Job.on_progress` are called with each, from the worker thread) and should stop soon
after ``cancel`` (a :class:`threading.Event`) is set. Listeners added with :meth:`Job.on_done`
are called once with the job when it is done (from the worker thread, after ``done`` became
True, so they may call :meth:`Job.result` without blocking; at once if it already is). States:

=============  ==============================================================================
not started    ``started``, ``running`` and ``done`` are False; :meth:`Job.result` raises
running        after :meth:`Job.start` until ``work`` returns or raises
done           ``work`` returned (:meth:`Job.result` gives its value) or raised (``error``
               holds the exception and :meth:`Job.result` raises it again); ``cancelled``
               says whether :meth:`Job.cancel` was called, whatever ``work`` made of it
=============  ==============================================================================

A job starts once (a second :meth:`Job.start` raises). SSL training
(:class:`workbench.learn.train.TrainingJob`), active-learning rounds
(:class:`workbench.active.loop.RoundJob`) and the widgets' long actions are Jobs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Job"]


class Job:
    """``work(progress, cancel)`` in a background thread (see :mod:`workbench.core.jobs`).

    Parameters
    ----------
    work : callable, optional
        ``work(progress, cancel) -> result``. Subclasses may override :meth:`run` instead.
    name : str
        The thread's name.
    """

    #: Exception raised for misuse (starting twice, asking a job never started for its
    #: result); subclasses name their layer's error.
    misuse_error: type[Exception] = RuntimeError

    def __init__(self, work: Callable | None = None, *, name: str = "workbench-job"):
        self._work = work
        self._name = str(name)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable] = []
        self._finished = threading.Event()
        self._done_lock = threading.Lock()
        self._done_listeners: list[Callable] = []
        self._value = None
        self.progress: dict = {}
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ the work
    def run(self, progress: Callable[[dict], None], cancel: threading.Event):
        """The work (default: the ``work`` given to the constructor)."""
        if self._work is None:
            raise self.misuse_error(f"{type(self).__name__} has no work to run")
        return self._work(progress, cancel)

    def _report(self, record: dict) -> None:
        self.progress = record
        for fn in list(self._listeners):
            fn(record)

    def _main(self) -> None:
        try:
            self._value = self.run(self._report, self._cancel)
        except BaseException as exc:  # noqa: BLE001 - kept, re-raised by result()
            self.error = exc
        with self._done_lock:
            self._finished.set()
            listeners, self._done_listeners = self._done_listeners, []
        for fn in listeners:
            fn(self)

    # ------------------------------------------------------------------ control
    def start(self):
        """Start the work in a daemon thread; returns the job. A job starts once."""
        if self._thread is not None:
            raise self.misuse_error(f"this {type(self).__name__} was already started")
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        return self

    def on_progress(self, fn: Callable[[dict], None]) -> None:
        """Call ``fn(record)`` with every progress record (from the worker thread)."""
        self._listeners.append(fn)

    def on_done(self, fn: Callable[[Job], None]) -> None:
        """Call ``fn(job)`` once when the job is done (returned, raised or stopped after a
        cancel): from the worker thread, or at once from this one if it is already done.

        Inside ``fn`` :attr:`done` is True and :meth:`result` returns (or raises the work's
        error) without waiting. An exception raised by ``fn`` is not the job's :attr:`error`:
        it escapes the worker thread (Python reports it) and later listeners are not called,
        so a listener that must not fail catches its own errors.
        """
        with self._done_lock:
            if not self._finished.is_set():
                self._done_listeners.append(fn)
                return
        fn(self)

    def cancel(self) -> None:
        """Ask the work to stop (it sees ``cancel.is_set()``); returns at once."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancel.is_set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def running(self) -> bool:
        """Started and not finished."""
        return self._thread is not None and not self._finished.is_set()

    @property
    def done(self) -> bool:
        """Started and finished (returned, raised or stopped after a cancel)."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: until done); returns :attr:`done`.

        The job is done once the work returned or raised, before the :meth:`on_done`
        listeners are called (so a listener may wait too).
        """
        if self._thread is None:
            raise self.misuse_error(f"start() the {type(self).__name__} first")
        return self._finished.wait(timeout)

    def result(self, timeout: float | None = None):
        """The work's return value, waiting up to ``timeout`` seconds; re-raises its error.

        Raises
        ------
        TimeoutError
            Still running after ``timeout``.
        """
        if not self.wait(timeout):
            raise TimeoutError(f"{type(self).__name__} still running after {timeout} s")
        if self.error is not None:
            raise self.error
        return self._value
