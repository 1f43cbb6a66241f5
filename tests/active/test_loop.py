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

from workbench.active.loop import ActiveLoop, LoopConfig, RoundResult  # noqa: E402
from workbench.core.errors import InputError, ModelError, ReadOnlyError  # noqa: E402
from workbench.io.collection import open as open_collection  # noqa: E402
from workbench.learn.config import TrainConfig  # noqa: E402


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
    assert isinstance(r1, RoundResult) and r1.round == 1 and loop.current_round() == 1
    assert r1.config.with_options(train=loop.config.train) == loop.config
    # recorded in the Collection's derived data (listed by its manifest), nowhere else
    assert {n for n in blobs.derived if n.startswith("al-")} == {
        "al-current", "al-round-0001", "al-round-0001-model", "al-round-0001-labels",
        "al-round-0001-queue"}
    assert not (blobs.path / "rounds").exists()
    q = r1.queue
    assert len(q) == 10 and not set(q["id"]) & set(camp.labels.index)
    assert (q["reason"] == "round 1: margin").sum() == 8
    assert camp.calls[-1][:2] == (1, "margin")
    # more labels -> round 2 trains on more
    camp.labels = _oracle(blobs, 60)
    r2 = loop.run_round(strategy="entropy")
    assert r2.n_train + r2.n_holdout == 60 > r1.n_train + r1.n_holdout
    assert list(loop.history()["round"]) == [1, 2]
    loop.rollback(1)
    assert loop.current_round() == 1 and camp.calls[-1][:2] == (1, "margin")
    metrics = json.loads(blobs.derived_file("al-round-0001"))
    assert metrics["metrics"]["accuracy"] is not None and metrics == loop.record(1)


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
    assert not [n for n in blobs.derived if n.startswith("al-")]
    derived = blobs.path / "derived"
    assert not derived.exists() or not any(derived.iterdir())


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
    assert loop.rounds() == [1]  # the half-way round is not a round
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    reopened = ActiveLoop(open_collection(blobs.path, "r+"), label_column="truth", epochs=5)
    assert reopened.current_round() == 1 and reopened.rounds() == [1]
    assert reopened.record()["checkpoint_sha256"] == sha
    model, cfg = reopened.model()
    assert cfg["classes"] == ["bar", "point"]
    assert not [n for n in reopened.coll.derived if n.startswith("al-round-0002")]
    # the Collection holds exactly what its manifest lists (opening r+ cleans orphans)
    listed = {rec["file"] for rec in reopened.coll.derived.values()}
    listed |= {f + ".ids.parquet" for f in listed}
    assert {p.name for p in (blobs.path / "derived").iterdir()} <= listed
    assert reopened.run_round().round == 2 and reopened.current_round() == 2


def test_mlppa_round_queues_by_bald(blobs):
    # half the items labelled: the other half is the pool BALD must rank
    camp = _FakeCampaign(_oracle(blobs, 40))
    loop = ActiveLoop(blobs, campaign=camp, store=object(), arch="mlppa", size=32, epochs=3,
                      strategy="bald", queue_size=5, random_fraction=0.0, mc_samples=4)
    rec = loop.run_round()
    q = rec.queue
    assert len(q) == 5 and not set(q["id"]) & set(camp.labels.index)
    assert (q["reason"] == "round 1: bald").all()
    assert np.isfinite(rec.metrics["accuracy"])
    # plain ML-PPA has no dropout; a BALD round turns it on for its MC-dropout samples
    model, cfg = loop.model()
    assert cfg["model"]["dropout"] == 0.2
    # the queue is the top of the BALD scores of the round's own MC-dropout samples
    from workbench.active.acquisition import bald
    from workbench.learn.infer import mc_dropout_proba
    from workbench.learn.supervised import model_inputs

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

    ids = list(blobs.ids)
    fixed = ids[50:70]  # labelled, never trained on
    camp = _FakeCampaign(blobs.catalog.set_index("id")["truth"].loc[ids[:20] + fixed])
    loop = ActiveLoop(blobs, campaign=camp, store=object(), queue_size=5, epochs=20,
                      holdout_ids=fixed)
    r1 = loop.run_round()
    camp.labels = blobs.catalog.set_index("id")["truth"].loc[ids[:40] + fixed]
    r2 = loop.run_round()
    for rec, n_train in ((r1, 20), (r2, 40)):
        assert rec.n_holdout == 20 and rec.n_train == n_train
        split = loop.round_labels(rec.round)
        assert set(split.loc[split["split"] == "holdout", "id"]) == set(fixed)
        assert not set(rec.queue["id"]) & set(fixed)
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
    assert set(rec.queue["id"]) == set(ids[30:50])  # the 20 unlabelled covered items
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


def _tree(root):
    """Every file and folder under ``root``: relative path -> bytes (None for a folder)."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


def test_a_read_only_collection_is_left_byte_for_byte_unchanged(blobs):
    first = ActiveLoop(blobs, label_column="truth", epochs=5, queue_size=5).run_round()
    before = _tree(blobs.path)
    ro = open_collection(blobs.path, "r")
    loop = ActiveLoop(ro, label_column="truth", epochs=5)
    assert loop.rounds() == [1] and loop.current_round() == 1
    assert len(loop.history()) == 1 and loop.record(1)["metrics"] == first.metrics
    assert list(loop.queue().columns) == list(first.queue.columns)
    assert len(loop.round_labels()) == len(blobs)
    assert loop.model()[1]["classes"] == ["bar", "point"]
    assert loop.latest_advice() is None and loop.round_config().queue_size == 5
    with pytest.raises(ReadOnlyError, match="read-only"):
        loop.run_round()
    with pytest.raises(ReadOnlyError):
        loop.rollback(1)
    with pytest.raises(ReadOnlyError):
        loop.advice(seeds=2, strategies=["margin"])
    assert _tree(blobs.path) == before
    # a fresh read-only Collection without any round: constructing a loop writes nothing
    other = open_collection(blobs.path, "r")
    before = _tree(blobs.path)
    assert ActiveLoop(other).rounds() == [1]
    assert _tree(blobs.path) == before


def test_loop_config_round_trips_through_the_round_record(blobs):
    cfg = LoopConfig(strategy="entropy", queue_size=7, random_fraction=0.0, mc_samples=3,
                     train=TrainConfig(arch="head", epochs=5, batch_size=16, lr=2e-3,
                                       hidden=(32,), seed=4))
    loop = ActiveLoop(blobs, config=cfg, label_column="truth")
    assert loop.config == cfg and loop.strategy == "entropy"
    rec = loop.run_round()
    stored = loop.round_config(1)
    assert isinstance(stored, LoopConfig) and stored.to_dict() == rec.record["config"]
    assert stored == rec.config
    # as given, with what the round resolved: the feature source and the head's dropout
    assert stored.train.source.startswith("pixels") and stored.train.dropout == 0.2
    assert stored.with_options(train=stored.train.with_options(
        source=None, dropout=None)) == cfg
    assert LoopConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    # the round's strategy is stored, not the default
    loop.run_round(strategy="margin")
    assert loop.round_config(2).strategy == "margin" and loop.config.strategy == "entropy"
    # keyword arguments map onto the config and its TrainConfig
    kw = ActiveLoop(blobs, queue_size=9, epochs=3, arch="mlppa", holdout_ids=["s001"])
    assert kw.config.queue_size == 9 and kw.config.train.epochs == 3
    assert kw.arch == "mlppa" and kw.config.train.holdout_ids == ("s001",)


def test_a_changed_round_record_is_refused_naming_it(blobs):
    loop = ActiveLoop(blobs, label_column="truth", epochs=5, queue_size=5)
    rec = loop.run_round()
    assert rec.record == loop.record(1) and rec.name == "al-round-0001"
    bad = dict(rec.record)
    bad["config"] = {**bad["config"], "bogus": 1}
    blobs.add_file("al-round-0001", json.dumps(bad).encode(), suffix=".json")
    with pytest.raises(InputError, match=r"unknown LoopConfig setting.*bogus") as exc:
        loop.round_config(1)
    assert "al-round-0001" in str(exc.value)
    bad["config"] = {**rec.record["config"], "queue_size": -1}
    blobs.add_file("al-round-0001", json.dumps(bad).encode(), suffix=".json")
    with pytest.raises(InputError, match=r"al-round-0001.*LoopConfig.queue_size = -1"):
        loop.round_config(1)


def test_bad_loop_settings_are_refused_naming_them(blobs):
    with pytest.raises(InputError, match=r"LoopConfig.strategy = 'nope': must be one of"):
        ActiveLoop(blobs, strategy="nope")
    with pytest.raises(InputError, match=r"TrainConfig.epochs = 0: must be an integer >= 1"):
        ActiveLoop(blobs, epochs=0)
    with pytest.raises(InputError, match=r"unknown active-learning setting.*'epoch'"):
        ActiveLoop(blobs, epoch=5)
    loop = ActiveLoop(blobs)
    with pytest.raises(InputError, match="strategy"):
        loop.strategy = "nope"
    assert loop.strategy == "margin"
