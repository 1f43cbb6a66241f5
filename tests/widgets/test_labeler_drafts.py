"""Unfinished work survives the Labeler: a kernel killed (SIGKILL) mid-source, or a Labeler
dropped without finishing, leaves a draft in the store, and the next Labeler of the same
annotator opens that item in the same state; finishing, skipping or undoing removes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tiny

from workbench.io.components import compute_components
from workbench.io.labels import LabelStore, open_store
from workbench.widgets import Labeler, render

SIZE = 48

#: A Labeler in its own process: replays ``steps`` and prints its state, then waits to die.
CHILD = textwrap.dedent("""\
    import json, sys, time
    import workbench
    from workbench.io.labels import LabelStore
    from workbench.widgets import Labeler
    path, url, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    L = Labeler(workbench.open(path), scheme="rgz", store=LabelStore(url), annotator="ada")
    for s in steps:
        L.handle_key(s) if isinstance(s, str) else L.handle_click(*s)
    print(json.dumps(L.state), flush=True)
    time.sleep(600)
""")


def _xy(row, col):
    return list(render.array_to_display(row, col, (SIZE, SIZE)))


def _component_xy(coll, i, k):
    """Display position of a pixel of component ``k`` of item ``i`` (stored maps)."""
    lab = np.asarray(coll.derived_array("components")[i])
    lab = lab[0] if lab.ndim == 3 else lab
    rows, cols = np.nonzero(lab == k)
    return _xy(rows[0], cols[0])


def _step_view(state):
    return {k: state[k] for k in ("item_id", "selected", "pending")} | {
        "question": state["question"]["id"]}


@pytest.fixture
def radio(tmp_path):
    coll = tiny.radio_collection(tmp_path / "radio", n=4, size=SIZE, seed=3)
    compute_components(coll)
    return coll


def test_sigkilled_labeler_leaves_a_draft_that_the_next_one_restores(radio, store_url):
    coll = radio
    # move to the third item, pick two components, close the source and place its host:
    # the source now waits for its morphology (nothing is an annotation yet)
    steps = ["ArrowRight", "ArrowRight", _component_xy(coll, 2, 1), _component_xy(coll, 2, 2),
             "Enter", _xy(20, 30)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), *sys.path]))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(coll.path), store_url,
                             json.dumps(steps)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    child = json.loads(line)
    assert _step_view(child) == {"item_id": "rg002", "selected": [],
                                 "pending": {"components": [1, 2],
                                             "host": {"x": 30.0, "y": 20.0}},
                                 "question": "morphology"}
    store = LabelStore(store_url)
    assert len(store.annotations(include_retracted=True)) == 0
    # a new Labeler (new process state) opens the unfinished item first, in the same step
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    assert _step_view(L.state) == _step_view(child)
    assert "restored" in L.state["message"]
    # another annotator does not see ada's draft
    assert _step_view(Labeler(coll, scheme="rgz", store=store, annotator="bob").state) == {
        "item_id": "rg000", "selected": [], "pending": None, "question": "sources"}
    L.handle_key("3")  # FRII: the source is complete and written
    df = store.annotations(annotator="ada")
    assert list(df["item_id"]) == ["rg002"]
    assert df["answers"].iloc[0]["sources"] == [{**child["pending"], "morphology": "FRII"}]
    assert list(store.drafts(annotator="ada")["state"].map(lambda s: s["open"])) == [True]
    L.handle_key("Enter")  # done with the item: nothing unfinished is left
    assert L.item_id != "rg002" and len(store.drafts()) == 0


def test_dropped_labeler_with_one_source_written_reopens_that_item(radio):
    coll = radio
    store = open_store(coll)
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    L.handle_click(*_component_xy(coll, 0, 1))
    for key in ("Enter", "n", "1"):  # first source: component 1, no host, compact
        L.handle_key(key)
    L.handle_click(*_component_xy(coll, 0, 2))  # second source begun
    del L  # dropped without finishing (no close, no further message)
    L = Labeler(coll, scheme="rgz", store=open_store(coll), annotator="ada")
    # rg000 has a live annotation but is unfinished: it comes first, with both parts
    assert L.item_id == "rg000" and L.state["selected"] == [2]
    assert [s["components"] for s in L.state["answers"]["sources"]] == [[1]]
    L.handle_key("u")  # undo the click: only "more sources may follow" is left
    assert L.state["selected"] == [] and len(store.drafts()) == 1
    L.close()
    L = Labeler(coll, scheme="rgz", store=open_store(coll), annotator="ada")
    assert L.item_id == "rg000" and L.state["question"]["id"] == "sources"
    L.handle_key("Enter")  # finished with one source
    assert L.item_id == "rg001" and len(store.drafts()) == 0
    assert Labeler(coll, scheme="rgz", store=store, annotator="ada").item_id == "rg001"


def test_arrows_keep_a_draft_skip_and_undo_remove_it(radio):
    coll = radio
    store = open_store(coll)
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    L.handle_click(*_component_xy(coll, 0, 1))
    L.handle_key("ArrowRight")
    assert L.item_id == "rg001" and list(store.drafts()["item_id"]) == ["rg000"]
    L.handle_key("ArrowLeft")
    assert L.item_id == "rg000" and L.state["selected"] == [1]
    L.handle_key("s")  # skip: the unfinished work goes with it
    assert L.item_id == "rg001" and len(store.drafts()) == 0
    L.handle_click(*_component_xy(coll, 1, 1))
    assert list(store.drafts()["item_id"]) == ["rg001"]
    L.handle_key("Backspace")
    assert len(store.drafts()) == 0 and len(store.annotations()) == 0


def test_item_path_draft_in_a_campaign(tmp_path, store_url):
    coll = tiny.radio_collection(tmp_path / "fr", n=3, size=SIZE, seed=1)
    store = LabelStore(store_url)
    store.create_campaign("c", "fr-morphology", coll.ids, retire=1)
    L = Labeler(coll, scheme="fr-morphology", store=store, campaign="c", annotator="ada")
    first = L.item_id
    L.handle_key("2")  # FRII; the confidence question is next
    assert L.state["question"]["id"] == "confidence" and len(store.annotations()) == 0
    assert store.campaign("c").status()["n_retired"] == 0
    del L
    L = Labeler(coll, scheme="fr-morphology", store=LabelStore(store_url), campaign="c",
                annotator="ada")
    assert L.item_id == first and L.state["question"]["id"] == "confidence"
    L.handle_key("u")  # back to the first question
    assert L.state["question"]["id"] == "morphology" and len(store.drafts()) == 0
    L.handle_key("1")
    L.handle_key("2")
    df = store.annotations(campaign="c")
    assert list(df["item_id"]) == [first]
    assert df["answers"].iloc[0] == {"morphology": "FRI", "confidence": "uncertain"}
    assert len(store.drafts()) == 0 and store.campaign("c").status()["n_retired"] == 1


def test_a_draft_older_than_its_written_source_does_not_repeat_it(radio):
    # killed between writing the source and updating the draft: the draft still holds
    # the source waiting for its morphology, but the store already has it
    coll = radio
    store = open_store(coll)
    L = Labeler(coll, scheme="rgz", store=store, annotator="ada")
    L.handle_click(*_component_xy(coll, 0, 1))
    L.handle_key("Enter")
    L.handle_key("n")
    stale = store.drafts()["state"].iloc[0]
    assert stale["question"] == "morphology"
    L.handle_key("1")  # the source is written
    store.save_draft("rg000", stale, annotator="ada", scheme="rgz")  # the lost update
    L = Labeler(coll, scheme="rgz", store=open_store(coll), annotator="ada")
    assert L.item_id == "rg000" and L.state["question"]["id"] == "sources"
    assert L.state["pending"] is None and len(L.state["answers"]["sources"]) == 1
