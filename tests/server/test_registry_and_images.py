"""Without a server: which campaigns a server finds, and the images it sends for an item."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from _survey import make_collection

from workbench.io.labels import open_store
from workbench.labeling import Session
from workbench.server.payload import render_item
from workbench.server.registry import Registry, UnknownCampaign


def test_the_registry_finds_campaigns_under_its_roots_only(survey):
    root, outside = survey
    reg = Registry([root])
    refs = reg.scan()
    assert sorted(refs) == ["fr@projects/radio2", "fr@radio", "frb-hunt", "grading", "other",
                    "rgz-pilot"]
    assert refs["other"].collection == (root / "radio").resolve()
    assert refs["fr@projects/radio2"].name == "fr"
    # keys are looked up, never joined into paths
    for key in ("fr", "../outside", "never-outside", "link", "fr@link", "never-radio3",
                "fr@radio/../projects/radio2", ""):
        with pytest.raises(UnknownCampaign):
            reg.get(key)
    # deeper search reaches the three-level Collection; links and hidden folders never
    deep = Registry([root], max_depth=3).scan()
    assert "never-deep" in deep
    assert not {"never-outside", "never-radio3"} & set(deep)
    # a listed Collection is served wherever it is; campaigns can be restricted by name
    listed = Registry([], collections=[outside], campaigns=["never-outside"]).scan()
    assert list(listed) == ["never-outside"]
    assert Registry([root], campaigns=["other"]).scan().keys() == {"other"}


def test_looking_makes_no_store(tmp_path):
    make_collection(tmp_path / "root" / "bare", n=2)
    assert Registry([tmp_path / "root"]).scan() == {}
    assert not (tmp_path / "root" / "bare" / "labels.sqlite").exists()
    # a listed Collection without a store is not served either (nothing is created)
    assert Registry([], collections=[tmp_path / "root" / "bare"]).scan() == {}
    assert not (tmp_path / "root" / "bare" / "labels.sqlite").exists()


def test_two_folders_shown_under_one_name_get_distinct_keys(tmp_path):
    for where in (tmp_path / "a" / "radio", tmp_path / "b" / "radio"):
        c = make_collection(where, n=2)
        st = open_store(c)
        st.create_campaign("fr", "fr-morphology", c.ids)
        st.close()
    refs = Registry([tmp_path / "a"], collections=[tmp_path / "b" / "radio"]).scan()
    assert sorted(refs) == ["fr@radio", "fr@radio~2"]
    assert {r.collection for r in refs.values()} == {(tmp_path / "a" / "radio").resolve(),
                                                      (tmp_path / "b" / "radio").resolve()}


def _pixels(panel) -> np.ndarray:
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(panel["png"])))
    return np.asarray(img.convert("RGBA"))


@pytest.mark.parametrize("scheme", ["fr-morphology", "rgz"])
def test_the_page_gets_the_panels_the_session_draws(tmp_path, scheme):
    coll = make_collection(tmp_path / "c", n=3)
    store = open_store(coll)
    store.create_campaign("c", scheme, coll.ids, show_columns=["snr"])
    s = Session(coll, store, None, campaign="c", annotator="ada")
    got = render_item(coll, store.campaign("c"), s.item_id)
    want = s.panels()
    assert len(got["panels"]) == len(want)
    for g, w in zip(got["panels"], want):
        rgba = np.frombuffer(w["rgba"], np.uint8).reshape(w["h"], w["w"], 4)
        assert np.array_equal(_pixels(g), rgba)  # PNG is lossless: the same pixels
        assert g["title"] == w["title"] and g["info"] == w["info"]
        assert base64.b64decode(g["contours"]["xy"]) == w["contours"]["xy"]
    if scheme == "rgz":
        from workbench.labeling.render import pack_lines

        packed = pack_lines(s.outlines())
        assert got["outlines"]["n"] == packed["n"] >= 2
        assert base64.b64decode(got["outlines"]["xy"]) == packed["xy"]
    else:
        assert got["outlines"] is None
    text = json.dumps(got)
    assert "SECRET" not in text and "sim_angle" not in text


def test_panel_text_follows_the_campaigns_columns(tmp_path):
    import tiny

    coll = tiny.transient_collection(tmp_path / "t", n=2, size=32)
    store = open_store(coll)
    store.create_campaign("blind", "transient", coll.ids)
    store.create_campaign("snr", "transient", coll.ids, show_columns=["snr"])
    blind = render_item(coll, store.campaign("blind"), "tr001")
    shown = render_item(coll, store.campaign("snr"), "tr001")
    assert len(blind["panels"]) == 2  # DM-time and frequency-time
    assert not any("S/N" in line for p in blind["panels"] for line in p["info"])
    assert "S/N 9.0" in shown["panels"][0]["info"]
    assert not any("DM" in line for p in shown["panels"] for line in p["info"])


def test_the_server_loads_no_widget_library_and_no_torch():
    import subprocess
    import sys

    code = ("import sys, workbench.server.app, workbench.server.handlers, "
            "workbench.server.payload, workbench.labeling.session\n"
            "print(sorted(m for m in ('torch', 'anywidget', 'ipywidgets', 'bokeh', 'holoviews', "
            "'workbench.widgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
