"""Steps shared by the tests of ``workbench train-ssl``, ``embed``, ``map`` and ``anomalies``:
a tiny Collection (40 radio images, half with a bright centre), a 1-epoch SimCLR encoder and
its embeddings, each made through the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd

import workbench
from workbench.cli import main
from workbench.io.collection import ProductSpec


def run(args, capsys):
    """Run the CLI in-process; its captured output (fails on a non-zero exit)."""
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr()
    return capsys.readouterr()


def tiny_collection(path):
    rng = np.random.default_rng(0)
    coll = workbench.create(path, {"radio": ProductSpec(("1.4GHz",), (20, 20))})
    imgs = rng.normal(0, 1, (40, 1, 20, 20)).astype(np.float32)
    imgs[:20, 0, 8:12, 8:12] += 10
    coll.append(pd.DataFrame({"id": [f"s{i}" for i in range(40)]}), {"radio": imgs},
                kind="radio")
    return coll


def train(coll, ck, capsys):
    """``workbench train-ssl``: 1 epoch of SimCLR; its output."""
    return run(["train-ssl", str(coll.path), "--method", "simclr", "--epochs", "1",
                "-o", str(ck), "--size", "16", "--batch-size", "16", "--width", "4",
                "--out-dim", "8"], capsys)


def embedded_collection(tmp_path, capsys):
    """A tiny Collection with a stored embedding (train-ssl, then embed)."""
    coll = tiny_collection(tmp_path / "c")
    ck = tmp_path / "enc.safetensors"
    train(coll, ck, capsys)
    run(["embed", str(coll.path), "--encoder", str(ck)], capsys)
    return coll
