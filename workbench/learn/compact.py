"""Smaller, faster classifiers for real-time use: ONNX export, onnxruntime inference,
dynamic int8 quantisation and magnitude pruning.

The recipe follows the t2 transient-classifier study (prune, then quantise, then measure
size, speed and accuracy side by side). :func:`onnx_for_checkpoint` gives the ONNX (fp32 or
int8) twin of a classifier checkpoint, exported once and cached beside it under the
checkpoint's SHA-256, for ``predict_collection(..., backend="onnx" | "onnx-int8")``.
"""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path

import numpy as np

from workbench.core.errors import ModelError

__all__ = ["export_onnx", "OnnxClassifier", "quantize_dynamic", "prune_model",
           "onnx_for_checkpoint", "onnx_cache_dir"]


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
    import logging

    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as _qd

    out_path = Path(out_path)
    root = logging.getLogger()  # onnxruntime logs advice about static pre-processing there

    def quiet(rec):
        return "pre-processing before quantization" not in rec.getMessage()

    root.addFilter(quiet)
    try:
        _qd(str(onnx_path), str(out_path), weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"])
    finally:
        root.removeFilter(quiet)
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


def onnx_cache_dir(checkpoint) -> Path:
    """Folder beside ``checkpoint`` holding its ONNX exports (``<name>-onnx/``)."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.name}-onnx")


def _input_shape(config: dict) -> tuple[int, ...]:
    """One model input without the batch axis, from a classifier checkpoint's config."""
    spec, mcfg = config.get("input", {}), config.get("model", {})
    if spec.get("kind", "images") == "features":
        return (int(mcfg.get("in_dim") or len(spec["mean"])),)
    c = mcfg.get("in_channels") or mcfg.get("encoder", {}).get("in_channels", 1)
    return (int(c), int(spec["size"]), int(spec["size"]))


def onnx_for_checkpoint(checkpoint, *, int8: bool = False, digest: str | None = None) -> Path:
    """The ONNX export of a classifier checkpoint, made on first use and cached.

    The files live in :func:`onnx_cache_dir` as ``<sha256>.fp32.onnx`` and
    ``<sha256>.int8.onnx``, keyed by the SHA-256 of the checkpoint file, so a changed
    checkpoint is exported again (exports of other hashes are then removed). The fp32
    export is checked against torch on a seeded random batch before it is kept; int8 is
    :func:`quantize_dynamic` of the fp32 export (the quantisation the benchmark measures).

    Parameters
    ----------
    checkpoint : path
        A classifier checkpoint written by ``workbench train`` (.safetensors).
    int8 : bool
        Return the dynamically quantised (int8 weights) model instead of fp32.
    digest : str, optional
        The checkpoint's SHA-256 (hex, 64 digits) if already known.

    Raises
    ------
    ModelError
        The file is not a workbench classifier checkpoint, or its architecture cannot be
        exported to ONNX (or the export does not reproduce torch's logits).
    """
    from workbench.learn.checkpoints import file_hash

    checkpoint = Path(checkpoint)
    digest = digest or file_hash(checkpoint, length=64)
    folder = onnx_cache_dir(checkpoint)
    fp32 = folder / f"{digest}.fp32.onnx"
    target = folder / f"{digest}.int8.onnx" if int8 else fp32
    if target.is_file():
        return target
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the ONNX cache folder ({exc.strerror or exc})",
                         path=folder, hint="make the checkpoint's folder writable, or use "
                                           "the torch backend") from exc
    if not fp32.is_file():
        _export_checked(checkpoint, fp32)
    if int8:
        _atomic(target, lambda tmp: quantize_dynamic(fp32, tmp))
    for old in folder.glob("*.onnx"):  # exports of an earlier version of the checkpoint
        if not old.name.startswith((digest, ".")):  # (".tmp-*": another export under way)
            old.unlink(missing_ok=True)
    return target


def _atomic(path: Path, write) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path``, then rename it into place
    (two processes exporting at once each rename a complete file)."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _export_checked(checkpoint: Path, out: Path) -> None:
    import torch

    from workbench.learn.infer import load_model, predict_logits

    model, config = load_model(checkpoint)
    shape = _input_shape(config)
    arch = config["model"].get("arch")

    def write(tmp):
        try:
            export_onnx(model, tmp, input_shape=shape)
        except Exception as exc:  # torch.onnx raises many types (unsupported operators, ...)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"the {arch!r} model in this checkpoint cannot be exported to "
                             f"ONNX: {first}", path=checkpoint,
                             hint="predict with backend 'torch' (the default)") from exc
        x = torch.Generator().manual_seed(0)
        x = torch.randn((4, *shape), generator=x).numpy()
        ref = predict_logits(model, x, device="cpu")
        got = OnnxClassifier(tmp).logits(x)
        # fp32 kernels differ only in summation order: ~1e-6 relative; 1e-3 is far above
        # that and far below what a wrongly traced (data-dependent) forward produces
        if not np.allclose(got, ref, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(ref).max()))):
            raise ModelError("the ONNX export of this checkpoint does not reproduce torch's "
                             f"logits (max difference {np.abs(got - ref).max():.3g}); its "
                             "forward pass probably depends on the data", path=checkpoint,
                             hint="predict with backend 'torch' (the default)")

    _atomic(out, write)
