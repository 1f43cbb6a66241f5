"""predict_collection / `workbench predict --backend torch|onnx|onnx-int8`: ONNX exports
cached beside the checkpoint by its SHA-256, same answers as torch (int8: nearly), backend
and checkpoint hash in the provenance, unexportable architectures refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from workbench.cli import main  # noqa: E402
from workbench.core.errors import InputError, ModelError  # noqa: E402
from workbench.io.collection import open as open_collection  # noqa: E402
from workbench.learn.checkpoints import file_hash, load_checkpoint, save_checkpoint  # noqa: E402
from workbench.learn.compact import onnx_cache_dir  # noqa: E402
from workbench.learn.infer import predict_collection  # noqa: E402
from workbench.learn.supervised import train_classifier  # noqa: E402


def _candidates(make, path, n=96, size=64, seed=1):
    """DM-time-like images: a compact dispersed peak ('pulse') or a vertical stripe ('rfi'),
    with the peak's brightness varied so that some items are hard (probabilities near 0.5)."""
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(n) < 0.5, "pulse", "rfi")
    imgs = rng.normal(0, 1, (n, 1, size, size)).astype(np.float32)
    yy, xx = np.mgrid[:size, :size]
    for i, t in enumerate(truth):
        amp = rng.uniform(1.0, 6.0)
        if t == "pulse":
            cy, cx = rng.integers(20, size - 20, 2)
            imgs[i, 0] += amp * np.exp(-((yy - cy) ** 2 / 40 + (xx - cx) ** 2 / 3))
        else:
            imgs[i, 0, :, rng.integers(4, size - 4)] += amp
    return make(path, imgs, truth)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, make_dm_time):
    tmp = tmp_path_factory.mktemp("backends")
    coll = _candidates(make_dm_time, tmp / "tr")
    ck = tmp / "m.safetensors"
    train_classifier(coll, ck, label_column="truth", arch="mlppa", size=64, epochs=6,
                     batch_size=16, lr=2e-3, holdout=0.2, seed=0)
    return coll.path, ck


def _probs(df):
    return df[["pred_pulse", "pred_rfi"]].to_numpy(np.float64)


def test_onnx_matches_torch_and_int8_nearly(trained):
    path, ck = trained
    coll = open_collection(path, "r+")
    ref = predict_collection(coll, ck, batch_size=32, write=False)
    onnx = predict_collection(coll, ck, batch_size=32, write=False, backend="onnx")
    # same fp32 network: only the summation order of the kernels differs (~1e-6 relative
    # on logits of order 1-10); 1e-4 on probabilities leaves two orders of margin
    assert (onnx["pred_label"] == ref["pred_label"]).all()
    np.testing.assert_allclose(_probs(onnx), _probs(ref), atol=1e-4)
    int8 = predict_collection(coll, ck, batch_size=32, write=False, backend="onnx-int8")
    # int8 weights of the dense layers (972 -> 256 -> 2 here) with activations quantised
    # per batch: measured mean |dp| 5e-4, max 2.4e-3 with all 96 labels kept. The bounds
    # allow ~10x that; a broken quantisation (wrong scales, saturated activations) moves
    # probabilities by tenths and flips the items near 0.5 (there are ~20 within 0.1 of it)
    agree = (int8["pred_label"] == ref["pred_label"]).mean()
    diff = np.abs(_probs(int8) - _probs(ref))
    assert agree >= 0.95, agree
    assert diff.mean() < 0.005 and diff.max() < 0.03, (diff.mean(), diff.max())
    assert 0 < diff.max()  # it really ran the quantised model
    # both exports are cached under the checkpoint's SHA-256
    digest = file_hash(ck, length=64)
    names = sorted(p.name for p in onnx_cache_dir(ck).glob("*.onnx"))
    assert names == [f"{digest}.fp32.onnx", f"{digest}.int8.onnx"]
    fp32, q = (onnx_cache_dir(ck) / n for n in names)
    assert q.stat().st_size < 0.5 * fp32.stat().st_size


def test_changed_checkpoint_is_exported_again(trained, tmp_path):
    path, ck0 = trained
    coll = open_collection(path, "r+")
    ck = tmp_path / "m.safetensors"
    ck.write_bytes(ck0.read_bytes())
    first = predict_collection(coll, ck, write=False, backend="onnx")
    old = onnx_cache_dir(ck) / f"{file_hash(ck, length=64)}.fp32.onnx"
    stamp = old.stat().st_mtime_ns
    predict_collection(coll, ck, write=False, backend="onnx")
    assert old.stat().st_mtime_ns == stamp  # reused, not exported again
    # same file name, new weights: flip the sign of the output layer -> labels swap
    state, meta = load_checkpoint(ck)
    (last,) = [k for k, v in state.items() if k.endswith("weight") and v.shape[0] == 2]
    state[last] = -state[last]
    state[last.replace("weight", "bias")] = -state[last.replace("weight", "bias")]
    save_checkpoint(ck, state, meta)
    second = predict_collection(coll, ck, write=False, backend="onnx")
    np.testing.assert_allclose(second["pred_pulse"], first["pred_rfi"], atol=1e-4)
    assert not old.exists()  # the stale export is gone, the new one is keyed by the new hash
    assert [p.name for p in onnx_cache_dir(ck).glob("*.onnx")] == [
        f"{file_hash(ck, length=64)}.fp32.onnx"]


def test_cli_backend_writes_provenance(trained, capsys):
    path, ck = trained
    digest = file_hash(ck, length=64)
    main(["predict", str(path), "--model", str(ck), "--batch-size", "256",
          "--backend", "onnx-int8"])
    assert "with onnx-int8" in capsys.readouterr().out
    c = open_collection(path)
    made = c.derived["predictions"]["made_by"]["params"]
    assert (made["backend"], made["checkpoint_sha256"]) == ("onnx-int8", digest)
    int8_labels = c.catalog["pred_label"].copy()
    main(["predict", str(path), "--model", str(ck), "--batch-size", "256"])  # as before
    c = open_collection(path)
    made = c.derived["predictions"]["made_by"]["params"]
    assert (made["backend"], made["checkpoint_sha256"]) == ("torch", digest)
    assert (c.catalog["pred_label"] == int8_labels).mean() >= 0.95
    assert (c.catalog["pred_label"] == c.catalog["truth"]).mean() > 0.7


def test_unknown_backend_and_gpu_onnx_refused(trained):
    path, ck = trained
    coll = open_collection(path, "r+")
    with pytest.raises(InputError, match="backend"):
        predict_collection(coll, ck, write=False, backend="tensorrt")
    with pytest.raises(InputError, match="CPU"):
        predict_collection(coll, ck, write=False, backend="onnx", device="cuda")


class _FFTHead(torch.nn.Module):
    """A head whose forward uses an FFT, which the ONNX exporter cannot express."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.config = {"n_classes": 2}

    def forward(self, x):
        return self.net(torch.fft.fft(x).real)


def test_unexportable_architecture_is_a_model_error_naming_the_file(tmp_path, monkeypatch,
                                                                    make_dm_time):
    from workbench.learn import classifiers

    coll = _candidates(make_dm_time, tmp_path / "tr", n=24)
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(len(coll), 8)).astype(np.float32)
    coll.add_array("embedding-test", feats)  # where predict reads the head's features from
    ck = tmp_path / "head.safetensors"
    train_classifier(coll, ck, label_column="truth", arch="head", features=feats,
                     source="embedding:embedding-test", epochs=1, holdout=0.0)
    real = classifiers.build_model
    monkeypatch.setattr(classifiers, "build_model", lambda cfg: _FFTHead(real(cfg).net))
    with pytest.raises(ModelError, match="cannot be exported to ONNX") as exc:
        predict_collection(coll, ck, write=False, backend="onnx")
    assert str(ck) in str(exc.value)
    assert not list(onnx_cache_dir(ck).glob("*.onnx"))  # nothing half-written is left
    # the torch backend still works with the same checkpoint
    df = predict_collection(coll, ck, write=False)
    assert len(df) == len(coll)
