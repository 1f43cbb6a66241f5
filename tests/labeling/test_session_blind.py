"""Blind labeling: in a campaign no Session view, no panel and no message of a real Labeler
widget carries a hidden column's name or value; ids of simulated surveys are neutral."""

from __future__ import annotations

import json
import re

import fake_frontend
import numpy as np
import pytest

from workbench.io.labels import open_store
from workbench.labeling import Session, render

SECRET = "secret_truth_xyz"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A simulated radio survey with a distinctive hidden derived column."""
    from workbench.sims.radio import simulate_radio

    coll = simulate_radio(tmp_path_factory.mktemp("blind") / "s", n=6, seed=2, size=64)
    values = [f"qv{k}zsecretval{k * 7919}" for k in range(len(coll))]
    coll.add_columns("secret", {SECRET: values}, tool="tests.blind", version="1", params={})
    return coll, values


def _hidden_strings(coll, values) -> list[str]:
    """Names and values that must never reach the annotator in a default campaign."""
    cat = coll.catalog
    out = [SECRET, *values, "truth", "fr_ratio", "host_ra", "opening_angle_deg",
           "size_arcsec", "flux_jy", "snr"]
    for col in ("fr_ratio", "size_arcsec", "flux_jy"):
        out += [str(v) for v in cat[col] if np.isfinite(v)]  # full-precision floats
    return out


def _text(obj) -> str:
    """Everything in ``obj`` as one searchable string (bytes decoded byte for byte)."""
    def raw(o):
        return bytes(o).decode("latin-1")
    return json.dumps(obj, default=raw)


def _leaks(text: str, hidden) -> list[str]:
    return [h for h in hidden if h in text]


def _component_click(s, k=1):
    lab = s.label_map()
    rows, cols = np.nonzero(lab == k)
    return render.array_to_display(rows[0], cols[0], lab.shape)


def test_session_views_in_a_campaign_show_only_the_campaign_columns(sim):
    coll, values = sim
    store = open_store(coll)
    store.create_campaign("blind-s", "rgz", coll.ids, retire=2)
    hidden = _hidden_strings(coll, values)
    assert _leaks(_text(coll.catalog.astype(str).to_dict("records")), hidden)  # can fail
    s = Session(coll, store, None, campaign="blind-s", annotator="ada")
    seen = [s.view(), s.panels()]
    s.click(*_component_click(s))
    s.key("Enter")
    s.click(30.5, 30.5)
    seen.append(s.view())
    s.key("3")
    s.key("Enter")
    seen += [s.view(), s.panels()]
    s.skip()
    s.undo()
    seen += [s.view(), s.panels(), s.outlines()]
    assert set(s.view()["meta"]) == {"id", "ra", "dec"}
    assert _leaks(_text(seen), hidden) == []


def test_labeler_messages_in_a_campaign_carry_no_hidden_column(sim, monkeypatch):
    from workbench.widgets import Labeler

    coll, values = sim
    store = open_store(coll)
    store.create_campaign("blind-w", "rgz", coll.ids, retire=2)
    fe = fake_frontend.install(monkeypatch)  # records what goes over the widget's comm
    L = Labeler(coll, campaign="blind-w", annotator="ada")
    states = [L.get_state()]  # what the comm opens with
    L.handle_click(*_component_click(L.session))
    for k in ("Enter", "n", "2", "Enter", "s", "ArrowLeft", "u", "ArrowRight"):
        L.handle_key(k)
        states.append(L.get_state())
    sent = [(data, bufs) for _, data, bufs in fe.sent(L)]
    assert len(sent) >= 10 and any("panels" in m.get("state", {}) for m, _ in sent[1:])
    assert len(store.annotations(campaign="blind-w", include_retracted=True)) == 1
    hidden = _hidden_strings(coll, values)
    assert _leaks(_text([states, sent]), hidden) == []
    assert set(L.state["meta"]) == {"id", "ra", "dec"}


def test_campaign_show_columns_and_narrowing(sim):
    coll, values = sim
    store = open_store(coll)
    store.create_campaign("blind-show", "rgz", coll.ids, retire=2,
                          show_columns=["snr", "flux_jy"])
    s = Session(coll, store, None, campaign="blind-show", annotator="ada")
    assert set(s.view()["meta"]) == {"id", "snr", "flux_jy"}
    # show= narrows a campaign's list and never widens it
    s = Session(coll, store, None, campaign="blind-show", annotator="ada",
                show=["snr", "truth", SECRET])
    assert set(s.view()["meta"]) == {"id", "snr"}


def test_notebook_default_hides_answers_and_show_replaces_the_rule(sim):
    coll, values = sim
    store = open_store(coll)
    s = Session(coll, store, "rgz", annotator="nb")
    meta = s.view()["meta"]
    assert "flux_jy" in meta and "snr" in meta and "ra" in meta  # observables are shown
    for col in (SECRET, "truth", "host_x", "fr_ratio", "source_file", "n_islands"):
        assert col not in meta
    assert not _leaks(_text([s.view(), s.panels()]), values)
    s = Session(coll, store, "rgz", annotator="nb", show=["flux_jy"])
    assert set(s.view()["meta"]) == {"id", "flux_jy"}


@pytest.mark.parametrize("kind", ["radio", "lenses", "transients"])
def test_simulated_ids_are_neutral(kind, tmp_path):
    """Ids are one prefix plus a running number: they cannot tell classes apart."""
    import workbench

    if kind == "radio":
        from workbench.sims.radio import simulate_radio

        coll = simulate_radio(tmp_path / "c", n=8, seed=3, size=48)
    elif kind == "lenses":
        from workbench.sims.lenses import simulate_lenses

        coll = simulate_lenses(tmp_path / "c", n=8, seed=3, size=41)
    else:
        from workbench.sims.transients import simulate_transients

        simulate_transients(tmp_path / "c", n=8, seed=3)
        coll = workbench.open(tmp_path / "c")
    ids = list(coll.ids)
    assert coll.catalog["truth"].nunique() > 1  # several classes, so the check can fail
    m = re.fullmatch(r"(.*?)(\d+)", ids[0])
    prefix, width = m.group(1), len(m.group(2))
    assert ids == [f"{prefix}{k:0{width}d}" for k in range(len(ids))]
