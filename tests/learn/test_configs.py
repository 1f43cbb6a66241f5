"""SSLConfig and TrainConfig: checked when made, stored in the checkpoint, read back strictly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import workbench  # noqa: E402
from workbench.core.errors import InputError  # noqa: E402
from workbench.io.collection import ProductSpec  # noqa: E402
from workbench.learn.checkpoints import read_metadata, save_checkpoint  # noqa: E402
from workbench.learn.config import SSL_METHODS, STRETCHES, SSLConfig, TrainConfig  # noqa: E402
from workbench.learn.supervised import TrainResult, train_classifier, train_config  # noqa: E402
from workbench.learn.train import SSLResult, ssl_config, train_ssl  # noqa: E402

TINY = {"width": 4, "depth": [1, 1], "out_dim": 8}


@pytest.fixture()
def coll(tmp_path):
    rng = np.random.default_rng(1)
    n = 20
    imgs = rng.normal(0, 0.1, (n, 1, 16, 16)).astype(np.float32)
    truth = np.array(["a", "b"] * (n // 2))
    imgs[truth == "a", 0, 6:10, 6:10] += 2
    c = workbench.create(tmp_path / "c", {"radio": ProductSpec(("I",), (16, 16))})
    c.append(pd.DataFrame({"id": [f"s{i:03d}" for i in range(n)], "truth": truth}),
             {"radio": imgs}, kind="radio")
    return c


def test_ssl_config_round_trips_through_the_checkpoint(coll, tmp_path):
    cfg = SSLConfig(method="simclr", epochs=1, batch_size=8, size=16, product="radio",
                    lr=1e-3, crop=0.5, stretch="linear", weight_decay=0.0, seed=2,
                    encoder=TINY, method_options={"proj_dim": 4, "hidden": 8},
                    augment={"blur_p": 0.0, "crop_scale": [0.9, 1.0]})
    out = tmp_path / "enc.safetensors"
    res = train_ssl(coll, out=out, config=cfg)
    assert isinstance(res, SSLResult)
    # every value was given explicitly, so the settings used are the ones given, except the
    # augmentation, stored complete (its defaults filled in)
    assert res.config.with_options(augment=cfg.augment) == cfg
    assert res.config.augment["blur_p"] == 0.0 and res.config.augment["crop_scale"] == [0.9, 1.0]
    assert "noise_p" in res.config.augment
    assert ssl_config(out) == res.config
    assert read_metadata(out)["train"] == res.config.to_dict()
    # keyword arguments are the same settings
    kw = train_ssl(coll, out=tmp_path / "kw.safetensors", **{
        k: v for k, v in cfg.to_dict().items()})
    assert kw.config == res.config and kw.hash == res.hash


def test_train_config_round_trips_through_the_checkpoint(coll, tmp_path):
    cfg = TrainConfig(arch="head", source="pixels:radio:8", hidden=(16,), dropout=0.1,
                      epochs=2, batch_size=8, lr=1e-2, holdout=0.25, seed=3,
                      classes=("a", "b"))
    ck = tmp_path / "m.safetensors"
    res = train_classifier(coll, ck, config=cfg, label_column="truth")
    assert isinstance(res, TrainResult) and res.train == cfg
    assert train_config(ck) == cfg
    assert read_metadata(ck)["train"] == cfg.to_dict()
    assert set(res.labels.columns) == {"id", "label", "split"}
    assert res.metrics["n"] == (res.labels["split"] == "holdout").sum() > 0
    # defaults are resolved in what is stored: mlppa gets dropout 0 and its image product
    res2 = train_classifier(coll, tmp_path / "p.safetensors", label_column="truth",
                            arch="mlppa", size=32, epochs=1, holdout=0)
    assert res2.train.dropout == 0.0 and res2.train.product == "radio"
    assert train_config(tmp_path / "p.safetensors") == res2.train


def test_a_stored_config_with_unknown_keys_is_refused_naming_the_file(tmp_path):
    t = {"w": torch.zeros(2)}
    ck = tmp_path / "odd.safetensors"
    save_checkpoint(ck, t, {"model": {}, "train": {**TrainConfig().to_dict(), "bogus": 1}})
    with pytest.raises(InputError, match=r"unknown TrainConfig setting.*bogus") as exc:
        train_config(ck)
    assert str(ck) in str(exc.value)
    save_checkpoint(ck, t, {"model": {}, "train": {**TrainConfig().to_dict(), "epochs": -3}})
    with pytest.raises(InputError, match=r"odd.safetensors.*TrainConfig.epochs = -3"):
        train_config(ck)
    ssl = tmp_path / "ssl.safetensors"
    save_checkpoint(ssl, t, {"kind": "ssl-encoder",
                             "train": {**SSLConfig().to_dict(), "temperature": 0.1}})
    with pytest.raises(InputError, match=r"unknown SSLConfig setting.*temperature") as exc:
        ssl_config(ssl)
    assert str(ssl) in str(exc.value)


@pytest.mark.parametrize("make, match", [
    (lambda: SSLConfig(method="moco"), r"SSLConfig.method = 'moco': must be one of"),
    (lambda: SSLConfig(batch_size=1), r"SSLConfig.batch_size = 1: must be an integer >= 2"),
    (lambda: SSLConfig(crop=1.5), r"SSLConfig.crop = 1.5: must be a number in \(0.0, 1.0\]"),
    (lambda: SSLConfig(stretch="log"), r"SSLConfig.stretch = 'log'"),
    (lambda: SSLConfig(encoder=[1]), r"SSLConfig.encoder"),
    (lambda: TrainConfig(arch="resnet"), r"TrainConfig.arch = 'resnet'"),
    (lambda: TrainConfig(holdout=1.0), r"TrainConfig.holdout = 1.0"),
    (lambda: TrainConfig(epochs=2.5), r"TrainConfig.epochs = 2.5: must be an integer"),
    (lambda: TrainConfig(classes=("a",)), r"TrainConfig.classes .*at least two"),
    (lambda: TrainConfig(holdout_ids="s001"), r"TrainConfig.holdout_ids = 's001'"),
    (lambda: TrainConfig().with_options(epoch=3), r"unknown TrainConfig setting.*'epoch'"),
])
def test_bad_values_are_refused_naming_the_setting(make, match):
    with pytest.raises(InputError, match=match):
        make()


def test_bad_keyword_arguments_of_the_training_functions(coll, tmp_path):
    with pytest.raises(InputError, match=r"SSLConfig.epochs = 0"):
        train_ssl(coll, out=tmp_path / "x.safetensors", epochs=0)
    with pytest.raises(InputError, match=r"unknown SSLConfig setting.*'epoch'"):
        train_ssl(coll, out=tmp_path / "x.safetensors", epoch=3)
    with pytest.raises(InputError, match=r"TrainConfig.lr = -1"):
        train_classifier(coll, tmp_path / "x.safetensors", label_column="truth", lr=-1)
    assert not (tmp_path / "x.safetensors").exists()


def test_configs_are_json_records_and_name_what_the_code_accepts():
    from workbench.learn.data import STRETCHES as DATA_STRETCHES
    from workbench.learn.ssl import METHODS

    assert set(SSL_METHODS) == set(METHODS) and set(STRETCHES) == set(DATA_STRETCHES)
    for cfg in (SSLConfig(encoder={"depth": (1, 2)}), TrainConfig(holdout_ids=["x", 3])):
        back = type(cfg).from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert back == cfg
    assert TrainConfig(holdout_ids=["x", 3]).holdout_ids == ("x", "3")
    with pytest.raises(InputError, match="not a JSON object"):
        TrainConfig.from_dict([1, 2], path="somewhere.json")


@pytest.mark.parametrize("args, match", [
    (["train-ssl", "{c}", "-o", "{t}/e.safetensors", "--epochs", "0"], "SSLConfig.epochs = 0"),
    (["train-ssl", "{c}", "-o", "{t}/e.safetensors", "--crop", "-0.5"], "SSLConfig.crop = -0.5"),
    (["train", "{c}", "--label-column", "truth", "--model", "head", "-o", "{t}/m.safetensors",
      "--holdout", "1.5"], "TrainConfig.holdout = 1.5"),
    (["al", "round", "{c}", "--label-column", "truth", "--strategy", "nope"],
     "LoopConfig.strategy = 'nope'"),
])
def test_a_bad_setting_at_the_command_line_is_one_line_exit_2(coll, tmp_path, capsys, args,
                                                              match):
    from workbench.cli import main

    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SystemExit) as exc:
        main([a.format(c=coll.path, t=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and match in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not [n for n in coll.derived if n.startswith("al-")]
