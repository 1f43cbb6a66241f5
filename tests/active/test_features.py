"""--features auto|pixels|embedding-<hash>: stored SSL embeddings are used when present."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from workbench.cli import cli  # noqa: E402
from workbench.core.errors import ModelError  # noqa: E402
from workbench.learn.pool_features import (  # noqa: E402
    embedding_arrays,
    features_for,
    resolve_source,
)


def _made(created):
    return {"name": "workbench.learn.encode", "version": "0", "params": {}, "created": created}


def _add_embeddings(coll, seed=0):
    """Two stored embeddings (the second newer) and a non-embedding derived array."""
    rng = np.random.default_rng(seed)
    truth = coll.catalog["truth"].to_numpy()
    good = np.c_[(truth == "point") * 6.0, rng.normal(size=(len(coll), 7))].astype(np.float32)
    coll.add_array("embedding-aaaa11112222", rng.normal(size=(len(coll), 8)).astype(np.float32),
                   made=_made("2026-01-01T00:00:00+00:00"))
    coll.add_array("embedding-bbbb33334444", good, made=_made("2026-02-01T00:00:00+00:00"))
    coll.add_array("truth_masks", np.zeros((len(coll), 2), np.int8), tool="sims")
    return good


def test_auto_uses_newest_embeddings_else_pixels(blobs):
    assert resolve_source(blobs, "auto") == "pixels:img:16"
    assert resolve_source(blobs, None) == resolve_source(blobs, "pixels") == "pixels:img:16"
    with pytest.raises(ModelError, match="no stored embeddings"):
        resolve_source(blobs, "embedding")
    good = _add_embeddings(blobs)
    assert embedding_arrays(blobs) == ["embedding-bbbb33334444", "embedding-aaaa11112222"]
    assert resolve_source(blobs, "auto") == "embedding:embedding-bbbb33334444"
    assert resolve_source(blobs, "embedding-aaaa") == "embedding:embedding-aaaa11112222"
    assert resolve_source(blobs, "pixels") == "pixels:img:16"
    np.testing.assert_array_equal(features_for(blobs, source=resolve_source(blobs)), good)
    with pytest.raises(ModelError, match="no stored embedding arrays match") as err:
        resolve_source(blobs, "embedding-ffff")
    assert "embedding-bbbb33334444" in err.value.hint
    with pytest.raises(ModelError, match="several"):
        resolve_source(blobs, "embedding-")
    with pytest.raises(ModelError, match="unknown features"):
        resolve_source(blobs, "colour")


@pytest.mark.slow
def test_cli_train_and_al_simulate_take_features(blobs, tmp_path):
    _add_embeddings(blobs)
    runner = CliRunner()
    ck = tmp_path / "head.safetensors"
    r = runner.invoke(cli, ["train", str(blobs.path), "--label-column", "truth", "--model",
                            "head", "--features", "embedding-bbbb", "--epochs", "30",
                            "-o", str(ck)])
    assert r.exit_code == 0, r.output
    report = json.loads(ck.with_suffix(".json").read_text())
    assert report["input"]["source"] == "embedding:embedding-bbbb33334444"
    # The newest embedding separates the classes (the older one is noise, ~0.5); exact
    # figures vary with the CPU's thread count, so the bound leaves room for one or two slips.
    assert report["metrics"]["accuracy"] >= 0.9
    r = runner.invoke(cli, ["train", str(blobs.path), "--label-column", "truth", "--features",
                            "pixels", "-o", str(tmp_path / "x.safetensors")])
    assert r.exit_code != 0 and "--model head" in r.output
    out = tmp_path / "al.json"
    r = runner.invoke(cli, ["al", "simulate", str(blobs.path), "--label-column", "truth",
                            "--strategies", "random,margin", "--budget", "20", "--seeds", "1",
                            "--features", "pixels", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["features"].startswith("pixels:img:16+pca")
    r = runner.invoke(cli, ["al", "simulate", str(blobs.path), "--label-column", "truth",
                            "--strategies", "random", "--budget", "20", "--seeds", "1",
                            "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["features"] == "embedding:embedding-bbbb33334444"
