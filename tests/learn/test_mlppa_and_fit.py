"""ML-PPA layer shapes and parameter count; training errors; class weighting; checkpoints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from workbench.core.errors import ModelError  # noqa: E402
from workbench.learn.classifiers import EmbeddingHead  # noqa: E402
from workbench.learn.fit import class_weights, encode_labels, fit  # noqa: E402
from workbench.learn.mlppa import MLPPA, mlppa_output_shapes  # noqa: E402


def _n_params(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def test_mlppa_256_has_exact_parameter_count_and_shapes():
    assert _n_params(MLPPA(256)) == 9_985_022
    assert mlppa_output_shapes(256) == [
        ("Conv2d", (4, 252, 252)), ("MaxPool2d", (4, 126, 126)),
        ("Conv2d", (8, 122, 122)), ("MaxPool2d", (8, 61, 61)),
        ("Conv2d", (12, 57, 57)), ("Flatten", (38988,)),
        ("Linear", (256,)), ("Linear", (2,))]


@pytest.mark.parametrize("size", [32, 64, 128, 256])
@pytest.mark.parametrize("depth", [2, 3])
def test_mlppa_variants_forward(size, depth):
    m = MLPPA(size, depth=depth).eval()
    out = m(torch.zeros(3, 1, size, size))
    assert out.shape == (3, 2)
    shapes = mlppa_output_shapes(size, depth=depth)
    assert sum(1 for name, _ in shapes if name == "Conv2d") == depth
    flat = dict(shapes)["Flatten"][0]
    assert m.n_flat == flat


@pytest.mark.parametrize("kw", [{"input_size": 100}, {"depth": 4}])
def test_mlppa_bad_variant(kw):
    with pytest.raises(ModelError):
        MLPPA(**{"input_size": 64, **kw})


def test_class_weights_balance_rare_class():
    y = np.array([0] * 90 + [1] * 10)
    w = class_weights(y, 2)
    # each class contributes the same total weight
    assert w[0] * 90 == pytest.approx(w[1] * 10)
    assert w[1] > w[0]


@pytest.mark.slow
def test_balanced_weighting_finds_rare_class():
    rng = np.random.default_rng(0)
    n0, n1 = 300, 12
    x = np.concatenate([rng.normal(0, 1, (n0, 2)), rng.normal(1.3, 1, (n1, 2))]).astype(np.float32)
    y = np.array([0] * n0 + [1] * n1)
    recalls = {}
    for cw in ("balanced", None):
        r = fit(EmbeddingHead(2, 2, hidden=(), dropout=0), x, y, classes=["a", "b"],
                epochs=60, batch_size=64, lr=0.05, class_weight=cw, seed=0)
        pred = r.model(torch.from_numpy(x)).argmax(1).numpy()
        recalls[cw] = (pred[y == 1] == 1).mean()
    assert recalls["balanced"] > recalls[None]


@pytest.mark.parametrize("labels, match", [
    (pd.Series([], dtype=object), "no labels"),
    (pd.Series(["rfi", "rfi", "rfi"]), "only one class"),
    (pd.Series(["rfi", "pulse", "artefact"]), "not classes of the scheme"),
])
def test_encode_labels_errors(labels, match):
    with pytest.raises(ModelError, match=match):
        encode_labels(labels, classes=["rfi", "pulse"])


def test_fit_one_class_refused():
    with pytest.raises(ModelError, match="one class"):
        fit(EmbeddingHead(3, 2), np.zeros((4, 3), np.float32), np.zeros(4, int),
            classes=["a", "b"], epochs=1)


def test_fit_cancel_and_progress(tmp_path):
    seen = []
    x = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    y = np.arange(40) % 2
    from workbench.learn.fit import TrainingCancelled

    with pytest.raises(TrainingCancelled):
        fit(EmbeddingHead(4, 2), x, y, classes=["a", "b"], epochs=5, batch_size=8,
            progress=seen.append, cancel=lambda: len(seen) >= 2,
            checkpoint=tmp_path / "m.safetensors")
    assert len(seen) == 2
    assert not (tmp_path / "m.safetensors").exists()


def test_labels_from_store_refuses_dropped_answer(monkeypatch):
    from types import SimpleNamespace

    import workbench.labeling.consensus as consensus
    from workbench.learn.fit import labels_from_store

    scheme = SimpleNamespace(class_question="class", questions=[
        SimpleNamespace(id="class", answers=[SimpleNamespace(value="frb"),
                                             SimpleNamespace(value="rfi")])])
    cons = pd.DataFrame({"item_id": ["a", "b", "c"], "label": ["frb", "rfi", "pulsar_old"]})
    camp = SimpleNamespace(scheme=scheme, table=cons)
    # consensus of a campaign whose scheme dropped an answer: stands in for the store
    monkeypatch.setattr(consensus, "campaign_consensus", lambda c, *a, **k: c.table)
    with pytest.raises(ModelError, match="pulsar_old"):
        labels_from_store(None, camp)
    camp.table = cons.iloc[:2]
    assert list(labels_from_store(None, camp)) == ["frb", "rfi"]


def test_mlppa_trains_without_dropout_by_default_bald_needs_it(tmp_path, make_dm_time):
    """The plain ML-PPA network is the published one (no dropout); MC dropout refuses it
    and works once dropout is asked for; the head keeps its 0.2."""
    from workbench.learn.infer import load_model, mc_dropout_proba
    from workbench.learn.supervised import train_classifier

    rng = np.random.default_rng(0)
    n = 24
    imgs = rng.normal(size=(n, 1, 32, 32)).astype(np.float32)
    truth = np.array(["a", "b"] * (n // 2))
    imgs[truth == "a", 0, 12:20, 12:20] += 3
    coll = make_dm_time(tmp_path / "c", imgs, truth)
    x = imgs[:6]
    kw = {"label_column": "truth", "arch": "mlppa", "size": 32, "epochs": 1, "holdout": 0}
    train_classifier(coll, tmp_path / "plain.safetensors", **kw)
    plain, cfg = load_model(tmp_path / "plain.safetensors")
    assert cfg["model"]["dropout"] == 0.0
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in plain.modules())
    with pytest.raises(ModelError, match="dropout > 0"):
        mc_dropout_proba(plain, x, samples=3)
    train_classifier(coll, tmp_path / "mc.safetensors", dropout=0.2, **kw)
    mc_model, cfg = load_model(tmp_path / "mc.safetensors")
    assert cfg["model"]["dropout"] == 0.2
    samples = mc_dropout_proba(mc_model, x, samples=3)
    assert samples.shape == (3, 6, 2) and np.ptp(samples, axis=0).max() > 0
    assert _n_params(plain) == _n_params(mc_model)  # dropout adds no parameters
    train_classifier(coll, tmp_path / "head.safetensors", label_column="truth", arch="head",
                     features=imgs.reshape(n, -1), source="pixels", epochs=1, holdout=0)
    assert load_model(tmp_path / "head.safetensors")[1]["model"]["dropout"] == 0.2


def test_fine_tuning_trains_the_encoder_and_rebuilds_from_its_config():
    from workbench.learn.classifiers import FineTuneClassifier, build_model
    from workbench.learn.encoders import build_encoder, encoder_config

    torch.manual_seed(0)
    enc = build_encoder(encoder_config(1, width=4, out_dim=8))
    model = FineTuneClassifier(enc, 8, 2, dropout=0.0)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (32, 1, 16, 16)).astype(np.float32)
    y = np.array([0, 1] * 16)  # class indices into classes=
    x[y == 1, 0, 6:10, 6:10] += 3.0
    res = fit(model, x, y, classes=["a", "b"], epochs=3, batch_size=8, device="cpu")
    after = res.model.encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())
    again = build_model(res.model.config)
    again.load_state_dict(res.model.state_dict())
    again.eval()
    with torch.no_grad():
        xt = torch.from_numpy(x[:4])
        assert torch.allclose(again(xt), res.model.eval()(xt))
