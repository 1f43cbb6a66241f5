"""Per-side morphology: synthetic FRI-, FRII- and hybrid-like sources give the expected
per-side Fanaroff-Riley ratios; bad images raise errors that say what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.errors import InputError
from workbench.imaging.morphology import (
    MORPHOLOGY_COLUMNS,
    hybrid_score,
    morphology_table,
    side_morphology,
)

N = 101
C = (N - 1) / 2


def _blob(x0, y0, amp, s=2.0):
    y, x = np.mgrid[:N, :N]
    return amp * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * s * s))


def _jet(sign, angle, length=24, core_amp=40.0):
    """A jet fading from the core outwards (edge-darkened side) along ``angle``."""
    img = np.zeros((N, N))
    for d in np.arange(2, length, 1.5):
        amp = core_amp * 0.5 * (1 - d / length) + 3.0
        img += _blob(C + sign * d * np.cos(angle), C + sign * d * np.sin(angle), amp)
    return img


def _lobe(sign, angle, length=24, hot_amp=60.0):
    """A faint lobe ending in a bright hotspot (edge-brightened side)."""
    img = np.zeros((N, N))
    for d in np.arange(2, length, 1.5):
        img += _blob(C + sign * d * np.cos(angle), C + sign * d * np.sin(angle), 3.0)
    d = length - 2
    return img + _blob(C + sign * d * np.cos(angle), C + sign * d * np.sin(angle), hot_amp)


def _source(kind, angle=0.5, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.normal(0.0, 1.0, (N, N)) + _blob(C, C, 30.0, 1.5)  # noise + core
    if kind == "FRI":
        img += _jet(1, angle) + _jet(-1, angle)
    elif kind == "FRII":
        img += _lobe(1, angle) + _lobe(-1, angle)
    else:  # hybrid: one side each
        img += _lobe(1, angle) + _jet(-1, angle)
    return img


@pytest.mark.parametrize("angle", [0.0, 0.5, 2.0])
def test_fri_frii_and_hybrid_give_the_expected_side_ratios(angle):
    fri, frii, hyb = (side_morphology(_source(k, angle)) for k in ("FRI", "FRII", "hybrid"))
    assert fri["ratio_hi"] < 0.5 and fri["ratio_lo"] < 0.5  # both sides edge-darkened
    assert frii["ratio_hi"] > 0.5 and frii["ratio_lo"] > 0.5  # both edge-brightened
    assert hyb["ratio_hi"] > 0.5 > hyb["ratio_lo"]  # one of each
    assert hyb["ratio_diff"] > 0.4 > max(fri["ratio_diff"], frii["ratio_diff"])
    assert hyb["outer_diff"] > max(fri["outer_diff"], frii["outer_diff"])
    assert frii["fr_ratio"] > 0.5 > fri["fr_ratio"]  # Fanaroff & Riley's whole-source ratio
    # the principal axis follows the source (an axis, so modulo pi)
    d = (hyb["axis_angle"] - angle) % np.pi
    assert min(d, np.pi - d) < 0.1


def test_hybrid_score_is_positive_only_for_the_hybrid():
    t = morphology_table(np.stack([_source(k, seed=i) for i, k in
                                   enumerate(("FRI", "FRII", "hybrid", "FRI", "hybrid"))]))
    assert list(t.columns) == list(MORPHOLOGY_COLUMNS) and len(t) == 5
    s = hybrid_score(t)
    assert s[2] > 0 and s[4] > 0
    assert s[0] < 0 and s[1] < 0 and s[3] < 0
    # (n, 1, ny, nx) stacks are accepted as well
    t4 = morphology_table(np.stack([_source("hybrid")])[:, None])
    assert hybrid_score(t4)[0] > 0


def test_a_far_island_is_not_part_of_the_source():
    img = _source("FRI")
    far = img + _blob(95, 95, 80.0)  # a bright unrelated source in the corner
    a, b = side_morphology(img), side_morphology(far)
    assert b["ratio_hi"] == pytest.approx(a["ratio_hi"])
    assert side_morphology(far, r_max=80)["ratio_hi"] > a["ratio_hi"]


def test_noise_only_gives_nan_features():
    img = np.random.default_rng(3).normal(0, 1, (N, N))
    m = side_morphology(img, peak_nsigma=8.0)
    assert all(np.isnan(m[c]) for c in MORPHOLOGY_COLUMNS)
    assert np.isnan(hybrid_score(morphology_table(img[None], peak_nsigma=8.0))[0])


@pytest.mark.parametrize("bad, match", [
    (np.zeros((3, 4, 5)), "2-D"),
    (np.zeros((0, 10)), "too small"),
    (np.zeros((2, 50)), "too small"),
    (np.full((20, 20), np.nan), "NaN"),
    (np.zeros((20, 20)), "no noise"),
])
def test_bad_images_raise_input_errors(bad, match):
    with pytest.raises(InputError, match=match):
        side_morphology(bad)


def test_one_bad_image_in_a_stack_is_named():
    stack = np.stack([_source("FRI"), _source("FRII")])
    stack[1, 5, 5] = np.nan
    with pytest.raises(InputError, match="image 1"):
        morphology_table(stack)
    with pytest.raises(InputError, match="shape"):
        morphology_table(np.zeros((4, 4)))


def test_r_max_per_image_and_its_length_is_checked():
    img = _source("FRI") + _blob(95, 95, 80.0)
    t = morphology_table(np.stack([img, img]), r_max=[80.0, 40.0])
    assert t["ratio_hi"][0] > t["ratio_hi"][1]
    assert morphology_table(img[None], r_max=40.0)["ratio_hi"][0] == t["ratio_hi"][1]
    with pytest.raises(InputError, match="r_max has 3 values for 2 images"):
        morphology_table(np.stack([img, img]), r_max=[1.0, 2.0, 3.0])
