"""The Dask tasks' model cache has an owner and a lifetime: each Dask worker has one (a model
is loaded once per worker and job, not once per task), emptied when the job ends; a job run in
this process has its own, dropped at its end; anywhere else nothing is kept."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from workbench.learn._dask_tasks import ModelCache, job_models, worker_models


class Maker:
    def __init__(self, delay: float = 0.0):
        self.calls = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, key):
        def make():
            time.sleep(self.delay)
            with self.lock:
                self.calls.append(key)
            return f"model-{key}"
        return make


def test_a_model_is_made_once_per_key_and_the_oldest_is_evicted():
    cache, make = ModelCache(size=2), Maker()
    assert cache.get("a", make("a")) == "model-a"
    assert cache.get("a", make("a")) == "model-a"
    cache.get("b", make("b"))
    cache.get("a", make("a"))          # a is now the most recent
    cache.get("c", make("c"))          # evicts b, not a
    cache.get("a", make("a"))
    cache.get("b", make("b"))          # b was evicted: made again
    assert make.calls == ["a", "b", "c", "b"]
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0
    cache.get("a", make("a"))
    assert make.calls[-1] == "a"
    with pytest.raises(ValueError, match="at least one"):
        ModelCache(size=0)


def test_threads_asking_at_once_load_the_model_once():
    cache, make = ModelCache(), Maker(delay=0.05)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: cache.get("k", make("k")), range(8)))
    assert got == ["model-k"] * 8 and make.calls == ["k"]


def test_outside_a_worker_nothing_is_kept():
    a = worker_models()
    a.get("k", lambda: "model")
    b = worker_models()
    assert b is not a and len(b) == 0


def _loads(key):
    """A task: which cache its worker holds and how many models after asking for ``key``."""
    cache = worker_models()
    cache.get(key, lambda: object())
    return id(cache), len(cache)


def _held():
    return len(worker_models())


def test_a_worker_keeps_its_model_for_one_job_and_releases_it_at_the_end():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with job_models(client):
            first = client.submit(_loads, "enc", pure=False).result()
            second = client.submit(_loads, "enc", pure=False).result()
            third = client.submit(_loads, "clf", pure=False).result()
            assert first[0] == second[0] == third[0]  # one cache for the worker's tasks
            assert first[1] == second[1] == third[1] == 1  # one model at a time
            assert client.submit(_held, pure=False).result() == 1
        assert client.submit(_held, pure=False).result() == 0  # released with the job
        with pytest.raises(RuntimeError, match="boom"), job_models(client):
            client.submit(_loads, "enc", pure=False).result()
            raise RuntimeError("boom")
        assert client.submit(_held, pure=False).result() == 0  # also when the job failed


def test_without_a_client_the_job_has_one_cache_dropped_at_its_end():
    with job_models(None):
        cache = worker_models()
        cache.get("k", lambda: "model")
        assert worker_models() is cache and len(cache) == 1
    assert len(cache) == 0 and worker_models() is not cache
