"""The retraining loop: recorded rounds, rollback, background job, kill safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytest.importorskip("torch")

from workbench.active.loop import ActiveLoop  # noqa: E402
from workbench.core.errors import ModelError  # noqa: E402


def _oracle(coll, n):
    """Labels of the first n items (as a store consensus would give them)."""
    cat = coll.catalog
    return cat.set_index("id")["truth"].iloc[:n]


class _FakeCampaign:
    def __init__(self, labels):
        self.labels = labels
        self.calls = []

    def consensus(self):
        return self.labels

    def set_priorities(self, scores, *, round, strategy):  # noqa: A002 - store API name
        self.calls.append((round, strategy, scores))


def test_rounds_are_recorded_and_queue_excludes_labelled(blobs):
    camp = _FakeCampaign(_oracle(blobs, 30))
    loop = ActiveLoop(blobs, campaign=camp, store=object(), strategy="margin", queue_size=10,
                      epochs=30, random_fraction=0.2)
    r1 = loop.run_round()
    assert r1["round"] == 1 and loop.current_round() == 1
    d = loop.round_dir(1)
    assert {p.name for p in d.iterdir()} >= {"model.safetensors", "labels.parquet",
                                             "metrics.json", "queue.parquet"}
    q = r1["queue"]
    assert len(q) == 10 and not set(q["id"]) & set(camp.labels.index)
    assert (q["reason"] == "round 1: margin").sum() == 8
    assert camp.calls[-1][:2] == (1, "margin")
    # more labels -> round 2 trains on more
    camp.labels = _oracle(blobs, 60)
    r2 = loop.run_round(strategy="entropy")
    assert r2["n_train"] + r2["n_holdout"] == 60 > r1["n_train"] + r1["n_holdout"]
    assert list(loop.history()["round"]) == [1, 2]
    loop.rollback(1)
    assert loop.current_round() == 1 and camp.calls[-1][:2] == (1, "margin")
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics["metrics"]["accuracy"] is not None


def test_background_round_can_be_cancelled(blobs):
    loop = ActiveLoop(blobs, label_column="truth", epochs=10_000, batch_size=4)
    job = loop.start_round()
    t0 = time.time()
    while not job.progress and time.time() - t0 < 30:
        time.sleep(0.05)
    job.cancel()
    with pytest.raises(ModelError, match="cancelled"):
        job.result(timeout=30)
    assert loop.rounds() == [] and loop.current_round() is None
    assert not list(loop.root.glob(".tmp-*"))


def test_one_class_only_is_refused(blobs):
    cat = blobs.catalog
    only_points = cat[cat["truth"] == "point"].set_index("id")["truth"]
    loop = ActiveLoop(blobs, campaign=_FakeCampaign(only_points), store=object())
    with pytest.raises(ModelError, match="one class"):
        loop.run_round()


@pytest.mark.slow
def test_killed_retraining_keeps_previous_model(blobs):
    loop = ActiveLoop(blobs, label_column="truth", epochs=20)
    loop.run_round()
    sha = loop.record()["checkpoint_sha256"]
    script = textwrap.dedent(f"""
        import sys
        from workbench.io.collection import open as op
        from workbench.active.loop import ActiveLoop
        loop = ActiveLoop(op({str(blobs.path)!r}, "r+"), label_column="truth",
                          epochs=100000, batch_size=4)
        def prog(rec):
            print("epoch", rec["epoch"], flush=True)
        loop.run_round(progress=prog)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    line = proc.stdout.readline()  # training has started
    assert line.startswith("epoch")
    assert list(loop.root.glob(".tmp-round-*"))  # half-way round in progress
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    reopened = ActiveLoop(blobs, label_column="truth")
    assert reopened.current_round() == 1 and reopened.rounds() == [1]
    assert reopened.record()["checkpoint_sha256"] == sha
    model, cfg = reopened.model()
    assert cfg["classes"] == ["bar", "point"]
    assert not list(reopened.root.glob(".tmp-*"))  # leftovers cleaned


def test_mlppa_round_queues_by_bald(blobs):
    # half the items labelled: the other half is the pool BALD must rank
    camp = _FakeCampaign(_oracle(blobs, 40))
    loop = ActiveLoop(blobs, campaign=camp, store=object(), arch="mlppa", size=32, epochs=3,
                      strategy="bald", queue_size=5, random_fraction=0.0, mc_samples=4)
    rec = loop.run_round()
    q = rec["queue"]
    assert len(q) == 5 and not set(q["id"]) & set(camp.labels.index)
    assert (q["reason"] == "round 1: bald").all()
    assert np.isfinite(rec["metrics"]["accuracy"])
    # plain ML-PPA has no dropout; a BALD round turns it on for its MC-dropout samples
    model, cfg = loop.model()
    assert cfg["model"]["dropout"] == 0.2
    # the queue is the top of the BALD scores of the round's own MC-dropout samples
    from workbench.active.acquisition import bald
    from workbench.active.training import model_inputs
    from workbench.learn.infer import mc_dropout_proba

    ids = np.asarray(blobs.ids)
    pool = ~np.isin(ids, camp.labels.index)
    x = model_inputs(blobs, ids, cfg["input"])
    scores = bald(mc_dropout_proba(model, x, samples=4, seed=1))
    assert np.allclose(q["score"].to_numpy(), scores[pool][np.argsort(-scores[pool])][:5],
                       atol=1e-6)
    assert set(q["id"]) == set(ids[pool][np.argsort(-scores[pool])][:5])
    assert scores[pool].max() > 0  # the samples disagree somewhere: BALD really ranked


@pytest.mark.slow
def test_fixed_holdout_ids_measure_every_round_on_the_same_items(blobs):
    import pandas as pd

    ids = list(blobs.ids)
    fixed = ids[50:70]  # labelled, never trained on
    camp = _FakeCampaign(blobs.catalog.set_index("id")["truth"].loc[ids[:20] + fixed])
    loop = ActiveLoop(blobs, campaign=camp, store=object(), queue_size=5, epochs=20,
                      holdout_ids=fixed)
    r1 = loop.run_round()
    camp.labels = blobs.catalog.set_index("id")["truth"].loc[ids[:40] + fixed]
    r2 = loop.run_round()
    for rec, n_train in ((r1, 20), (r2, 40)):
        assert rec["n_holdout"] == 20 and rec["n_train"] == n_train
        split = pd.read_parquet(loop.round_dir(rec["round"]) / "labels.parquet")
        assert set(split.loc[split["split"] == "holdout", "id"]) == set(fixed)
        assert not set(rec["queue"]["id"]) & set(fixed)
    advice = loop.advice(seeds=2, strategies=["margin"])
    assert advice["n_labels"] == 60 and loop.latest_advice()["message"] == advice["message"]
    assert advice["ahead"] is None or advice["saving_ci"][0] > 0


def test_a_campaign_over_part_of_the_data_gets_only_its_own_items(blobs):
    import pandas as pd

    ids = list(blobs.ids)
    covered = ids[:50]

    class _PartCampaign(_FakeCampaign):
        def items(self):
            return pd.DataFrame({"item_id": covered})

    camp = _PartCampaign(blobs.catalog.set_index("id")["truth"].loc[ids[:30]])
    loop = ActiveLoop(blobs, campaign=camp, store=object(), queue_size=30, epochs=20)
    rec = loop.run_round()
    assert set(rec["queue"]["id"]) == set(ids[30:50])  # the 20 unlabelled covered items
    pushed = camp.calls[-1][2]
    assert set(pushed.index) == set(ids[30:50])


@pytest.mark.slow
def test_dashboard_shows_the_saved_advice(blobs):
    pytest.importorskip("ipywidgets")
    from workbench.widgets.dashboard import Dashboard

    loop = ActiveLoop(blobs, label_column="truth", epochs=10, queue_size=5)
    loop.run_round()
    assert Dashboard(loop).state["advice"] is None  # nothing saved yet
    adv = loop.advice(seeds=2, strategies=["margin"])
    dash = Dashboard(loop)
    assert dash.state["advice"]["message"] == adv["message"]
    assert "Strategy advisor" in dash.metrics.value
