"""A campaign dashboard for its lead: progress over time, retirements, agreement, annotators.

>>> from workbench.plots.campaign import campaign, campaign_data    # doctest: +SKIP
>>> campaign(store, "fr")          # HoloViews Layout (Bokeh)       # doctest: +SKIP

:func:`campaign_data` gathers the figures (from :func:`workbench.labeling.report.campaign_frames`)
and :func:`campaign` draws them; the figures are defined in :mod:`workbench.labeling.report`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.labeling.report import campaign_frames
from workbench.plots._style import bokeh_backend

__all__ = ["campaign", "campaign_data", "AGREEMENT_BINS", "TABLE_COLUMNS"]

#: Bin edges of the agreement histogram (the majority answer's share of the votes).
AGREEMENT_BINS = np.linspace(0.0, 1.0, 11)
#: Annotator table columns, as shown.
TABLE_COLUMNS = ("annotator", "annotations", "median s", "gold answers", "gold accuracy",
                 "agreement", "last")


def _campaign(store, name):
    return store.campaign(name) if name is not None else store


def campaign_data(store, name: str | None = None) -> dict:
    """The dashboard's data frames.

    Returns a dict of ``progress`` (time, annotations, retired: running totals, one row per
    event), ``retired`` (date, retirements, total_retired: per UTC day), ``agreement``
    (left, right, items: a histogram of the per-item agreement over ordinary items with at
    least two annotations) and ``annotators`` (:data:`TABLE_COLUMNS`, accuracies in %), and
    ``status`` (the campaign's :meth:`~workbench.io.labels.campaigns.Campaign.status`).
    """
    camp = _campaign(store, name)
    fr = campaign_frames(camp)
    tl = fr["timeline"]
    progress = pd.DataFrame({"time": tl["time"].dt.tz_convert(None),
                             "annotations": tl["annotations"].to_numpy(),
                             "retired": tl["retired"].to_numpy()})
    days = fr["days"]
    retired = days[["date", "retirements", "total_retired"]].reset_index(drop=True)
    multi = fr["items"].loc[fr["items"]["n_annotations"] >= 2, "agreement"].dropna()
    counts, edges = np.histogram(multi.to_numpy(dtype=float), bins=AGREEMENT_BINS)
    agreement = pd.DataFrame({"left": edges[:-1], "right": edges[1:], "items": counts})
    a = fr["annotators"]
    table = pd.DataFrame({
        "annotator": a["annotator"].astype(str),
        "annotations": a["n_annotations"].astype("int64"),
        "median s": a["median_seconds"].round(1),
        "gold answers": a["n_gold"].astype("int64"),
        "gold accuracy": (100 * a["gold_accuracy"]).round(0),
        "agreement": (100 * a["agreement"]).round(0),
        "last": a["last"].dt.strftime("%Y-%m-%d %H:%M"),
    })
    return {"progress": progress, "retired": retired, "agreement": agreement,
            "annotators": table[list(TABLE_COLUMNS)], "status": camp.status()}


def campaign(store, name: str | None = None):
    """A HoloViews layout (Bokeh) of campaign ``name`` of ``store`` (or of a Campaign given
    as ``store``): progress over time, items retired per day, the agreement distribution
    and the annotator table. See :func:`campaign_data` for what each panel holds."""
    hv = bokeh_backend()
    d = campaign_data(store, name)
    st = d["status"]
    title = (f"{st['name']}: {st['n_retired']}/{st['n_items']} retired, "
             f"{st['n_annotations']} annotations")
    prog = d["progress"]
    progress = (hv.Curve(prog, "time", "annotations", label="annotations")
                * hv.Curve(prog, "time", "retired", label="retired items")).opts(
        hv.opts.Curve(interpolation="steps-post", tools=["hover"]),
        hv.opts.Overlay(title=title, legend_position="top_left", width=520, height=300,
                        xlabel="time (UTC)", ylabel="count"))
    retired = hv.Bars(d["retired"], "date", "retirements").opts(
        title="items retired per day", width=380, height=300, tools=["hover"],
        xrotation=45)
    ag = d["agreement"]
    agreement = hv.Histogram((AGREEMENT_BINS, ag["items"].to_numpy()),
                             kdims=["agreement"], vdims=["items"]).opts(
        title="agreement per item (majority share, >= 2 votes)", width=380, height=300,
        tools=["hover"])
    table = hv.Table(d["annotators"], kdims=["annotator"],
                     vdims=[c for c in TABLE_COLUMNS if c != "annotator"]).opts(
        title="annotators", width=520, height=300)
    return (progress + retired + agreement + table).cols(2)
