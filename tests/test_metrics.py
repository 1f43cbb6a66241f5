"""Lens-finding metrics on hand-worked cases, ties included."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from workbench.errors import InputError
from workbench.metrics import auroc, roc_curve, tpr0, tpr10, tpr_at_fp


def test_tpr0_acceptance_case():
    # 0.9 is a lens (TPR 1/2), then 0.8 is a false positive: TPR0 = 0.5
    assert tpr0([1, 0, 1], [0.9, 0.8, 0.7]) == 0.5


def test_tpr0_negative_tied_with_positive_enters_together():
    # 0.9: 1 TP; 0.8: a lens and a non-lens tie -> they enter together, FP appears at once
    assert tpr0([1, 1, 0, 1], [0.9, 0.8, 0.8, 0.1]) == pytest.approx(1 / 3)
    # the same ranking without the tie lets the second lens in first
    assert tpr0([1, 1, 0, 1], [0.9, 0.85, 0.8, 0.1]) == pytest.approx(2 / 3)


def test_all_tied_gives_no_tpr0_and_half_auroc():
    assert tpr0([1, 0, 1, 0], [0.5] * 4) == 0.0
    assert auroc([1, 0, 1, 0], [0.5] * 4) == pytest.approx(0.5)


def test_tpr0_perfect_and_worst():
    assert tpr0([1, 1, 0, 0], [4, 3, 2, 1]) == 1.0
    assert tpr0([0, 1, 1], [3, 2, 1]) == 0.0


def test_auroc_hand_worked():
    # pairs (pos, neg): (.8,.6) yes, (.8,.2) yes, (.4,.6) no, (.4,.2) yes -> 3/4
    assert auroc([1, 0, 1, 0], [0.8, 0.6, 0.4, 0.2]) == pytest.approx(0.75)
    # a tied pair counts one half -> 3.5/4
    assert auroc([1, 0, 1, 0], [0.8, 0.4, 0.4, 0.2]) == pytest.approx(0.875)
    assert auroc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert auroc([1, 1, 0, 0], [1, 2, 3, 4]) == 0.0


def test_auroc_equals_pairwise_probability_with_ties():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = rng.integers(0, 12, 300).astype(float)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    pairs = [(p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg)]
    assert auroc(y, s) == pytest.approx(np.mean(pairs), abs=1e-12)


def _tpr10_case(tied: bool):
    # ranked: P, 9 x N, P, then (N tied with the P when tied=True), P, P
    y = [1] + [0] * 9 + [1, 0, 1, 1]
    s = [100.0 - k for k in range(len(y))]
    if tied:
        s[10] = s[11]  # the 2nd lens ties with the 10th false positive
    return y, s


def test_tpr10_hand_worked_with_and_without_tie():
    y, s = _tpr10_case(tied=False)
    assert tpr10(y, s) == pytest.approx(2 / 4)  # 2 lenses before the 10th FP
    y, s = _tpr10_case(tied=True)
    assert tpr10(y, s) == pytest.approx(1 / 4)  # the tied lens enters with the 10th FP
    assert tpr_at_fp(y, s, 1) == tpr0(y, s) == pytest.approx(1 / 4)


def test_tpr10_is_one_with_few_negatives():
    assert tpr10([1, 0, 1, 0, 1], [1, 2, 3, 4, 5]) == 1.0


def test_roc_curve_steps_diagonally_across_ties():
    fpr, tpr, thr = roc_curve([1, 0, 1, 0], [0.8, 0.4, 0.4, 0.2])
    assert np.isinf(thr[0])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1.0])
    np.testing.assert_allclose(tpr, [0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(thr[1:], [0.8, 0.4, 0.2])
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_booleans_accepted():
    assert tpr0(np.array([True, False, True]), [0.9, 0.8, 0.7]) == 0.5


@pytest.mark.parametrize("y, s, what", [
    ([1, 0], [0.1], "entries"),
    ([1, 2, 0], [0.1, 0.2, 0.3], "0 (not a lens) or 1"),
    ([1, 0], [0.1, np.nan], "NaN"),
    ([], [], "no items"),
])
def test_bad_input_is_a_clear_error(y, s, what):
    with pytest.raises(InputError, match=what.replace("(", r"\(").replace(")", r"\)")):
        tpr0(y, s)


def test_single_class_errors():
    with pytest.raises(InputError, match="both classes"):
        auroc([1, 1], [0.1, 0.2])
    with pytest.raises(InputError, match="at least one positive"):
        tpr10([0, 0], [0.1, 0.2])
