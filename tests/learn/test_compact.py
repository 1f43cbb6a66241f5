"""ONNX export matches torch; int8 quantisation shrinks the model; pruning zeroes weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from workbench.learn.compact import (  # noqa: E402
    OnnxClassifier,
    export_onnx,
    prune_model,
    quantize_dynamic,
)
from workbench.learn.infer import predict_proba  # noqa: E402
from workbench.learn.mlppa import MLPPA  # noqa: E402


def test_onnx_int8_and_pruning(tmp_path):
    torch.manual_seed(0)
    model = MLPPA(64, depth=3).eval()
    x = np.random.default_rng(0).normal(size=(5, 1, 64, 64)).astype(np.float32)
    onnx = export_onnx(model, tmp_path / "m.onnx", input_shape=(1, 64, 64))
    sess = OnnxClassifier(onnx)
    np.testing.assert_allclose(sess.predict_proba(x), predict_proba(model, x), atol=1e-5)
    q = quantize_dynamic(onnx, tmp_path / "q.onnx")
    assert q.stat().st_size < 0.5 * onnx.stat().st_size
    assert np.abs(OnnxClassifier(q).predict_proba(x) - predict_proba(model, x)).max() < 0.05
    pruned, frac = prune_model(model, amount=0.6)
    dense = pruned.classifier[2].weight
    assert (dense == 0).float().mean().item() == pytest.approx(0.6, abs=0.01)
    assert 0.5 < frac < 0.61
