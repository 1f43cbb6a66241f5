"""`workbench train` + `workbench predict` write pred_<class> / pred_label derived columns."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from workbench.cli import main  # noqa: E402
from workbench.io.collection import open as open_collection  # noqa: E402
from workbench.learn.checkpoints import file_hash  # noqa: E402
from workbench.learn.infer import load_model, predict_stream  # noqa: E402


def _dm_time(make, path, n=40, size=32, seed=0):
    """Fake DM-time candidates: a bright compact peak ('pulse') or a vertical stripe ('rfi')."""
    rng = np.random.default_rng(seed)
    truth = np.array(["pulse", "rfi"] * (n // 2))
    imgs = rng.normal(0, 1, (n, 1, size, size)).astype(np.float32)
    yy, xx = np.mgrid[:size, :size]
    for i, t in enumerate(truth):
        if t == "pulse":
            imgs[i, 0] += 6 * np.exp(-((yy - 16) ** 2 / 20 + (xx - 16) ** 2 / 2))
        else:
            imgs[i, 0, :, rng.integers(4, 28)] += 5
    return make(path, imgs, truth)


def test_train_then_predict_writes_derived_columns(tmp_path, capsys, make_dm_time):
    coll = _dm_time(make_dm_time, tmp_path / "tr")
    ck = tmp_path / "m.safetensors"
    main(["train", str(coll.path), "--label-column", "truth", "--model", "mlppa",
          "--size", "32", "--epochs", "15", "--lr", "3e-3", "-o", str(ck)])
    main(["predict", str(coll.path), "--model", str(ck), "--batch-size", "16"])
    c = open_collection(coll.path)
    cat = c.catalog
    assert {"pred_pulse", "pred_rfi", "pred_label"} <= set(cat.columns)
    np.testing.assert_allclose(cat["pred_pulse"] + cat["pred_rfi"], 1.0, atol=1e-5)
    assert (cat["pred_label"] == cat["truth"]).mean() > 0.8
    made = c.derived["predictions"]["made_by"]["params"]
    assert made["checkpoint_sha256"] == file_hash(ck, length=64)
    # the stream path gives the same answers as the collection path
    model, cfg = load_model(ck)
    imgs = c.read(np.arange(len(c)), ["dm_time"])["dm_time"]
    blocks = list(predict_stream(model, cfg, iter(imgs), batch_size=16))
    assert [len(b) for b in blocks] == [16, 16, 8]
    np.testing.assert_allclose(np.concatenate(blocks)[:, 0], cat["pred_pulse"], atol=1e-4)


def test_predict_refuses_foreign_checkpoint(tmp_path, capsys, make_dm_time):
    coll = _dm_time(make_dm_time, tmp_path / "tr", n=4)
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(coll.path), "--model", str(bad)])
    assert exc.value.code == 2
    assert "pickle" in capsys.readouterr().err
