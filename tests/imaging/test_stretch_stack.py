"""stretch.stack_limits / stretch_stack: a stack at once equals each image on its own."""

import numpy as np
import pytest

from workbench.imaging.stretch import image_limits, stack_limits, stretch_image, stretch_stack


def _stack():
    rng = np.random.default_rng(3)
    s = rng.normal(size=(12, 8, 9)) * rng.uniform(0.1, 50, (12, 1, 1))
    s[2, 3, 4] = np.nan          # a non-finite pixel: that image goes the one-by-one way
    s[3, 0, :] = np.inf
    s[4] = np.nan                # no finite pixel: NaN limits
    s[5] = 7.0                   # flat: equal limits
    s[6, :4] = rng.exponential(1e4, (4, 9))  # a bright corner
    return s


@pytest.mark.parametrize("limits", ["percentile", "minmax", "zscale", (-1.0, 2.5)])
def test_stack_limits_equal_per_image(limits):
    s = _stack()
    lo, hi = stack_limits(s, limits=limits, percentile=98.0)
    for k in range(len(s)):
        want = image_limits(s[k], limits=limits, percentile=98.0)
        np.testing.assert_array_equal([lo[k], hi[k]], want)  # exactly, NaN == NaN
    if isinstance(limits, str):  # no finite pixel: NaN limits
        assert np.isnan(lo[4]) and np.isnan(hi[4])


@pytest.mark.parametrize("stretch", ["linear", "sqrt", "log", "asinh"])
@pytest.mark.parametrize("limits", ["percentile", "minmax", (-1.0, 2.5)])
def test_stretch_stack_equal_per_image(stretch, limits):
    s = _stack()
    got = stretch_stack(s, stretch=stretch, limits=limits)
    assert got.shape == s.shape
    for k in range(len(s)):
        np.testing.assert_array_equal(got[k], stretch_image(s[k], stretch=stretch,
                                                            limits=limits))
    if isinstance(limits, str):
        assert (got[5] == 0).all()                  # flat image: equal limits -> 0
    assert np.isnan(got[2, 3, 4]) and np.isnan(got[4]).all()


def test_stack_limits_bad_input():
    with pytest.raises(ValueError, match="limits must be one of"):
        stack_limits(np.zeros((2, 3, 3)), limits="nope")
    with pytest.raises(ValueError, match="leading axis"):
        stack_limits(np.float64(3.0), limits="minmax")
    lo, hi = stack_limits(np.zeros((0, 4, 4)), limits="percentile")
    assert lo.shape == hi.shape == (0,)
