"""The label a Gallery badge and the Explorer's 'label' colour show: one rule for both."""

from __future__ import annotations

import tiny

from workbench.io.labels import open_store
from workbench.widgets import Gallery
from workbench.widgets._common import majority_labels


def test_majority_class_answer_ties_and_retractions(tmp_path):
    coll = tiny.transient_collection(tmp_path / "tr", n=4, size=16)
    store = open_store(coll)
    a, b, c, d = coll.ids
    for who, cls in [("x", "frb"), ("y", "noise"), ("z", "frb")]:
        store.annotate(a, {"class": cls}, annotator=who, scheme="transient")
    for who, cls in [("x", "unsure"), ("y", "noise")]:  # a tie: alphabetically first
        store.annotate(b, {"class": cls}, annotator=who, scheme="transient")
    ann = store.annotate(c, {"class": "pulsar"}, annotator="x", scheme="transient")
    store.retract(int(getattr(ann, "id", ann)), annotator="x")  # retracted: not counted
    assert majority_labels(store, coll.ids) == {a: ("frb", 3), b: ("noise", 2)}
    assert majority_labels(store, [b]) == {b: ("noise", 2)}
    g = Gallery(coll, store=store, thumb=8)
    badges = {t["id"]: t["badges"] for t in g.tiles}
    assert "label: frb (3)" in badges[a] and not any("label" in x for x in badges[d])
