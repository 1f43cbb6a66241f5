"""Labeler logic driven through its public handlers (``handle_key``/``handle_click``, what
the browser's messages call): every answer reaches the store at once, undo writes a
retraction, a rebuilt Labeler shows the same state, text is data. One test sends the
browser's own messages over the widget's comm (tests/widgets/fake_frontend.py)."""

from __future__ import annotations

import fake_frontend
import numpy as np
import pytest
import tiny

from workbench.imaging.islands import find_components
from workbench.io.labels import open_store
from workbench.widgets import Labeler, render

SIZE = 48


def _key(L, key):
    L.handle_key(key)


def _click(L, row, col):
    L.handle_click(*render.array_to_display(row, col, (SIZE, SIZE)))


@pytest.fixture
def radio(tmp_path):
    coll = tiny.radio_collection(tmp_path / "radio", n=4, size=SIZE, seed=3)
    return coll, open_store(coll)


def test_rgz_answers_are_written_the_moment_a_source_is_complete(radio):
    coll, store = radio
    # rg001 has three components: a double (one source) and a single (a second source)
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada", items=["rg001", "rg002"])
    assert L.item_id == "rg001" and L.state["question"]["id"] == "sources"
    lab = find_components(coll[1].images["radio"][0])[0]
    centres = tiny.blob_centres(1, SIZE)
    comp = [int(lab[round(r), round(c)]) for r, c in centres]
    assert len(set(comp)) == 3 and 0 not in comp  # every click below lands on a component
    _click(L, *centres[0])
    _click(L, *centres[1])
    want = sorted(comp[:2])
    assert sorted(L.state["selected"]) == want
    _key(L, "Enter")
    _click(L, 24, 24)
    assert len(store.annotations()) == 0  # the source is not complete yet
    _key(L, "3")
    df = store.annotations(annotator="ada")
    assert len(df) == 1
    src = df["answers"].iloc[0]["sources"]
    assert src == [{"components": want, "host": {"x": 24.0, "y": 24.0}, "morphology": "FRII"}]
    assert df["scheme"].iloc[0] == "rgz" and df["item_id"].iloc[0] == "rg001"
    # a second source on the same item supersedes the first annotation (a retraction)
    _click(L, *centres[2])
    assert L.state["selected"] == [comp[2]]
    _key(L, "Enter")
    _key(L, "n")
    _key(L, "1")
    live = store.annotations(annotator="ada")
    assert len(live) == 1 and [s["components"] for s in live["answers"].iloc[0]["sources"]] \
        == [want, [comp[2]]]
    every = store.annotations(annotator="ada", include_retracted=True)
    assert len(every) == 2 and int(every["retracted"].sum()) == 1
    _key(L, "Enter")  # done with the item
    assert L.item_id == "rg002"


def test_browser_messages_reach_the_handlers_and_state_goes_back(radio, monkeypatch):
    fe = fake_frontend.install(monkeypatch)
    coll, store = radio
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")

    def updates(trait):  # values of a trait the kernel sent the browser, in order
        return [d["state"][trait] for kind, d, _ in fe.sent(L)
                if kind == "comm_msg" and trait in d.get("state", {})]

    assert fe.sent(L)[0][0] == "comm_open"
    sent_panels = updates("panels")[-1]  # (images travel as binary buffers beside them)
    assert [p["title"] for p in sent_panels] == [p["title"] for p in L.panels] != []
    lab = find_components(coll[0].images["radio"][0])[0]
    r, c = tiny.blob_centres(0, SIZE)[0]
    x, y = render.array_to_display(r, c, (SIZE, SIZE))
    fe.send(L, {"type": "click", "x": x, "y": y})
    assert L.state["selected"] == [int(lab[round(r), round(c)])]
    assert updates("state")[-1]["selected"] == L.state["selected"]
    fe.send(L, {"type": "key", "key": "0"})  # no contours: one key, the next item
    assert L.item_id == "rg001"
    assert list(store.annotations(annotator="ada")["item_id"]) == ["rg000"]
    fe.send(L, {"type": "unknown"})  # other messages are ignored
    assert L.item_id == "rg001"


def test_no_contours_is_one_key_and_undo_writes_a_retraction(radio):
    coll, store = radio
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    _key(L, "0")
    assert L.item_id == "rg001"
    live = store.annotations(annotator="ada")
    assert list(live["item_id"]) == ["rg000"]
    assert live["answers"].iloc[0] == {"no_contours": True, "sources": []}
    _key(L, "u")
    assert L.item_id == "rg000"
    assert len(store.annotations(annotator="ada")) == 0
    allrows = store.annotations(annotator="ada", include_retracted=True)
    assert len(allrows) == 1 and bool(allrows["retracted"].iloc[0])
    _key(L, "Backspace")  # nothing left this Labeler wrote
    assert "nothing to undo" in L.state["message"]


def test_rebuilt_labeler_shows_the_same_state_from_the_store(radio):
    coll, store = radio
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    _key(L, "0")  # rg000
    _key(L, "s")  # skip rg001
    assert L.item_id == "rg002"
    L.close()
    L2 = Labeler(coll, scheme="rgz", store=open_store(coll), annotator="ada")
    assert L2.item_id == "rg001"  # the first item without this annotator's label
    L3 = Labeler(coll, scheme="rgz", store=open_store(coll), annotator="ada",
                 items=["rg000", "rg002"])
    assert L3.item_id == "rg002"
    _key(L3, "ArrowLeft")  # nothing before it in this session
    assert L3.item_id == "rg002"
    # another annotator starts from the beginning
    assert Labeler(coll, scheme="rgz", store=store, annotator="bob").item_id == "rg000"
    # going back to a labelled item shows its answers from the store
    L4 = Labeler(coll, scheme="rgz", store=store, annotator="ada", items=["rg000"])
    assert L4.state["done_all"]


def test_choice_scheme_keys_and_campaign(tmp_path):
    coll = tiny.transient_collection(tmp_path / "tr", n=3, size=32)
    store = open_store(coll)
    store.create_campaign("c1", "transient", coll.ids, retire=1)
    camp = store.campaign("c1")  # a Campaign object (as a server shares one) counts reads
    calls = []
    counts = camp.progress
    camp.progress = lambda *a: calls.append(1) or counts(*a)
    L = Labeler(coll, scheme="transient", store=store, campaign=camp, annotator="ada")
    first = L.item_id
    keys = [a["key"] for a in L.state["question"]["answers"]]
    assert keys == ["1", "2", "3", "4", "5", "6"]
    _key(L, "9")  # not an answer: nothing written
    assert len(store.annotations()) == 0
    _key(L, "2")
    df = store.annotations(campaign="c1")
    assert list(df["item_id"]) == [first] and df["answers"].iloc[0] == {"class": "frb"}
    assert df["started"].iloc[0] <= df["ended"].iloc[0]
    assert L.item_id not in (None, first)
    assert L.state["progress"]["total"] == 3 and L.state["progress"]["done"] == 1
    calls.clear()
    seq = L.state["seq"]
    for _ in range(5):  # redraws within one item (keys, clicks) do not re-query it
        _key(L, "9")
    assert calls == [] and L.state["seq"] == seq + 5
    _key(L, "3")  # a write, and the next item: counts read again
    assert len(calls) >= 1 and L.state["progress"]["done"] == 2
    # DM-time and frequency-time with physical axes
    titles = [(p["x"]["unit"], p["y"]["unit"]) for p in L.panels]
    assert titles == [("s", "pc cm^-3"), ("s", "MHz")]
    # blind: the campaign shows no S/N (not in its show list); a notebook selection does
    assert not any("S/N" in s or "DM " in s for s in L.panels[0]["info"])
    assert set(L.state["meta"]) <= {"id", "ra", "dec"}
    free = Labeler(coll, scheme="transient", store=store, annotator="bob")
    assert any(s.startswith("S/N") for s in free.panels[0]["info"])
    assert "snr" in free.state["meta"]


def test_catalog_text_crosses_as_data_not_markup(tmp_path):
    evil = "<script>alert(1)</script>"
    coll = tiny.radio_collection(tmp_path / "e", n=2, size=SIZE, extra={"note": [evil, "x"]})
    L = Labeler(coll, scheme="rgz", store=open_store(coll), annotator="ada")
    assert L.state["meta"]["note"] == evil  # raw text; the browser sets it as textContent
    import pathlib

    import workbench.widgets as w

    for js in pathlib.Path(w.__file__).parent.glob("*.js"):
        assert "innerHTML" not in js.read_text(), js.name


def test_components_click_on_background_selects_nothing(radio):
    coll, store = radio
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    _click(L, 2, 2)
    assert L.state["selected"] == [] and "no component" in L.state["message"]
    np.testing.assert_equal(len(store.annotations()), 0)


def test_undo_of_a_second_source_restores_the_first(radio):
    coll, store = radio
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    lab = find_components(coll[0].images["radio"][0])[0]
    for k in (1, 2):  # two sources of one component each
        rows, cols = np.nonzero(lab == k)
        _click(L, rows[0], cols[0])
        _key(L, "Enter")
        _key(L, "n")
        _key(L, "1")
    live = store.annotations(annotator="ada")
    assert len(live) == 1 and [s["components"] for s in live["answers"].iloc[0]["sources"]] \
        == [[1], [2]]
    _key(L, "u")
    live = store.annotations(annotator="ada")
    assert len(live) == 1 and [s["components"] for s in live["answers"].iloc[0]["sources"]] \
        == [[1]]
    assert L.state["answers"]["sources"][0]["components"] == [1]
    _key(L, "u")
    assert len(store.annotations(annotator="ada")) == 0
    assert store.annotations(annotator="ada", include_retracted=True)["retracted"].all()
