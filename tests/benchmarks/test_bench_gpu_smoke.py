"""benchmarks/bench_gpu.py keeps working without a GPU (issue 14, point 7): ``--cpu-smoke``
runs every path on CPU and writes every figure; without a GPU the real run refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_gpu.py"


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_cpu_smoke_measures_every_path(tmp_path):
    out = tmp_path / "gpu.json"
    r = _run("--cpu-smoke", "--json", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["cpu_smoke"] is True and res["device_type"] == "cpu"
    assert "says nothing about GPU" in res["note"]
    s = res["sections"]
    assert set(s) == {"ssl", "embed", "mlppa", "al_round", "map"}
    ssl = s["ssl"]
    assert ssl["train_ssl_img_s"] > 0 and ssl["train_ssl_steps"] >= 2
    assert set(ssl["step_variants"]) == {"eager_fp32", "bf16_channels_last",
                                         "bf16_channels_last_compiled"}
    for v in ssl["step_variants"].values():
        assert v["img_s"] > 0 and v["finite_loss"] is True
    assert ssl["fastest_step_variant"] in ssl["step_variants"]
    assert s["embed"]["embed_img_s"] > 0 and s["embed"]["n_images"] == ssl["n_images"]
    ml = s["mlppa"]
    assert ml["torch_candidates_s"] > 0 and ml["onnx_cpu_candidates_s"] > 0
    assert ml["onnx_cpu_max_abs_diff_vs_torch"] < 1e-4  # the export computes the same logits
    assert ml["onnx_cuda"].startswith("not available")
    al = s["al_round"]
    assert al["round_s"] > 0 and al["pool_items_scored_per_s"] > 0 and al["queued"] == 200
    assert s["map"]["offered"] is False and "cuML" in s["map"]["why"]
    assert res["total_s"] > 0


def test_without_a_gpu_the_real_run_refuses():
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present here")
    r = _run("--json", os.devnull, timeout=120)
    assert r.returncode != 0
    assert "no CUDA GPU" in r.stderr and "--cpu-smoke" in r.stderr
