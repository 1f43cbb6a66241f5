"""Views and Gallery: the right view per kind, IR underlay with radio contours, sorting,
paging, badges and selection."""

from __future__ import annotations

import io

import fake_frontend
import numpy as np
import tiny

from workbench.io.labels import open_store
from workbench.widgets import Gallery, LensView, RadioView, TransientView, view_item


def test_view_item_picks_the_view_by_kind(tmp_path):
    r = tiny.radio_collection(tmp_path / "r", n=2, size=32)
    t = tiny.transient_collection(tmp_path / "t", n=2, size=32)
    lens = tiny.lens_collection(tmp_path / "l", n=2, size=24)
    assert isinstance(view_item(r, 0), RadioView)
    assert isinstance(view_item(t, 1), TransientView)
    v = view_item(lens, 0)
    assert isinstance(v, LensView)
    assert len(v.panels) == 4 and "composite" in v.panels[0]["title"]


def test_radio_view_ir_underlay_and_controls(tmp_path):
    r = tiny.radio_collection(tmp_path / "r", n=2, size=32)
    v = RadioView(r, 1)
    p = v.panels[0]
    assert "contours on" in p["title"] and p["contours"]["n"] > 0
    assert len(p["rgba"]) == 32 * 32 * 4 and p["sky"] is not None and p["beam"]
    rgba_ir = p["rgba"]
    v.show_ir = False
    assert v.panels[0]["title"] == "radio" and v.panels[0]["rgba"] != rgba_ir
    v.contours = False
    assert "contours" not in v.panels[0]
    v.stretch = "log"
    assert v.panels[0]["rgba"] != rgba_ir
    v.contours = True
    n3 = v.panels[0]["contours"]["n"]
    assert "contours at 3σ" in v.panels[0]["info"][0]
    v.nsigma = 10  # no on-screen control, but the panel follows it
    assert "contours at 10σ" in v.panels[0]["info"][0] and v.panels[0]["contours"]["n"] < n3


def test_gallery_sorts_pages_badges_and_selects(tmp_path, monkeypatch):
    from PIL import Image

    fe = fake_frontend.install(monkeypatch)
    r = tiny.radio_collection(tmp_path / "r", n=7, size=32,
                              extra={"pred_class": ["FRI", "FRII"] * 3 + ["FRI"]})
    store = open_store(r)
    store.annotate("rg003", {"no_contours": True, "sources": []}, annotator="a", scheme="rgz")
    g = Gallery(r, store=store, page_size=3, thumb=16, n_cols=2, sort_by="flux_mjy",
                ascending=False)
    assert g.n_pages == 3
    assert [t["id"] for t in g.tiles] == ["rg006", "rg005", "rg004"]
    im = Image.open(io.BytesIO(g.sprite))
    assert im.size == (2 * 16, 2 * 16)
    g.page = 1
    assert [t["id"] for t in g.tiles] == ["rg003", "rg002", "rg001"]
    badges = g.tiles[0]["badges"]
    assert any(b.startswith("label:") for b in badges) and "pred_class: FRII" in badges
    g.page = 99  # clamped
    assert g.page == 2 and [t["id"] for t in g.tiles] == ["rg000"]
    fe.send(g, {"type": "open", "id": "rg002"})
    assert g.opened == "rg002" and g.detail and g.detail[0]["w"] == 32
    sub = r.select(ids=["rg002", "rg005"])
    g2 = Gallery(sub, thumb=8)
    assert [t["id"] for t in g2.tiles] == ["rg002", "rg005"]
    assert np.asarray(Image.open(io.BytesIO(g2.sprite))).shape[2] == 4
