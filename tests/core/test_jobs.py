"""The one background-job class: start, progress, cancel, done, error, result on a real
thread; TrainingJob and RoundJob are Jobs."""

from __future__ import annotations

import threading
import time

import pytest

from workbench.core.jobs import Job


def _counting(release: threading.Event):
    def work(progress, cancel):
        n = 0
        while not cancel.is_set():
            n += 1
            progress({"step": n})
            if n >= 3:
                release.wait(5)
            time.sleep(0.001)
        return n
    return work


def test_job_progress_and_cancel_on_a_real_thread():
    release = threading.Event()
    seen = []
    job = Job(_counting(release), name="test-job")
    assert not job.started and not job.running and not job.done
    with pytest.raises(RuntimeError, match="start"):
        job.result()
    job.on_progress(seen.append)
    assert job.start() is job and job.started
    t0 = time.time()
    while len(seen) < 3 and time.time() - t0 < 5:
        time.sleep(0.005)
    assert job.running and not job.done and job.progress == {"step": 3}
    with pytest.raises(TimeoutError):
        job.result(timeout=0.01)
    job.cancel()
    release.set()
    n = job.result(timeout=5)
    assert job.done and not job.running and job.cancelled and job.error is None
    assert seen == [{"step": k} for k in range(1, n + 1)] and job.progress == {"step": n}
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def test_job_error_is_kept_and_raised_again():
    def work(progress, cancel):
        progress({"step": 1})
        raise ValueError("bad pixel")

    job = Job(work).start()
    assert job.wait(5) and job.done and not job.cancelled
    assert isinstance(job.error, ValueError)
    with pytest.raises(ValueError, match="bad pixel"):
        job.result()
    assert job.progress == {"step": 1}


def test_job_subclasses_keep_their_public_names():
    from workbench.active.loop import RoundJob
    from workbench.core.errors import ModelError
    from workbench.learn.train import TrainingJob

    class FakeLoop:
        def run_round(self, *, progress, cancel, strategy=None):
            progress({"epoch": 1, "epochs": 1})
            return {"round": 1, "strategy": strategy}

    job = RoundJob(FakeLoop(), strategy="margin")
    assert isinstance(job, Job) and job.record is None
    assert job.start().result(timeout=5) == {"round": 1, "strategy": "margin"}
    assert job.record == {"round": 1, "strategy": "margin"} and job.done
    assert job.progress == {"epoch": 1, "epochs": 1}
    tj = TrainingJob(None, out="x.safetensors")
    assert isinstance(tj, Job)
    with pytest.raises(ModelError, match="start"):
        tj.result()


def test_on_done_is_called_once_with_the_finished_job():
    release = threading.Event()
    calls = []

    def listener(job):
        # from the worker thread, with the job already done: result() does not block
        calls.append((threading.current_thread().name, job.done, job.running, job.result()))

    job = Job(lambda progress, cancel: release.wait(5) and 7, name="done-job")
    job.on_done(listener)
    job.start()
    time.sleep(0.05)
    assert calls == [] and job.running
    release.set()
    assert job.result(timeout=5) == 7
    t0 = time.time()
    while not calls and time.time() - t0 < 5:
        time.sleep(0.005)
    assert calls == [("done-job", True, False, 7)]
    late = []
    job.on_done(late.append)  # already done: called at once, in this thread
    assert late == [job] and len(calls) == 1


def test_on_done_listener_sees_the_error():
    seen = threading.Event()
    errors = []

    def work(progress, cancel):
        raise ValueError("bad beam")

    def listener(job):
        errors.append(job.error)
        with pytest.raises(ValueError, match="bad beam"):
            job.result()
        seen.set()

    job = Job(work)
    job.on_done(listener)
    job.start()
    assert seen.wait(5) and isinstance(errors[0], ValueError)
