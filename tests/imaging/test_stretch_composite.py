"""Display stretches and Lupton colour composites."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.imaging.composite import lupton_rgb, rgb_groups
from workbench.imaging.stretch import image_limits, stretch_image, to_rgba_uint8


def _sky(seed=0, shape=(64, 64)):
    rng = np.random.default_rng(seed)
    img = rng.normal(0.0, 1.0, shape)
    img[30:34, 30:34] += 200.0
    return img


@pytest.mark.parametrize("stretch", ["linear", "sqrt", "log", "asinh"])
@pytest.mark.parametrize("limits", ["zscale", "percentile", "minmax"])
def test_stretch_range_and_monotonic(stretch, limits):
    img = _sky()
    out = stretch_image(img, stretch=stretch, limits=limits)
    assert out.shape == img.shape
    assert out.min() >= 0 and out.max() <= 1
    order = np.argsort(img.ravel())
    assert np.all(np.diff(out.ravel()[order]) >= -1e-12)  # never reverses brightness


def test_stretches_differ_as_expected():
    ramp = np.linspace(0, 1, 101)[None, :].repeat(3, 0)
    lin = stretch_image(ramp, stretch="linear", limits="minmax")[0]
    sq = stretch_image(ramp, stretch="sqrt", limits="minmax")[0]
    ash = stretch_image(ramp, stretch="asinh", limits="minmax")[0]
    np.testing.assert_allclose(lin, ramp[0])
    np.testing.assert_allclose(sq, np.sqrt(ramp[0]))
    assert ash[10] > lin[10]  # asinh lifts faint values


def test_zscale_ignores_the_bright_source_percentile_keeps_given_fraction():
    img = _sky()
    lo, hi = image_limits(img, limits="zscale")
    assert hi < 10  # zscale follows the sky, not the 200-sigma source
    lo, hi = image_limits(img, limits="percentile", percentile=50)
    inside = np.mean((img >= lo) & (img <= hi))
    assert inside == pytest.approx(0.5, abs=0.02)


def test_nan_and_constant_images():
    img = _sky()
    img[0, :5] = np.nan
    out = stretch_image(img)
    assert np.isnan(out[0, :5]).all() and np.isfinite(out[1:]).all()
    flat = stretch_image(np.full((4, 4), 3.0))
    assert (flat == 0).all()
    assert np.isnan(stretch_image(np.full((4, 4), np.nan))).all()


def test_rgba_bytes_grey_lut_and_transparency():
    img = _sky()
    img[5, 5] = np.nan
    rgba = to_rgba_uint8(img, stretch="linear", limits="minmax")
    assert rgba.dtype == np.uint8 and rgba.shape == (64, 64, 4)
    assert rgba[5, 5, 3] == 0 and rgba[6, 6, 3] == 255
    assert (rgba[..., 0] == rgba[..., 1]).all()
    lut = np.array([[0, 0, 1.0], [1.0, 0, 0]])  # faint blue, bright red
    col = to_rgba_uint8(img, stretch="linear", limits="minmax", cmap=lut)
    assert tuple(col[31, 31, :3]) == (255, 0, 0)


def test_rgb_groups():
    assert rgb_groups(1) == [[0], [0], [0]]
    assert rgb_groups(3) == [[0], [1], [2]]
    assert rgb_groups(5) == [[0, 1], [2, 3], [4]]


def test_lupton_colours_follow_the_bands():
    rng = np.random.default_rng(1)
    g, r, i = (rng.normal(0, 0.01, (50, 50)) for _ in range(3))
    i[10:15, 10:15] += 5.0  # a red object (bright in i)
    g[35:40, 35:40] += 5.0  # a blue object (bright in g)
    rgb = lupton_rgb(np.stack([g, r, i]))
    assert rgb.dtype == np.uint8 and rgb.shape == (50, 50, 3)
    red, blue = rgb[12, 12].astype(int), rgb[37, 37].astype(int)
    assert red[0] > red[2] + 50 and blue[2] > blue[0] + 50
    # per-band scaling: boosting g turns a grey object blue
    grey = np.stack([np.pad(np.ones((4, 4)), 10)] * 3)
    even = lupton_rgb(grey, stretch=1.0)[12, 12].astype(int)
    assert abs(even[0] - even[2]) <= 1
    bluer = lupton_rgb(grey, bands=["g", "r", "i"], scales={"g": 3.0, "r": 1.0, "i": 1.0},
                       stretch=1.0)[12, 12].astype(int)
    assert bluer[2] > bluer[0] + 30


def test_lupton_handles_nan_and_checks_input():
    img = np.ones((3, 20, 20))
    img[:, 0, 0] = np.nan
    assert lupton_rgb(img).shape == (20, 20, 3)
    with pytest.raises(InputError, match="scales has no entry"):
        lupton_rgb(img, bands=["g", "r", "i"], scales={"g": 1.0})
    with pytest.raises(InputError, match="2 band names for 3 planes"):
        lupton_rgb(img, bands=["g", "r"])
