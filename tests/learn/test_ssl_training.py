"""SSL training: resume, cancel, background job, safetensors only, embeddings keyed by hash."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import workbench  # noqa: E402
from workbench.core.errors import ModelError  # noqa: E402
from workbench.io.collection import ProductSpec  # noqa: E402
from workbench.learn.checkpoints import (  # noqa: E402
    ENCODER_PREFIX,
    content_hash,
    load_checkpoint,
    read_metadata,
)
from workbench.learn.encode import embed_collection, embedding_name, load_encoder  # noqa: E402
from workbench.learn.train import TrainingJob, train_ssl  # noqa: E402

TINY = {"width": 4, "depth": (1, 1), "out_dim": 8}
OPTS = {"method_options": {"proj_dim": 4, "hidden": 8}}


def _blobs(n, rng):
    yy, xx = np.mgrid[:24, :24]
    out = np.empty((n, 1, 24, 24), np.float32)
    for i in range(n):
        cx, cy, w = rng.uniform(8, 16), rng.uniform(8, 16), rng.uniform(1, 4)
        out[i, 0] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * w**2))
    return out + rng.normal(0, 0.05, out.shape).astype(np.float32)


@pytest.fixture()
def tiny_coll(tmp_path):
    rng = np.random.default_rng(0)
    coll = workbench.create(tmp_path / "c", {"radio": ProductSpec(("1.4GHz",), (24, 24))})
    n = 24
    coll.append(pd.DataFrame({"id": [f"s{i:03d}" for i in range(n)]}), {"radio": _blobs(n, rng)},
                kind="radio")
    return coll


def _weights(path):
    tensors, _ = load_checkpoint(path)
    return {k: v for k, v in tensors.items()}


def test_cancelled_then_resumed_run_equals_uninterrupted_run(tiny_coll, tmp_path):
    kw = dict(method="byol", epochs=2, batch_size=8, size=16, encoder=TINY, seed=3, **OPTS)
    full = train_ssl(tiny_coll, out=tmp_path / "full.safetensors", **kw)
    assert full.steps == 6 and not full.cancelled

    cancel = threading.Event()

    def stop_at_4(p):
        if p["global_step"] == 4:
            cancel.set()

    part = train_ssl(tiny_coll, out=tmp_path / "part.safetensors", progress=stop_at_4,
                     cancel=cancel, **kw)
    assert part.cancelled and part.steps == 4
    meta = read_metadata(tmp_path / "part.safetensors")
    assert meta["state"]["epoch"] == 1 and meta["state"]["step"] == 1 and not meta["complete"]
    rest = train_ssl(tiny_coll, out=tmp_path / "part.safetensors", resume=True, **kw)
    assert rest.steps == 2
    a, b = _weights(tmp_path / "full.safetensors"), _weights(tmp_path / "part.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k
    assert rest.hash == full.hash
    meta = read_metadata(tmp_path / "part.safetensors")
    assert meta["complete"] and meta["data"]["n_items"] == 24 and len(meta["data"]["hash"]) == 64


def test_resume_refuses_a_different_configuration(tiny_coll, tmp_path):
    out = tmp_path / "e.safetensors"
    train_ssl(tiny_coll, out=out, method="simclr", epochs=1, batch_size=8, size=16,
              encoder=TINY, **OPTS)
    with pytest.raises(ModelError, match="cannot resume"):
        train_ssl(tiny_coll, out=out, method="simclr", epochs=2, batch_size=8, size=20,
                  encoder=TINY, resume=True, **OPTS)


def test_training_job_runs_in_background_with_progress_and_cancel(tiny_coll, tmp_path):
    seen = []
    job = TrainingJob(tiny_coll, out=tmp_path / "j.safetensors", method="simclr", epochs=50,
                      batch_size=8, size=16, encoder=TINY, progress=seen.append, **OPTS).start()
    while not seen and not job.wait(0.05):  # until the first progress report
        pass
    job.cancel()
    res = job.result(timeout=60)
    assert res.cancelled and 1 <= res.steps < 150
    assert job.progress["global_step"] == res.steps and not job.running
    assert (tmp_path / "j.safetensors").exists()


class _Boom:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_and_torch_save_checkpoints_are_refused_without_unpickling(tiny_coll, tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps(_Boom(str(marker))))
    zipped = tmp_path / "zip.safetensors"
    torch.save({"w": torch.zeros(2)}, zipped)
    for path in (bad, zipped):
        for fn in (load_checkpoint, load_encoder, read_metadata):
            with pytest.raises(ModelError, match="refusing|not a safetensors|pickle|zip"):
                fn(path)
        with pytest.raises(ModelError):
            embed_collection(tiny_coll, path)
    assert not marker.exists()


def test_embeddings_are_stored_by_checkpoint_hash_and_reused(tiny_coll, tmp_path):
    ck = tmp_path / "e.safetensors"
    res = train_ssl(tiny_coll, out=ck, method="simclr", epochs=1, batch_size=8, size=16,
                    encoder=TINY, **OPTS)
    tensors, _ = load_checkpoint(ck)
    assert res.hash == content_hash(tensors, prefix=ENCODER_PREFIX)
    first = embed_collection(tiny_coll, ck, batch_size=5)
    assert first.name == embedding_name(res.hash) == f"embedding-{res.hash[:12]}"
    assert not first.reused and first.embeddings.shape == (24, 8)
    coll = workbench.open(tiny_coll.path)
    assert np.allclose(coll.derived_array(first.name), first.embeddings)
    rec = coll.info()["derived"][first.name]
    assert rec["made_by"]["params"]["encoder_hash"] == res.hash
    second = embed_collection(coll, ck)
    assert second.reused and np.array_equal(second.embeddings, first.embeddings)
    # Inference is deterministic and matches a direct pass of the loaded encoder.
    enc, _ = load_encoder(ck)
    third = embed_collection(tiny_coll, ck, force=True, batch_size=24)
    assert not third.reused and np.allclose(third.embeddings, first.embeddings, atol=1e-5)
    assert enc.config["out_dim"] == 8
