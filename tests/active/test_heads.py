"""Heads retrained in the oracle simulation: what they return and what they refuse."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from workbench.active.acquisition import bald  # noqa: E402
from workbench.active.heads import train_head  # noqa: E402
from workbench.active.oracle import simulate_strategies  # noqa: E402
from workbench.core.errors import InputError  # noqa: E402


def _two_blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(0, 1, (n, 4)) + y[:, None] * 3.0
    return x.astype(np.float32), y


def test_ensemble_members_learn_differ_and_are_seeded():
    x, y = _two_blobs()
    mid = np.full((1, 4), 1.5, np.float32)  # halfway between the blobs
    p, members, hid = train_head("ensemble", x, y, np.vstack([x, mid]), 2, seed=0,
                                 need_samples=True)
    assert members.shape == (5, 61, 2) and p.shape == (61, 2) and hid.shape[0] == 61
    np.testing.assert_allclose(p, members.mean(0), atol=1e-6)
    assert (p[:60].argmax(1) == y).mean() > 0.95
    # bootstrap resamples and initialisations make the members differ (BALD > 0 somewhere)
    assert members[:, :, 0].std(0).max() > 1e-3 and bald(members).max() > 0
    again = train_head("ensemble", x, y, np.vstack([x, mid]), 2, seed=0, need_samples=True)
    np.testing.assert_allclose(again[1], members, atol=1e-6)
    other = train_head("ensemble", x, y, np.vstack([x, mid]), 2, seed=1, need_samples=True)
    assert np.abs(other[1] - members).max() > 1e-4


def test_logistic_head_and_its_limits():
    x, y = _two_blobs()
    p, samples, hid = train_head("logistic", x, y, x, 2)
    assert samples is None and (p.argmax(1) == y).mean() > 0.95
    np.testing.assert_allclose(hid, x)
    with pytest.raises(InputError, match="BALD needs posterior samples"):
        simulate_strategies(x, y.astype(str), strategies=["random", "bald"], head="logistic",
                            seeds=1, budget=20)
    with pytest.raises(InputError, match="unknown head"):
        train_head("forest", x, y, x, 2)
