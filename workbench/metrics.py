"""Ranking metrics for candidate finders: ROC curve, AUROC, TPR0 and TPR10.

These are the figures of merit of the Strong Gravitational Lens Finding Challenge
(Metcalf et al. 2019, A&A 625, A119, arXiv:1802.03609), usable by any binary classifier:

- **AUROC**: area under the ROC curve (true-positive rate against false-positive rate).
- **TPR0**: the highest true-positive rate reached before the first false positive, as the
  score threshold falls from the top.
- **TPR10**: the highest true-positive rate reached while fewer than ten false positives
  have been let through.

Ties in score are handled the only fair way: items with equal scores enter together, at one
threshold. A negative tied with positives therefore stops TPR0 *before* those positives count,
and the ROC curve takes a diagonal step across the tied block (AUROC counts a tied
positive-negative pair as one half, as the Mann-Whitney statistic does).

All functions take ``(y_true, score)``: ``y_true`` an array of shape ``(n,)`` of 0/1 (or
booleans), 1 meaning a true lens (positive); ``score`` an array of shape ``(n,)`` of finite
floats, larger meaning more lens-like.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import InputError

__all__ = ["roc_curve", "auroc", "tpr0", "tpr10", "tpr_at_fp"]


def _check(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(score, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1:
        raise InputError(f"y_true and score must be 1-D (got shapes {y.shape} and {s.shape})")
    if len(y) != len(s):
        raise InputError(f"y_true has {len(y)} entries but score has {len(s)}",
                         hint="give one score per labelled item")
    if len(y) == 0:
        raise InputError("no items to score")
    if y.dtype == bool:
        y = y.astype(np.int64)
    try:
        yf = y.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"y_true must be 0/1, got values of type {y.dtype}") from exc
    if not np.isin(yf, (0.0, 1.0)).all():
        bad = sorted(set(yf[~np.isin(yf, (0.0, 1.0))].tolist()))[:5]
        raise InputError(f"y_true must be 0 (not a lens) or 1 (lens); found {bad}")
    if not np.isfinite(s).all():
        raise InputError(f"{int((~np.isfinite(s)).sum())} score(s) are NaN or infinite",
                         hint="score every item with a finite number")
    return yf.astype(np.int64), s


def _cumulative(y: np.ndarray, s: np.ndarray):
    """TP and FP counts at each distinct threshold, highest first (ties grouped)."""
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    # last index of each block of equal scores
    ends = np.flatnonzero(np.r_[ss[1:] != ss[:-1], True])
    tp = np.cumsum(ys)[ends]
    fp = (ends + 1) - tp
    return tp, fp, ss[ends]


def roc_curve(y_true, score):
    """The ROC curve, one point per distinct score (tied scores enter together).

    Parameters
    ----------
    y_true : array_like of shape (n,)
        1 for positives (lenses), 0 for negatives.
    score : array_like of shape (n,)
        Finite scores, larger = more likely positive.

    Returns
    -------
    fpr, tpr : ndarray of shape (m + 1,)
        False- and true-positive rates, starting at (0, 0) and ending at (1, 1).
    thresholds : ndarray of shape (m + 1,)
        Score threshold of each point (items with ``score >= threshold`` are called
        positive); the first is ``+inf``.

    Raises
    ------
    InputError
        Mismatched lengths, labels other than 0/1, non-finite scores, or a single class.
    """
    y, s = _check(y_true, score)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        raise InputError(f"the ROC curve needs both classes; got {n_pos} positive(s) and "
                         f"{n_neg} negative(s)")
    tp, fp, thr = _cumulative(y, s)
    fpr = np.r_[0.0, fp / n_neg]
    tpr = np.r_[0.0, tp / n_pos]
    return fpr, tpr, np.r_[np.inf, thr]


def auroc(y_true, score) -> float:
    """Area under the ROC curve (trapezoidal over tied blocks; 0.5 = random, 1 = perfect).

    Equals the probability that a random positive scores above a random negative, with a
    tie counted as one half. See :func:`roc_curve` for the arguments.
    """
    fpr, tpr, _ = roc_curve(y_true, score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def tpr_at_fp(y_true, score, max_fp: int) -> float:
    """Highest true-positive rate over thresholds letting through fewer than ``max_fp``
    false positives (tied scores enter together).

    Parameters
    ----------
    y_true, score : array_like of shape (n,)
        See :func:`roc_curve`. Negatives may be absent (then every positive counts).
    max_fp : int
        The count of false positives that must not be reached (1 gives TPR0, 10 TPR10).

    Returns
    -------
    float
        In [0, 1].
    """
    if int(max_fp) < 1:
        raise InputError(f"max_fp must be at least 1, got {max_fp}")
    y, s = _check(y_true, score)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise InputError("the true-positive rate needs at least one positive (y_true == 1)")
    tp, fp, _ = _cumulative(y, s)
    ok = fp < int(max_fp)
    return float(tp[ok].max() / n_pos) if ok.any() else 0.0


def tpr0(y_true, score) -> float:
    """TPR0: the highest true-positive rate reached before the first false positive.

    >>> tpr0([1, 0, 1], [0.9, 0.8, 0.7])
    0.5
    """
    return tpr_at_fp(y_true, score, 1)


def tpr10(y_true, score) -> float:
    """TPR10: the highest true-positive rate reached with fewer than ten false positives."""
    return tpr_at_fp(y_true, score, 10)
