"""The ROC curve of a ranking (lens finding) with TPR0 and TPR10 marked.

>>> from workbench.plots import roc                               # doctest: +SKIP
>>> roc(scores, labels)                    # one ranking           # doctest: +SKIP
>>> roc({"colour": s1, "CNN": s2}, labels) # several, overlaid     # doctest: +SKIP

The numbers are :mod:`workbench.metrics`' (the Lens Finding Challenge's figures of merit,
ties entering together): :func:`roc_data` gives them, :func:`roc` draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.metrics import auroc, roc_curve, tpr0, tpr10
from workbench.plots._style import PALETTE, bokeh_backend

__all__ = ["roc", "roc_data"]


def roc_data(scores, labels) -> dict:
    """The ROC curve and its marks: ``curve`` (DataFrame fpr, tpr, threshold), ``auroc``,
    ``tpr0``, ``tpr10`` and ``marks`` (DataFrame: mark, fpr, tpr; the point of the curve
    where each rate is reached: the largest false-positive rate with 0, resp. fewer than
    10, false positives at that true-positive rate)."""
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    fpr, tpr, thr = roc_curve(y, s)
    n_neg = int((np.asarray(y, float) == 0).sum())
    t0, t10 = tpr0(y, s), tpr10(y, s)
    marks = []
    for name, rate, max_fp in (("TPR0", t0, 1), ("TPR10", t10, 10)):
        ok = (np.rint(fpr * n_neg) < max_fp) & np.isclose(tpr, rate)
        marks.append({"mark": name, "fpr": float(fpr[ok].max()) if ok.any() else 0.0,
                      "tpr": float(rate)})
    return {"curve": pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thr}),
            "auroc": auroc(y, s), "tpr0": t0, "tpr10": t10,
            "marks": pd.DataFrame(marks, columns=["mark", "fpr", "tpr"])}


def roc(scores, labels, *, name: str = "score", logx: bool = False, width: int = 460,
        height: int = 400):
    """ROC curve(s) of ``scores`` against ``labels`` (1 = lens), TPR0 and TPR10 marked.

    ``scores``: one array, or a dict ``{name: scores}`` (several rankings of the same items,
    overlaid). Each curve's legend gives its AUROC, TPR0 and TPR10; the two rates are drawn
    as points on the curve (hover for values) and as dotted horizontal lines. ``logx``: a
    log false-positive axis (the challenge's low-FP end). Returns a HoloViews Overlay.
    """
    hv = bokeh_backend()
    rankings = scores if isinstance(scores, dict) else {name: scores}
    layers = [hv.Curve([(0, 0), (1, 1)], "fpr", "tpr").opts(color="lightgrey",
                                                            line_dash="dashed")]
    for k, (nm, s) in enumerate(rankings.items()):
        d = roc_data(s, labels)
        colour = PALETTE[k % len(PALETTE)]
        label = (f"{nm}: AUROC {d['auroc']:.3f}, TPR0 {d['tpr0']:.2f}, "
                 f"TPR10 {d['tpr10']:.2f}")
        curve = d["curve"]
        if logx:  # the first point (0, 0) has no place on a log axis
            curve = curve[curve["fpr"] > 0]
        layers.append(hv.Curve(curve, "fpr", ["tpr", "threshold"], label=label).opts(
            color=colour, interpolation="linear", tools=["hover"], line_width=2))
        marks = d["marks"].copy()
        if logx:
            marks["fpr"] = marks["fpr"].clip(lower=1.0 / max(len(d["curve"]), 2))
        layers.append(hv.Scatter(marks, "fpr", ["tpr", "mark"]).opts(
            color=colour, marker="diamond", size=11, tools=["hover"]))
        layers.append(hv.Labels(marks.assign(text=[f"{m} {v:.2f}" for m, v in
                                                   zip(marks["mark"], marks["tpr"])]),
                                ["fpr", "tpr"], "text").opts(
            text_color=colour, text_align="left", xoffset=0.02, text_font_size="9pt"))
        for v in marks["tpr"]:
            layers.append(hv.HLine(float(v)).opts(color=colour, line_dash="dotted",
                                                  line_width=1))
    return hv.Overlay(layers).opts(
        hv.opts.Overlay(title="ROC", width=width, height=height, legend_position="bottom_right",
                        xlabel="false-positive rate", ylabel="true-positive rate", logx=logx,
                        ylim=(0, 1.02)))
