"""Drafts (unfinished work) in the label store, on SQLite and PostgreSQL: one row per
annotator/scheme/item/campaign, replaced and discarded; never counted as annotations by
consensus, export or campaign retirement."""

from __future__ import annotations

import pandas as pd

from workbench.io.labels import LabelStore
from workbench.labeling.export import export_labels


def _fr(m):
    return {"morphology": m, "confidence": "confident"}


def test_drafts_are_replaced_filtered_and_discarded(store_url):
    s = LabelStore(store_url)
    s.save_draft("a", {"selected": [1]}, annotator="ada", scheme="rgz")
    s.save_draft("a", {"selected": [1, 3]}, annotator="ada", scheme="rgz")  # replaces
    s.save_draft("a", {"selected": [2]}, annotator="bob", scheme="rgz")
    s.save_draft("a", {"path": {"morphology": "FRI"}}, annotator="ada", scheme="fr-morphology")
    s.save_draft("b", {"selected": [4]}, annotator="ada", scheme="rgz", campaign="c1")
    s.close()
    s = LabelStore(store_url)  # durable: a new connection sees them
    mine = s.drafts(annotator="ada", scheme="rgz")
    assert len(mine) == 2 and set(mine["item_id"]) == {"a", "b"}
    assert mine["item_id"].iloc[0] == "b"  # newest first
    plain = s.drafts(annotator="ada", scheme="rgz", campaign=None)
    assert list(plain["item_id"]) == ["a"] and plain["state"].iloc[0] == {"selected": [1, 3]}
    assert plain["campaign"].iloc[0] is None
    camp = s.drafts(annotator="ada", scheme="rgz", campaign="c1")
    assert list(camp["state"]) == [{"selected": [4]}] and camp["campaign"].iloc[0] == "c1"
    assert s.drafts(scheme="fr-morphology")["state"].iloc[0] == {"path": {"morphology": "FRI"}}
    assert s.discard_draft("a", annotator="ada", scheme="rgz") is True
    assert s.discard_draft("a", annotator="ada", scheme="rgz") is False
    left = s.drafts()
    assert sorted(zip(left["item_id"], left["annotator"], left["scheme"])) == [
        ("a", "ada", "fr-morphology"), ("a", "bob", "rgz"), ("b", "ada", "rgz")]
    assert s.counts()["annotations"] == 0


def test_consensus_export_and_retirement_ignore_drafts(store_url, tmp_path):
    s = LabelStore(store_url)
    camp = s.create_campaign("c", "fr-morphology", ["a", "b", "c"], retire=1)
    camp.annotate("a", _fr("FRI"), annotator="ada")

    def snapshot(tag):
        st = camp.status()
        cons = export_labels(s, "c", tmp_path / f"cons-{tag}.parquet")
        raw = export_labels(s, "c", tmp_path / f"raw-{tag}.parquet", raw=True)
        return (st, pd.read_parquet(cons["path"]), pd.read_parquet(raw["path"]),
                s.annotations(), camp.items())

    before = snapshot("before")
    # unfinished work of two annotators on every item, some of it in the campaign
    for who in ("ada", "bob"):
        for item in ("a", "b", "c"):
            s.save_draft(item, {"path": {"morphology": "FRII"}}, annotator=who,
                         scheme="fr-morphology", campaign="c")
    s.save_draft("b", {"path": {"morphology": "FRII"}}, annotator="cy", scheme="fr-morphology")
    after = snapshot("after")
    assert before[0] == after[0] and after[0]["n_retired"] == 1 and after[0]["n_annotations"] == 1
    for x, y in zip(before[1:], after[1:]):
        pd.testing.assert_frame_equal(x, y)
    assert len(s.drafts()) == 7
    # items with drafts are still handed out, and retire only by annotations
    got = {camp.next_item("bob"), camp.next_item("cy")}
    assert got == {"b", "c"}
    camp.annotate("b", _fr("FRII"), annotator="bob")
    assert camp.status()["n_retired"] == 2 and len(s.drafts()) == 7
