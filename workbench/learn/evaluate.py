"""Metrics of a classifier on a held-out labelled set, as one JSON-safe dict per round.

Accuracy, per-class precision / recall / F1, the confusion matrix, ROC curve and AUROC
(one-vs-rest for each class), and for binary problems TPR0 / TPR10 of the positive class
(the lens-finding figures of merit, from :mod:`workbench.metrics`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["evaluate"]


def _ranking(y_bin: np.ndarray, score: np.ndarray) -> dict:
    """AUROC, TPR0, TPR10 and a ROC curve (<= 101 points) via workbench.metrics."""
    try:
        from workbench import metrics as m
    except ImportError:  # pragma: no cover - older checkouts without the metrics module
        m = None
    if y_bin.min() == y_bin.max():
        return {"auroc": None, "tpr0": None, "tpr10": None, "roc": None}
    if m is not None:
        fpr, tpr, _ = m.roc_curve(y_bin, score)
        out = {"auroc": m.auroc(y_bin, score), "tpr0": m.tpr0(y_bin, score),
               "tpr10": m.tpr10(y_bin, score)}
    else:
        from sklearn.metrics import roc_auc_score, roc_curve

        fpr, tpr, _ = roc_curve(y_bin, score)
        out = {"auroc": float(roc_auc_score(y_bin, score)), "tpr0": None, "tpr10": None}
    if len(fpr) > 101:
        keep = np.unique(np.linspace(0, len(fpr) - 1, 101).astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    out["roc"] = {"fpr": np.round(fpr, 5).tolist(), "tpr": np.round(tpr, 5).tolist()}
    return out


def evaluate(y_true: np.ndarray, probs: np.ndarray, classes, *,
             positive: str | None = None) -> dict:
    """Metrics of predicted probabilities against true class indices.

    Parameters
    ----------
    y_true : array of int, shape (n,)
        True class indices into ``classes``.
    probs : array, shape (n, k)
        Predicted probabilities.
    classes : sequence of str
    positive : str, optional
        For ranking metrics of a binary problem: the positive class (default the second).

    Returns
    -------
    dict with ``n``, ``accuracy``, ``balanced_accuracy``, ``per_class`` {class:
    {precision, recall, f1, support, auroc}}, ``confusion`` (rows true, columns
    predicted), ``classes`` and, for two classes, ``auroc``, ``tpr0``, ``tpr10``, ``roc``.
    """
    y = np.asarray(y_true, np.int64)
    p = np.asarray(probs, np.float64)
    classes = [str(c) for c in classes]
    k = len(classes)
    pred = p.argmax(1) if len(p) else np.zeros(0, int)
    conf = np.zeros((k, k), np.int64)
    np.add.at(conf, (y, pred), 1)
    per = {}
    recalls = []
    for i, c in enumerate(classes):
        tp = conf[i, i]
        prec = tp / conf[:, i].sum() if conf[:, i].sum() else 0.0
        rec = tp / conf[i].sum() if conf[i].sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        if conf[i].sum():
            recalls.append(rec)
        rk = _ranking((y == i).astype(int), p[:, i]) if len(y) else {"auroc": None}
        per[c] = {"precision": float(prec), "recall": float(rec), "f1": float(f1),
                  "support": int(conf[i].sum()), "auroc": rk["auroc"]}
    out = {"n": int(len(y)), "classes": classes,
           "accuracy": float((pred == y).mean()) if len(y) else None,
           "balanced_accuracy": float(np.mean(recalls)) if recalls else None,
           "per_class": per, "confusion": conf.tolist()}
    if k == 2 and len(y):
        pos = classes.index(positive) if positive is not None else 1
        out.update(_ranking((y == pos).astype(int), p[:, pos]))
        out["positive"] = classes[pos]
    else:
        aucs = [v["auroc"] for v in per.values() if v["auroc"] is not None]
        out["auroc"] = float(np.mean(aucs)) if aucs else None
    return out
