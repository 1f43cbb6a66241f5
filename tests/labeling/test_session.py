"""The labeling Session without any widget: the RGZ step machine, item-path questions,
whole-answer submits, undo and supersede, skip, campaign claims and draft handling."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tiny

from workbench.core.errors import SchemeError, StoreError
from workbench.io.labels import LabelStore, open_store
from workbench.labeling import Session, render

SIZE = 48


@pytest.fixture
def radio(tmp_path):
    coll = tiny.radio_collection(tmp_path / "radio", n=4, size=SIZE, seed=3)
    return coll, open_store(coll)


def _click_component(s, k):
    """Click a pixel of component ``k`` of the item shown."""
    lab = s.label_map()
    rows, cols = np.nonzero(lab == k)
    s.click(*render.array_to_display(rows[0], cols[0], lab.shape))


def _reasons(store):
    df = store.annotations(include_retracted=True)
    return sorted(df["retracted"].tolist())


def test_rgz_steps_write_each_source_and_supersede(radio):
    coll, store = radio
    s = Session(coll, store, "rgz", annotator="ada")
    v = s.view()
    assert v["item_id"] == "rg000" and v["question"]["id"] == "sources"
    assert v["draw"]["shape"] == [SIZE, SIZE] and v["draw"]["components"] is True
    json.dumps(v)  # JSON-safe
    _click_component(s, 1)
    _click_component(s, 2)
    assert s.view()["selected"] == [1, 2]
    _click_component(s, 2)  # a second click deselects
    assert s.view()["selected"] == [1]
    s.key("Enter")
    v = s.view()
    assert v["question"]["id"] == "host" and v["pending"] == {"components": [1]}
    s.click(30.5, 10.5)  # display pixels: x right, y down
    v = s.view()
    assert v["question"]["id"] == "morphology"
    assert v["pending"]["host"] == {"x": 30.0, "y": SIZE - 10.5 - 0.5}
    assert len(store.annotations()) == 0  # the source is not complete yet
    s.key("3")
    df = store.annotations(annotator="ada")
    assert df["answers"].iloc[0] == {"no_contours": False, "sources": [
        {"components": [1], "host": {"x": 30.0, "y": 37.0}, "morphology": "FRII"}]}
    v = s.view()
    assert v["question"]["id"] == "sources" and v["sources_done"] == 1
    assert v["annotation_id"] == int(df["id"].iloc[0])
    # a component of a written source cannot join another
    _click_component(s, 1)
    assert "already belongs" in s.view()["message"] and s.view()["selected"] == []
    # second source: the item's cumulative answers supersede the first annotation
    _click_component(s, 2)
    for k in ("Enter", "n", "1"):
        s.key(k)
    live = store.annotations(annotator="ada")
    assert len(live) == 1 and [x["components"] for x in live["answers"].iloc[0]["sources"]] \
        == [[1], [2]]
    every = store.annotations(annotator="ada", include_retracted=True)
    assert len(every) == 2 and every["retracted"].tolist() == [True, False]
    # undo of the second source brings the first back as the live answer
    s.undo()
    live = store.annotations(annotator="ada")
    assert [x["components"] for x in live["answers"].iloc[0]["sources"]] == [[1]]
    assert s.item_id == "rg000" and s.view()["sources_done"] == 1
    s.key("Enter")  # finished with one source
    assert s.item_id == "rg001" and len(store.drafts()) == 0


def test_background_click_no_contours_and_undo(radio):
    coll, store = radio
    s = Session(coll, store, "rgz", annotator="ada")
    s.click(0.5, 0.5)
    assert s.view()["selected"] == [] and "no component" in s.view()["message"]
    s.key("Enter")  # nothing selected, nothing answered: say what to do
    assert "no contours" in s.view()["message"] and s.item_id == "rg000"
    s.key("0")
    assert s.item_id == "rg001"
    assert store.annotations()["answers"].tolist() == [{"no_contours": True, "sources": []}]
    s.key("u")
    assert s.item_id == "rg000" and len(store.annotations()) == 0
    assert store.annotations(include_retracted=True)["retracted"].tolist() == [True]
    s.undo()
    assert "nothing to undo" in s.view()["message"]


def test_item_path_questions_and_step_undo(tmp_path):
    coll = tiny.radio_collection(tmp_path / "fr", n=3, size=SIZE, seed=1)
    store = open_store(coll)
    s = Session(coll, store, "fr-morphology", annotator="ada")
    assert s.view()["draw"]["components"] is False
    s.key("2")
    v = s.view()
    assert v["question"]["id"] == "confidence" and v["path"] == {"morphology": "FRII"}
    assert len(store.annotations()) == 0 and len(store.drafts()) == 1
    s.key("u")
    assert s.view()["question"]["id"] == "morphology" and len(store.drafts()) == 0
    s.key("1")
    s.key("2")
    df = store.annotations()
    assert df["answers"].tolist() == [{"morphology": "FRI", "confidence": "uncertain"}]
    assert s.item_id == "rg001" and s.view()["path"] == {}
    s.key("9")  # not an answer key
    assert len(store.annotations()) == 1 and s.item_id == "rg001"


def test_submit_validates_supersedes_and_moves_on(radio):
    coll, store = radio
    s = Session(coll, store, "rgz", annotator="ada")
    with pytest.raises(SchemeError, match="not answered"):
        s.submit({"no_contours": False})
    with pytest.raises(SchemeError, match="component"):  # ids beyond the item's map
        s.submit({"no_contours": False, "sources": [{"components": [99], "host": None,
                                                     "morphology": "FRI"}]})
    with pytest.raises(SchemeError):
        s.submit(["not", "a", "dict"])
    assert len(store.annotations()) == 0 and s.item_id == "rg000"
    _click_component(s, 1)  # a draft, then a whole answer replaces it
    assert len(store.drafts()) == 1
    a1 = s.submit({"no_contours": True, "sources": []})
    assert s.item_id == "rg001" and len(store.drafts()) == 0
    # answering an item again (by id) supersedes this annotator's live annotation
    a2 = s.submit({"no_contours": False, "sources": [{"components": [1], "host": None,
                                                      "morphology": "compact"}]},
                  item_id="rg000")
    assert s.item_id == "rg001"  # not the item shown: it stays
    live = store.annotations()
    assert live["id"].tolist() == [a2] and live["item_id"].tolist() == ["rg000"]
    every = store.annotations(include_retracted=True)
    assert every.set_index("id").loc[a1, "retracted"]
    with pytest.raises(StoreError, match="not in"):
        Session(coll, store, "rgz", annotator="bob", items=["rg002"]).submit(
            {"no_contours": True, "sources": []}, item_id="rg003")


def test_selection_order_skip_and_progress(radio):
    coll, store = radio
    s = Session(coll, store, "rgz", annotator="ada", items=["rg002", "rg000"])
    assert s.item_id == "rg002" and s.view()["progress"] == {"done": 0, "total": 2, "mine": 0}
    s.skip()
    assert s.item_id == "rg000" and len(store.annotations()) == 0
    s.key("0")
    assert s.view()["done_all"] and s.view()["item_id"] == ""
    assert s.view()["progress"] == {"done": 1, "total": 2, "mine": 1}
    s.prev()
    assert s.item_id == "rg000" and s.view()["answers"] == {"no_contours": True, "sources": []}
    # a new session skips what ada labelled; the skipped item comes back outside campaigns
    assert Session(coll, store, "rgz", annotator="ada", items=["rg002", "rg000"]).item_id \
        == "rg002"
    with pytest.raises(KeyError):
        Session(coll, store, "rgz", annotator="ada", items=["nope"])
    with pytest.raises(StoreError):
        Session(coll, store, "rgz", annotator=" ")


def test_campaign_claims_skip_and_resume(tmp_path, store_url):
    coll = tiny.transient_collection(tmp_path / "tr", n=3, size=32)
    store = LabelStore(store_url)
    store.create_campaign("c", "transient", coll.ids, retire=1)
    a = Session(coll, store, None, campaign="c", annotator="ada")  # the campaign's scheme
    b = Session(coll, store, "transient", campaign="c", annotator="bob")
    assert a.scheme.name == "transient"
    assert a.item_id != b.item_id  # claims: concurrent annotators get different items
    # a rebuilt session (a restarted kernel or a new request) resumes ada's open claim
    assert Session(coll, store, None, campaign="c", annotator="ada").item_id == a.item_id
    first = a.item_id
    a.skip()  # released: ada never gets it again, the pool has it again
    st = store.campaign("c").status()
    assert st["n_skipped"] == 1 and a.item_id not in (None, first, b.item_id)
    a.key("2")
    assert store.annotations(campaign="c")["answers"].tolist() == [{"class": "frb"}]
    assert a.item_id is None  # b holds the last one; ada skipped the first
    assert a.view()["progress"] == {"done": 1, "total": 3, "mine": 1}
    assert Session(coll, store, None, campaign="c", annotator="cy").item_id == first
    with pytest.raises(StoreError, match="uses scheme"):
        Session(coll, store, "rgz", campaign="c", annotator="ada")
    with pytest.raises(StoreError):
        Session(coll, store, None, campaign="nope", annotator="ada")


def test_drafts_survive_a_crash(tmp_path, store_url):
    """A session dropped mid-source (its process gone: nothing closed, nothing flushed
    beyond what each action stored) is restored by a new Session on a new connection."""
    coll = tiny.radio_collection(tmp_path / "r", n=4, size=SIZE, seed=3)
    s = Session(coll, LabelStore(store_url), "rgz", annotator="ada")
    s.next()
    _click_component(s, 1)
    _click_component(s, 2)
    s.key("Enter")
    s.click(20.5, 20.5)
    before = {k: s.view()[k] for k in ("item_id", "selected", "pending", "question")}
    assert before["item_id"] == "rg001" and before["question"]["id"] == "morphology"
    del s
    store = LabelStore(store_url)
    assert len(store.annotations(include_retracted=True)) == 0
    s = Session(coll, store, "rgz", annotator="ada")
    assert {k: s.view()[k] for k in before} == before
    assert "restored" in s.view()["message"]
    other = Session(coll, store, "rgz", annotator="bob")  # drafts are per annotator
    assert other.item_id == "rg000" and other.view()["pending"] is None
    s.key("1")
    assert store.annotations()["answers"].iloc[0]["sources"][0]["morphology"] == "compact"
    s.key("Enter")
    assert len(store.drafts()) == 0


def test_autosave_off_defers_draft_writes_until_save(radio):
    coll, store = radio
    s = Session(coll, store, "rgz", annotator="ada", autosave=False)
    _click_component(s, 1)
    assert len(store.drafts()) == 0  # not yet: the view draws first
    assert s.save() is False
    assert store.drafts()["state"].iloc[0]["selected"] == [1]
    s.next()  # moving away keeps the draft; the next item has none
    assert s.save() is False and store.drafts()["item_id"].tolist() == ["rg000"]
    s.prev()
    s.skip()  # skipping removes it
    s.save()
    assert len(store.drafts()) == 0


def test_a_draft_that_cannot_be_saved_is_reported_not_fatal(radio, monkeypatch):
    coll, store = radio
    s = Session(coll, store, "rgz", annotator="ada")

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(store, "save_draft", broken)
    _click_component(s, 1)
    assert "not saved: disk full" in s.view()["message"]
    assert s.view()["selected"] == [1]  # labelling goes on
    for k in ("Enter", "n", "1"):
        s.key(k)
    assert len(store.annotations()) == 1
