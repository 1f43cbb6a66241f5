"""workbench train-ssl (issue 7): writes an encoder checkpoint; Ctrl-C saves a resumable one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from _embedding_steps import tiny_collection, train  # noqa: E402

import workbench  # noqa: E402
from workbench.io.collection import ProductSpec  # noqa: E402


def test_train_ssl_writes_a_complete_encoder_checkpoint(tmp_path, capsys):
    from workbench.learn.checkpoints import read_metadata

    coll = tiny_collection(tmp_path / "c")
    ck = tmp_path / "enc.safetensors"
    out = train(coll, ck, capsys)
    assert out.out.startswith(f"wrote {ck}") and ck.exists()
    meta = read_metadata(ck)
    assert meta["complete"] is True and meta["method"]["method"] == "simclr"
    assert meta["encoder"]["out_dim"] == 8 and meta["hash"][:12] in out.out


def test_ctrl_c_in_train_ssl_saves_a_resumable_checkpoint(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from workbench.learn.checkpoints import read_metadata

    rng = np.random.default_rng(1)
    coll = workbench.create(tmp_path / "c", {"radio": ProductSpec(("1.4GHz",), (16, 16))})
    coll.append(pd.DataFrame({"id": [f"s{i}" for i in range(32)]}),
                {"radio": rng.normal(0, 1, (32, 1, 16, 16)).astype(np.float32)}, kind="radio")
    ck = tmp_path / "enc.safetensors"
    args = [sys.executable, "-m", "workbench.cli", "train-ssl", str(coll.path), "--epochs", "100000",
            "-o", str(ck), "--size", "16", "--batch-size", "8", "--width", "4", "--out-dim", "8"]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    first = proc.stderr.readline()  # the first progress line: training is under way
    assert first.startswith("epoch "), first
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, rest
    assert "stopping after this step" in rest and "cancelled after" in rest, rest
    assert "--resume" in rest and ck.exists()
    meta = read_metadata(ck)
    assert meta["complete"] is False  # saved mid-run, so --resume continues from it
