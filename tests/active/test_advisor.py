"""The strategy advisor never claims a saving its interval does not support."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.active.advisor import advice_from_result, advise
from workbench.core.errors import InputError


def _result(rows, n_pool=120):
    return {"settings": {"n_pool": n_pool, "n_test": 50},
            "labels_needed": {"baseline": "random", "n_seeds": 8, "level": 0.95,
                              "table": {"random": {"saving": 0.0, "saving_ci": [0.0, 0.0]},
                                        **rows}}}


def test_interval_containing_zero_means_no_strategy_is_clearly_ahead():
    adv = advice_from_result(_result({"margin": {"saving": 0.4, "saving_ci": [-0.1, 0.6]},
                                      "badge": {"saving": 0.2, "saving_ci": [-0.3, 0.5]}}))
    assert adv["ahead"] is None
    assert adv["message"].startswith("no strategy is clearly ahead")
    assert adv["best"] == "margin" and "includes 0" in adv["message"]
    assert "-10%" in adv["message"] and "60%" in adv["message"]


def test_a_supported_saving_is_stated_with_its_interval():
    adv = advice_from_result(_result({"margin": {"saving": 0.5, "saving_ci": [-0.2, 0.8]},
                                      "badge": {"saving": 0.3, "saving_ci": [0.1, 0.45]}}))
    # margin has the larger point estimate but its interval includes 0: badge is named
    assert adv["ahead"] == "badge" and adv["saving_ci"] == [0.1, 0.45]
    assert "badge is ahead of random on your 170 labelled items" in adv["message"]
    assert "30% fewer labels" in adv["message"] and "10% to 45%" in adv["message"]


def test_interval_touching_zero_is_not_a_claim():
    adv = advice_from_result(_result({"margin": {"saving": 0.3, "saving_ci": [0.0, 0.5]}}))
    assert adv["ahead"] is None


def test_advise_on_labelled_items_is_consistent_with_its_own_intervals():
    rng = np.random.default_rng(0)
    y = np.where(rng.random(80) < 0.5, "a", "b")
    x = rng.normal(0, 1, (80, 5)) + (y == "a")[:, None] * 1.5
    adv = advise(x, y, seeds=3, strategies=["margin"], n_boot=200)
    row = adv["simulation"]["labels_needed"]["table"][adv["best"]]
    assert adv["saving_ci"] == row["saving_ci"]
    if adv["ahead"] is None:
        assert adv["message"].startswith("no strategy is clearly ahead")
    else:
        assert adv["saving_ci"][0] > 0
    with pytest.raises(InputError, match="at least 20"):
        advise(x[:10], y[:10])
