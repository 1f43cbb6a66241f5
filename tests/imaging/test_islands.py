"""Components: islands above the lowest contour, robust noise, stable ids."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.imaging.islands import find_components, noise_sigma, rgz_levels


def _gauss(shape, x0, y0, amp, s):
    y, x = np.mgrid[:shape[0], :shape[1]]
    return amp * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * s * s))


def _scene(seed=0):
    rng = np.random.default_rng(seed)
    img = rng.normal(0, 1.0, (80, 100))
    img += _gauss(img.shape, 20, 30, 50, 2.5)   # bright
    img += _gauss(img.shape, 70, 50, 15, 2.0)   # fainter
    img += _gauss(img.shape, 85, 12, 30, 1.5)   # middle
    return img


def test_noise_is_robust_to_bright_sources():
    img = _scene()
    assert noise_sigma(img) == pytest.approx(1.0, rel=0.08)
    assert np.std(img) > 2.0  # a plain std would be inflated by the sources


def test_three_islands_numbered_by_peak():
    img = _scene()
    lab, tab = find_components(img, min_npix=5)  # white noise makes 1-2 pixel speckles
    assert lab.dtype == np.int32 and lab.shape == img.shape
    assert list(tab["id"]) == [1, 2, 3]
    truth = np.array([(20, 30), (85, 12), (70, 50)])
    assert np.abs(tab[["x_peak", "y_peak"]].to_numpy() - truth).max() <= 1  # noise may shift a peak
    assert (np.diff(tab["peak"]) < 0).all()
    for r in tab.itertuples():
        assert lab[r.y_peak, r.x_peak] == r.id
        assert (lab == r.id).sum() == r.npix
    assert tab.attrs["levels"][0] == pytest.approx(3 * tab.attrs["sigma"])
    _, every = find_components(img)
    assert len(every) > 3 and (every["npix"].iloc[3:] < 5).all()
    assert np.abs(every["x_peak"].iloc[:3].to_numpy() - [20, 85, 70]).max() <= 1


def test_explicit_levels_and_sigma():
    img = _scene()
    _, tab = find_components(img, levels=[20.0, 40.0])
    assert list(tab["id"]) == [1, 2]   # the 15-peak source is below 20
    _, tab2 = find_components(img, sigma=8.0, nsigma=3.0)
    assert len(tab2) == 2 and tab2.attrs["levels"][0] == pytest.approx(24.0)
    assert np.allclose(rgz_levels(2.0, nsigma=3, n_levels=3), [6.0, 6 * 2 ** 0.5, 12.0])


def test_touching_diagonally_is_one_island_and_nan_is_empty():
    img = np.zeros((5, 5))
    img[1, 1] = img[2, 2] = 10.0
    lab, tab = find_components(img, levels=[5.0])
    assert len(tab) == 1 and tab["npix"].iloc[0] == 2
    lab, tab = find_components(np.full((4, 4), np.nan), levels=[1.0])
    assert len(tab) == 0 and (lab == 0).all() and list(tab.columns)[0] == "id"
