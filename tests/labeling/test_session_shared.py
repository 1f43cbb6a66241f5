"""A Session as a server runs it: one write transaction per item labelled in a campaign,
and the campaign object, items and ids shared by every annotator's session."""

from __future__ import annotations

import pytest
import tiny
from write_counter import count_write_transactions

from workbench.io.labels import open_store
from workbench.labeling import Session
from workbench.labeling.drawing import load_item


@pytest.fixture
def transient(tmp_path):
    coll = tiny.transient_collection(tmp_path / "tr", n=4, size=24)
    store = open_store(coll)
    store.create_campaign("c", "transient", coll.ids, retire=2)
    return coll, store


def test_answering_an_item_is_one_transaction_that_claims_the_next(transient):
    coll, store = transient
    s = Session(coll, store, None, campaign="c", annotator="ada")
    first = s.item_id
    with count_write_transactions(store.engine) as writes:
        s.key("2")  # the transient scheme's one question: the item is done
    assert writes == [1]
    assert s.item_id not in (None, first)
    st = store.campaign("c").status()
    assert st["n_open"] == 1 and st["annotators"] == {"ada": 1}  # the next one is claimed
    # the claim is the store's: a rebuilt session (a new request) resumes it
    assert Session(coll, store, None, campaign="c", annotator="ada").item_id == s.item_id
    # submit() of the item shown does the same; undo still retracts (one more write)
    with count_write_transactions(store.engine) as writes:
        s.submit({"class": "noise"})
        assert len(writes) == 1 and len(store.annotations(campaign="c")) == 2
        s.undo()
    assert len(store.annotations(campaign="c")) == 1 and len(writes) == 2
    assert s.progress()["mine"] == 1


def test_nothing_left_after_the_last_answer(transient):
    coll, store = transient
    s = Session(coll, store, None, campaign="c", annotator="ada")
    seen = []
    while s.item_id is not None:
        seen.append(s.item_id)
        s.key("1")
    assert sorted(seen) == sorted(coll.ids) and store.campaign("c").status()["n_open"] == 0


def test_sessions_share_the_campaign_the_items_and_the_ids(transient):
    coll, store = transient
    camp = store.campaign("c")
    loads = []

    def loader(item_id):
        loads.append(item_id)
        return cache.setdefault(item_id, load_item(coll, item_id))

    cache: dict = {}
    ids = [str(i) for i in coll.ids]
    a = Session(coll, store, None, campaign=camp, annotator="ada", loader=loader,
                ids=(ids, set(ids)))
    b = Session(coll, store, None, campaign=camp, annotator="bo", loader=loader,
                ids=(ids, set(ids)))
    reads = []
    counts = camp.progress
    camp.progress = lambda *a: reads.append(1) or counts(*a)  # the one object both read
    assert a.campaign == b.campaign == "c"
    assert a.item_id == b.item_id and loads == [a.item_id, b.item_id]  # retire 2: both
    assert a.item is b.item is cache[a.item_id]  # the loader's object, not a copy
    a.key("3")
    assert b.view()["progress"]["total"] == 4 and a.view()["progress"]["mine"] == 1
    assert len(reads) == 2  # each session's counts came from the shared campaign object
    assert set(a.view()["meta"]) <= {"id", "ra", "dec"}  # still blind


def test_an_item_answered_in_two_campaigns_keeps_both_labels(transient):
    coll, store = transient
    store.create_campaign("other", "transient", coll.ids, retire=1)
    a = Session(coll, store, None, campaign="c", annotator="ada")
    first = a.item_id
    a.key("1")
    b = Session(coll, store, None, campaign="other", annotator="ada")
    while b.item_id != first:  # reach the same item in the other campaign
        b.skip()
    assert b.answers() == (None, {})  # the other campaign's label is not this one's
    b.key("2")
    rows = store.annotations(item_id=first, include_retracted=True)
    assert sorted(zip(rows["campaign"], rows["retracted"])) == [("c", False), ("other", False)]
    assert store.campaign("c").items().set_index("item_id").loc[first, "n_done"] == 1
    # in its own campaign an item answered again still supersedes the earlier label
    a.prev()
    assert a.item_id == first and a.answers()[1] == {"class": "pulsar"}
    a.key("3")
    live = store.annotations(item_id=first, campaign="c")
    assert live["answers"].tolist() == [{"class": "broadband_rfi"}]
