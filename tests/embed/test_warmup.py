"""warm_up: a background Job per set of parts, kept once per process in WARM_UPS."""

from __future__ import annotations

import pytest

from workbench.core.jobs import Job
from workbench.embed.warmup import PARTS, WARM_UPS, warm_up


def test_warm_up_is_one_job_per_parts_and_process():
    WARM_UPS.clear()
    try:
        job = warm_up(parts=["hdbscan"], background=False)
        assert isinstance(job, Job) and job.done and job.error is None
        took = job.result()
        assert set(took) == {"hdbscan"} and took["hdbscan"] > 0
        assert job.progress == {"part": "hdbscan", "seconds": took["hdbscan"]}
        assert warm_up(parts=("hdbscan", "hdbscan")) is job and len(WARM_UPS) == 1
        WARM_UPS.clear()
        again = warm_up(parts=["hdbscan"])  # cleared: a new warm-up, in the background
        assert again is not job and set(again.result(timeout=120)) == {"hdbscan"}
    finally:
        WARM_UPS.clear()


def test_warm_up_names_unknown_parts():
    with pytest.raises(ValueError, match=r"unknown parts \['tsne'\]; choose from"):
        warm_up(parts=("umap", "tsne"))
    assert set(PARTS) == {"umap", "hdbscan", "datashader"}
