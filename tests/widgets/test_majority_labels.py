"""One majority rule: Gallery badges, Explorer colours, plot colours, campaign consensus and
`workbench labels export` give a tied item the same label (ties to the scheme's order)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import tiny
from click.testing import CliRunner

import workbench
from workbench.cli import cli
from workbench.io.labels import open_store
from workbench.labeling.consensus import campaign_consensus, majority_labels
from workbench.plots.points import store_labels
from workbench.widgets import Gallery
from workbench.widgets.explorer import Explorer


def test_majority_class_answer_ties_and_retractions(tmp_path):
    coll = tiny.transient_collection(tmp_path / "tr", n=4, size=16)
    store = open_store(coll)
    a, b, c, d = coll.ids
    for who, cls in [("x", "frb"), ("y", "noise"), ("z", "frb")]:
        store.annotate(a, {"class": cls}, annotator=who, scheme="transient")
    for who, cls in [("x", "unsure"), ("y", "noise")]:  # a tie: noise is listed first
        store.annotate(b, {"class": cls}, annotator=who, scheme="transient")
    ann = store.annotate(c, {"class": "pulsar"}, annotator="x", scheme="transient")
    store.retract(int(getattr(ann, "id", ann)), annotator="x")  # retracted: not counted
    assert majority_labels(store, coll.ids) == {a: ("frb", 3), b: ("noise", 2)}
    assert majority_labels(store, [b]) == {b: ("noise", 2)}
    g = Gallery(coll, store=store, thumb=8)
    badges = {t["id"]: t["badges"] for t in g.tiles}
    assert "label: frb (3)" in badges[a] and not any("label" in x for x in badges[d])


def test_majority_tie_goes_to_scheme_order_in_badge_colour_consensus_and_export(tmp_path):
    # "pulsar" is listed before "frb" in the transient scheme, "frb" sorts first
    # alphabetically: the tie-break in scheme order is what every caller must show.
    coll = tiny.transient_collection(tmp_path / "tr", n=4, size=16)
    rng = np.random.default_rng(0)
    coll.add_columns("map-umap", {"umap_x": rng.normal(size=4), "umap_y": rng.normal(size=4)})
    coll = workbench.open(coll.path)
    a, b, c, _ = coll.ids
    store = open_store(coll)
    camp = store.create_campaign("t", "transient", coll.ids, retire=5)
    for who, cls in [("x", "frb"), ("y", "pulsar")]:                       # tie
        camp.annotate(a, {"class": cls}, annotator=who)
    for who, cls in [("x", "unsure"), ("y", "noise"), ("z", "unsure")]:    # no tie
        camp.annotate(b, {"class": cls}, annotator=who)
    for who, cls in [("x", "narrowband_rfi"), ("y", "broadband_rfi")]:     # tie
        camp.annotate(c, {"class": cls}, annotator=who)
    want = {a: "pulsar", b: "unsure", c: "broadband_rfi"}

    # the rule itself
    assert {i: lab for i, (lab, _) in majority_labels(store, coll.ids).items()} == want
    # Gallery badges
    badges = {t["id"]: t["badges"] for t in Gallery(coll, store=store, thumb=8).tiles}
    for i, lab in want.items():
        assert f"label: {lab} (" in " ".join(badges[i])
    # Explorer colours (and the plots' label colours)
    ex = Explorer(coll, store=store, color_by="label")
    counts = {d["label"]: d["count"] for d in ex.legend}
    assert counts.get("pulsar") == 1 and counts.get("broadband_rfi") == 1 and "frb" not in counts
    assert store_labels(store, coll.ids).dropna().to_dict() == want
    # campaign consensus, ties flagged
    cons = campaign_consensus(camp, "majority").set_index("item_id")
    assert cons["label"].to_dict() == want
    assert cons["class_tie"].to_dict() == {a: True, b: False, c: True}
    # `workbench labels export`
    out = tmp_path / "labels.csv"
    res = CliRunner().invoke(cli, ["labels", "export", str(coll.path), "--campaign", "t",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    exported = pd.read_csv(out).set_index("item_id")["label"].to_dict()
    assert exported == want
