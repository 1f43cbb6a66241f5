"""workbench train-ssl / embed / map / anomalies on a tiny Collection (issue 7)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

import workbench  # noqa: E402
from workbench.cli import main  # noqa: E402
from workbench.io.collection import ProductSpec  # noqa: E402


def _run(args, capsys):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr()
    return capsys.readouterr()


def test_train_embed_map_anomalies_store_derived_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    coll = workbench.create(tmp_path / "c", {"radio": ProductSpec(("1.4GHz",), (20, 20))})
    imgs = rng.normal(0, 1, (40, 1, 20, 20)).astype(np.float32)
    imgs[:20, 0, 8:12, 8:12] += 10
    coll.append(pd.DataFrame({"id": [f"s{i}" for i in range(40)]}), {"radio": imgs},
                kind="radio")
    ck = tmp_path / "enc.safetensors"
    out = _run(["train-ssl", str(coll.path), "--method", "simclr", "--epochs", "1",
                "-o", str(ck), "--size", "16", "--batch-size", "16", "--width", "4",
                "--out-dim", "8"], capsys)
    assert "wrote" in out.out and ck.exists()
    out = _run(["embed", str(coll.path), "--encoder", str(ck)], capsys)
    assert out.out.startswith("stored embedding-")
    out = _run(["embed", str(coll.path), "--encoder", str(ck)], capsys)
    assert out.out.startswith("reused embedding-")
    _run(["map", str(coll.path), "--method", "pca", "--cluster", "hdbscan",
          "--min-cluster-size", "5"], capsys)
    out = _run(["anomalies", str(coll.path), "--method", "knn", "--top", "3"], capsys)
    assert len(out.out.strip().splitlines()) == 4
    info = json.loads(_run(["info", str(coll.path), "--json"], capsys).out)
    names = set(info["derived"])
    assert {"map-pca", "clusters", "anomaly-knn"} <= names
    assert any(n.startswith("embedding-") for n in names)
    assert info["derived"]["map-pca"]["made_by"]["params"]["embedding"].startswith("embedding-")
    cat = workbench.open(coll.path).catalog
    assert {"pca_x", "pca_y", "cluster", "outlier_glosh", "anomaly_knn"} <= set(cat.columns)


def test_map_without_embeddings_says_what_to_do(tmp_path, capsys):
    coll = workbench.create(tmp_path / "c", {"radio": ProductSpec(("1.4GHz",), (8, 8))})
    coll.append(pd.DataFrame({"id": ["a", "b", "c"]}), {"radio": np.zeros((3, 1, 8, 8))},
                kind="radio")
    with pytest.raises(SystemExit) as exc:
        main(["map", str(coll.path), "--method", "pca"])
    assert exc.value.code == 2
    assert "workbench embed" in capsys.readouterr().err


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
