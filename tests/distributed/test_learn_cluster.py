"""Embed, predict and anomaly scores through the real loopback cluster equal the serial
results; a rerun after an interruption reuses the blocks already staged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import workbench.io.collection as C  # noqa: E402
from workbench.io._staging import StagingArea  # noqa: E402
from workbench.learn import _dask_tasks  # noqa: E402
from workbench.learn.checkpoints import save_checkpoint  # noqa: E402
from workbench.learn.encode import embed_collection  # noqa: E402
from workbench.learn.infer import predict_collection  # noqa: E402


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """2100 items of 40x40 in three segments (chunks of 327 items), a random-init encoder
    and a random-init ML-PPA classifier."""
    from workbench.learn.encoders import build_encoder, encoder_config
    from workbench.learn.mlppa import MLPPA

    tmp = tmp_path_factory.mktemp("learn")
    rng = np.random.default_rng(0)
    coll = C.create(tmp / "c", {"radio": C.ProductSpec(("radio",), (40, 40), "", "sky")})
    for k in range(3):
        imgs = rng.normal(size=(700, 40, 40)).astype(np.float32)
        imgs[:, 15:25, 15:25] += rng.uniform(0, 5, (700, 1, 1)).astype(np.float32)
        coll.append(pd.DataFrame({"id": [f"s{k}-{j:04d}" for j in range(700)]}),
                    {"radio": imgs}, kind="radio")
    torch.manual_seed(0)
    enc = build_encoder(encoder_config(1, width=4, out_dim=16))
    save_checkpoint(tmp / "enc.safetensors", {f"encoder.{k}": v for k, v in
                                              enc.state_dict().items()},
                    {"encoder": enc.config, "train": {"product": "radio", "size": 32,
                                                      "crop": 0.8, "stretch": "asinh"}})
    clf = MLPPA(32, depth=2, n_classes=3, hidden=16)
    save_checkpoint(tmp / "clf.safetensors", clf.state_dict(),
                    {"model": clf.config, "classes": ["a", "b", "c"],
                     "input": {"kind": "images", "product": "radio", "size": 32,
                               "norm": "per_image"}})
    return tmp


def test_embeddings_through_the_cluster_equal_serial(client, survey):
    serial = embed_collection(survey / "c", survey / "enc.safetensors")
    done = []  # items per finished task, through the public progress callback
    par = embed_collection(survey / "c", survey / "enc.safetensors", client=client, force=True,
                           progress=done.append)
    assert len(done) >= 2 and sum(done) == 2100  # really split into several tasks
    assert not par.reused and par.embeddings.shape == serial.embeddings.shape == (2100, 16)
    np.testing.assert_allclose(par.embeddings, serial.embeddings, atol=1e-5, rtol=0)
    stored = C.open(survey / "c")
    np.testing.assert_allclose(stored.derived_array(par.name), serial.embeddings, atol=1e-5)
    assert not StagingArea.of_collection(survey / "c").root.exists()
    # a view embeds only its items, in view order
    view = stored.select(ids=["s2-0003", "s0-0001", "s1-0500"])
    rows = [stored.ids.index(i) for i in view.ids]
    sub = _dask_tasks.embed_blocks(view, survey / "enc.safetensors",
                                   stored.derived[par.name]["made_by"]["params"]["encoder_hash"],
                                   {"product": "radio", "size": 32, "crop": 0.8,
                                    "stretch": "asinh"}, batch_size=64, device="cpu",
                                   client=client)
    np.testing.assert_allclose(sub, serial.embeddings[rows], atol=1e-5)


def test_rerun_reuses_staged_blocks(client, survey, monkeypatch):
    from workbench.learn.checkpoints import read_metadata

    digest = read_metadata(survey / "enc.safetensors")["hash"]
    prep = {"product": "radio", "size": 32, "crop": 0.8, "stretch": "asinh"}
    coll = C.open(survey / "c", "r+")
    # an interrupted run: the blocks finished, the client died before storing them
    monkeypatch.setattr(StagingArea, "discard", lambda self, keys=None: None)
    first = _dask_tasks.embed_blocks(coll, survey / "enc.safetensors", digest, prep,
                                     batch_size=64, device="cpu", client=client)
    monkeypatch.undo()
    area = StagingArea.of_collection(coll.path)
    staged = area.complete_keys()
    assert len(staged) >= 2

    def boom(*a, **k):
        raise AssertionError("a staged block was computed again")

    monkeypatch.setattr(_dask_tasks, "embed_task", boom)
    again = _dask_tasks.embed_blocks(coll, survey / "enc.safetensors", digest, prep,
                                     batch_size=64, device="cpu", client=client)
    np.testing.assert_array_equal(again, first)
    assert not area.root.exists()


def test_predictions_through_the_cluster_equal_serial(client, survey):
    coll = C.open(survey / "c", "r+")
    ser = predict_collection(coll, survey / "clf.safetensors", write=False, batch_size=128)
    par = predict_collection(coll, survey / "clf.safetensors", name="p_dask", batch_size=128,
                             client=client)
    cols = ["pred_a", "pred_b", "pred_c"]
    np.testing.assert_allclose(par[cols].to_numpy(), ser[cols].to_numpy(), atol=1e-6)
    assert (par["pred_label"] == ser["pred_label"]).all()
    assert list(par["id"]) == coll.ids
    made = C.open(survey / "c").derived["p_dask"]["made_by"]["params"]
    assert made["checkpoint_sha256"] and made["backend"] == "torch"


@pytest.mark.parametrize("method", ["iforest", "knn"])
def test_anomaly_scores_through_the_cluster_equal_serial(client, tmp_path, method):
    from workbench.embed.dask_scores import score_anomalies
    from workbench.embed.records import anomalies_and_store

    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(size=(1500, 24)), rng.normal(6, 1, size=(10, 24))])
    coll = C.create(tmp_path / "a", {"radio": C.ProductSpec(("radio",), (2, 2), "", "sky")})
    coll.append(pd.DataFrame({"id": [f"x{i}" for i in range(len(X))]}),
                {"radio": np.zeros((len(X), 2, 2), np.float32)}, kind="radio")
    coll.add_array("embedding-000000000000", X.astype(np.float32))
    _, ser = anomalies_and_store(coll, method=method, seed=3)
    rec = coll.derived[f"anomaly-{method}"]["made_by"]["params"]
    _, par = score_anomalies(coll, client=client, method=method, seed=3, chunk_rows=400)
    np.testing.assert_allclose(par, ser, rtol=1e-6, atol=1e-6)
    assert np.argsort(-par)[:10].tolist() == np.argsort(-ser)[:10].tolist()
    assert coll.derived[f"anomaly-{method}"]["made_by"]["params"] == rec
