"""Checkpoints are safetensors; anything else is refused without being unpickled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from workbench.core.errors import ModelError  # noqa: E402
from workbench.learn.classifiers import EmbeddingHead  # noqa: E402
from workbench.learn.fit import fit  # noqa: E402
from workbench.learn.infer import load_model, predict_proba  # noqa: E402


class _Boom:
    """Unpickling this creates a file (the attack a checkpoint loader must not allow)."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_pickle_checkpoint_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "model.safetensors"
    evil.write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(ModelError, match="pickle"):
        load_model(evil)
    assert not marker.exists()


def test_torch_save_archive_is_refused(tmp_path):
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "model.pt"
    torch.save({"x": _Boom(str(marker))}, evil)
    assert not marker.exists()
    with pytest.raises(ModelError, match="zip archive"):
        load_model(evil)
    assert not marker.exists()


def test_round_trip_gives_same_predictions(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    ck = tmp_path / "head.safetensors"
    r = fit(EmbeddingHead(5, 2), x, y, classes=["neg", "pos"], epochs=3, checkpoint=ck)
    model, cfg = load_model(ck)
    assert cfg["classes"] == ["neg", "pos"]
    np.testing.assert_allclose(predict_proba(model, x), predict_proba(r.model, x), atol=1e-6)


def test_foreign_safetensors_file_is_refused_by_load_model(tmp_path):
    from safetensors.torch import save_file

    from workbench.learn.checkpoints import read_metadata

    p = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(p))
    assert read_metadata(p) == {}
    with pytest.raises(ModelError, match="no classifier config"):
        load_model(p)


def test_classifier_checkpoint_records_weight_hash(tmp_path):
    from workbench.learn.checkpoints import content_hash, file_hash, load_checkpoint

    x = np.random.default_rng(2).normal(size=(20, 4)).astype(np.float32)
    ck = tmp_path / "a.safetensors"
    fit(EmbeddingHead(4, 2), x, (x[:, 0] > 0).astype(int), classes=["a", "b"], epochs=2,
        checkpoint=ck)
    tensors, meta = load_checkpoint(ck)
    assert meta["hash"] == content_hash(tensors)
    before = file_hash(ck)
    first = next(iter(tensors))
    tensors[first] = tensors[first] + 1
    assert len(before) == 64 and content_hash(tensors) != meta["hash"]
