"""Smaller, faster classifiers for real-time use: ONNX export, onnxruntime inference,
dynamic int8 quantisation and magnitude pruning.

The recipe follows the t2 transient-classifier study (prune, then quantise, then measure
size, speed and accuracy side by side).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from workbench.core.errors import ModelError

__all__ = ["export_onnx", "OnnxClassifier", "quantize_dynamic", "prune_model"]


def export_onnx(model, path, *, input_shape: tuple[int, ...], opset: int = 17) -> Path:
    """Write ``model`` as ONNX with a dynamic batch axis.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, *input_shape)`` to logits ``(n, k)``.
    path : path
        The ``.onnx`` file to write.
    input_shape : tuple
        One input without the batch axis, e.g. ``(1, 256, 256)`` for ML-PPA.
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.to("cpu").eval()
    dummy = torch.zeros(2, *input_shape)
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated but needs no extra packages (the dynamo
        # exporter needs onnxscript); its output is plain ONNX either way
        warnings.simplefilter("ignore", DeprecationWarning)
        _export(torch, model, dummy, path, opset)
    return path


def _export(torch, model, dummy, path, opset):
    try:
        torch.onnx.export(model, (dummy,), str(path), input_names=["input"],
                          output_names=["logits"], opset_version=opset,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          dynamo=False)
    except TypeError:  # older torch without the dynamo flag
        torch.onnx.export(model, (dummy,), str(path), input_names=["input"],
                          output_names=["logits"], opset_version=opset,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


class OnnxClassifier:
    """Run an exported classifier with onnxruntime on CPU.

    Parameters
    ----------
    path : path to a ``.onnx`` file
    threads : int, optional
        Intra-op threads (default: onnxruntime's choice).
    """

    def __init__(self, path, *, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own error types
            raise ModelError(f"cannot load ONNX model: {exc}", path=path) from exc
        self.path = Path(path)

    def logits(self, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Logits ``(n, k)`` for prepared inputs ``x`` (float32), in batches."""
        out = [self.session.run(["logits"], {"input": np.ascontiguousarray(
            x[s:s + batch_size], dtype=np.float32)})[0] for s in range(0, len(x), batch_size)]
        return np.concatenate(out)

    def predict_proba(self, x: np.ndarray, *, batch_size: int = 256,
                      temperature: float = 1.0) -> np.ndarray:
        from workbench.learn.infer import softmax

        return softmax(self.logits(x, batch_size=batch_size), temperature=temperature)


def quantize_dynamic(onnx_path, out_path) -> Path:
    """Dynamic int8 quantisation of an ONNX model's weights (onnxruntime.quantization):
    linear (MatMul/Gemm) weights stored as int8, activations quantised on the fly."""
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as _qd

    out_path = Path(out_path)
    _qd(str(onnx_path), str(out_path), weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gemm"])
    return out_path


def prune_model(model, *, amount: float = 0.5, layers: tuple[str, ...] = ("Linear",)):
    """L1 magnitude pruning (torch.nn.utils.prune) of the weights of the given layer types;
    the zeros are made permanent. Returns the model (modified in place) and the fraction
    of all weights that are now zero."""
    import torch
    from torch.nn.utils import prune

    for m in model.modules():
        if type(m).__name__ in layers and isinstance(getattr(m, "weight", None),
                                                     torch.nn.Parameter):
            prune.l1_unstructured(m, "weight", amount=amount)
            prune.remove(m, "weight")
    total = sum(p.numel() for p in model.parameters())
    zeros = sum(int((p == 0).sum()) for p in model.parameters())
    return model, zeros / total
