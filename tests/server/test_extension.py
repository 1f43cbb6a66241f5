"""The extension's shared state, without a server: the warm-up is a Job like every other
long piece of background work (issue 16 point 1)."""

from __future__ import annotations

from workbench.core.jobs import Job
from workbench.server.extension import WorkbenchCampaigns


def test_warm_up_is_a_job_that_reads_every_campaigns_first_item(survey):
    root, _ = survey
    wb = WorkbenchCampaigns(warm_up=True, prefetch=0)
    wb.start(str(root))
    assert isinstance(wb.warm_job, Job) and wb.warm_job.started
    assert wb.warm_job.wait(120), "warm-up did not finish"
    assert wb.warm_job.error is None
    served = {str(wb.registry.collection(ref).path) for ref in wb.registry.scan().values()
              if wb.registry.campaign(ref).item_ids}
    assert wb.items.n_items >= len(served) >= 2


def test_no_warm_up_no_job(survey):
    root, _ = survey
    wb = WorkbenchCampaigns(warm_up=False)
    wb.start(str(root))
    assert wb.warm_job is None and wb.items.n_items == 0
