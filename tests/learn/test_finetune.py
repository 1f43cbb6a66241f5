"""Rotation-averaged embeddings and the last-block fine-tuning head (issue 17)."""

import numpy as np
import pytest
import torch

from workbench.core.errors import InputError
from workbench.learn.encoders import ResNetEncoder
from workbench.learn.finetune import (
    FinetuneHead,
    dihedral_embedding,
    dihedral_views,
    stage_inputs,
)


def _encoder(seed=0):
    torch.manual_seed(seed)
    return ResNetEncoder(1, width=4, depth=(1, 1), out_dim=8).eval()


def test_dihedral_embedding_is_invariant_to_flips_and_quarter_turns():
    rng = np.random.default_rng(0)
    imgs = torch.as_tensor(rng.normal(size=(3, 1, 16, 16)).astype(np.float32))
    enc = _encoder()
    base = dihedral_embedding(enc, imgs)
    for view in dihedral_views(imgs)[1:]:
        np.testing.assert_allclose(dihedral_embedding(enc, view), base, atol=1e-5)
    # the plain encoder is not invariant: the averaging is what makes it so
    with torch.no_grad():
        plain, turned = enc(imgs).numpy(), enc(torch.rot90(imgs, 1, dims=(-2, -1))).numpy()
    assert np.abs(plain - turned).max() > 1e-3
    pooled = dihedral_embedding(enc, imgs, pooled=True)
    assert pooled.shape == (3, enc.feature_dim)


def test_dihedral_views_reject_non_square():
    with pytest.raises(InputError, match="square"):
        dihedral_views(torch.zeros(2, 1, 8, 6))


def _toy(n, seed):
    """Class 0: one central blob; class 1: two blobs far apart (any orientation)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:16, :16] - 7.5
    imgs, y = [], rng.integers(0, 2, n)
    for c in y:
        a = rng.uniform(0, np.pi)
        if c == 0:
            im = np.exp(-(xx**2 + yy**2) / 4)
        else:
            dx, dy = 5 * np.cos(a), 5 * np.sin(a)
            im = (np.exp(-((xx - dx) ** 2 + (yy - dy) ** 2) / 2)
                  + np.exp(-((xx + dx) ** 2 + (yy + dy) ** 2) / 2))
        imgs.append(im + rng.normal(0, 0.05, im.shape))
    return torch.as_tensor(np.array(imgs, np.float32)[:, None]), y


def test_finetune_head_learns_a_separable_toy_set_from_labelled_items_only():
    imgs, y = _toy(120, 1)
    enc = _encoder(1)
    inp = stage_inputs(enc, imgs)
    assert inp.shape[:2] == (120, 8)
    head = FinetuneHead(enc, inp, steps=80, batch_size=32)
    before = {k: v.clone() for k, v in list(enc.stages)[-1].state_dict().items()}
    tr, ev = np.arange(60), np.arange(60, 120)
    probs, samples, feats = head(tr, y[tr], ev, 2, seed=0, need_samples=True)
    assert probs.shape == (60, 2) and samples.shape == (10, 60, 2)
    assert feats.shape == (60, enc.feature_dim)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-6)
    assert (probs.argmax(1) == y[ev]).mean() >= 0.85
    # the encoder handed in is never modified (each round starts from the SSL weights)
    for k, v in list(enc.stages)[-1].state_dict().items():
        assert torch.equal(v, before[k])
    # shuffled labels: held-out accuracy falls towards chance (the head uses the labels)
    rng = np.random.default_rng(0)
    p2, _, _ = head(tr, rng.permutation(y[tr]), ev, 2, seed=0, need_samples=False)
    assert (p2.argmax(1) == y[ev]).mean() < 0.8


def test_finetune_head_in_the_oracle_simulation():
    from workbench.active.oracle import simulate_strategies

    imgs, y = _toy(90, 2)
    enc = _encoder(2)
    head = FinetuneHead(enc, stage_inputs(enc, imgs), steps=40, batch_size=32)
    res = simulate_strategies(np.random.default_rng(0).normal(size=(90, 3)),
                              np.where(y == 0, "a", "b"), strategies=["random", "bald"],
                              budget=30, seeds=1, initial=6, step=12, head=head, n_boot=50)
    assert res["settings"]["head"] == "finetune"
    # features here are noise: accuracy above chance comes from the head's own inputs
    assert res["curves"]["bald"]["0"]["accuracy"][-1] >= 0.8


def test_finetune_head_rejects_wrong_inputs():
    with pytest.raises(InputError, match="stage_inputs"):
        FinetuneHead(_encoder(), torch.zeros(4, 3, 8, 8))
