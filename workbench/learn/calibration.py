"""Calibrated probabilities by temperature scaling (Guo et al. 2017, arXiv:1706.04599).

One scalar T > 0 divides the logits; it is fitted on a held-out labelled set by minimising
the negative log-likelihood, so the predicted probabilities match observed frequencies
without changing which class is predicted.
"""

from __future__ import annotations

import numpy as np

from workbench.core.errors import ModelError

__all__ = ["TemperatureScaler", "expected_calibration_error", "nll"]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logits: np.ndarray, y: np.ndarray, *, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of labels ``y`` (n,) under ``softmax(logits / T)``."""
    lp = _log_softmax(np.asarray(logits, np.float64) / temperature)
    return float(-lp[np.arange(len(y)), np.asarray(y)].mean())


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, *, n_bins: int = 10) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, weighted by
    the bins' counts. ``probs`` (n, k), ``y`` (n,)."""
    probs = np.asarray(probs, np.float64)
    conf = probs.max(1)
    correct = probs.argmax(1) == np.asarray(y)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


class TemperatureScaler:
    """Fit one temperature on held-out logits.

    Parameters
    ----------
    bounds : (float, float)
        Search range of T.

    Attributes
    ----------
    temperature_ : float
        The fitted T (> 1 softens over-confident models).
    nll_before_, nll_after_ : float
        Held-out negative log-likelihood at T = 1 and at the fitted T.
    """

    def __init__(self, *, bounds: tuple[float, float] = (0.05, 20.0)):
        self.bounds = bounds

    def fit(self, logits: np.ndarray, y: np.ndarray) -> TemperatureScaler:
        """Fit T on ``logits`` (n, k) and labels ``y`` (n,) of a held-out set."""
        from scipy.optimize import minimize_scalar

        logits = np.asarray(logits, np.float64)
        y = np.asarray(y, np.int64)
        if len(y) == 0:
            raise ModelError("temperature scaling needs a held-out labelled set")
        lo, hi = np.log(self.bounds[0]), np.log(self.bounds[1])
        res = minimize_scalar(lambda lt: nll(logits, y, temperature=np.exp(lt)),
                              bounds=(lo, hi), method="bounded")
        self.temperature_ = float(np.exp(res.x))
        self.nll_before_ = nll(logits, y)
        self.nll_after_ = nll(logits, y, temperature=self.temperature_)
        return self

    def transform(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``(n, k)``."""
        from workbench.learn.infer import softmax

        return softmax(logits, temperature=self.temperature_)
