"""One Selection shared by a plot, the Explorer's map, the Gallery and the Labeler
(issue 15 point 2), driven headless: stream events as the browser sends them, widget
messages as the front ends send them."""

from __future__ import annotations

import fake_frontend
import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.core.selection import Selection
from workbench.io.collection import ProductSpec

N = 90


@pytest.fixture(scope="module")
def coll(tmp_path_factory):
    rng = np.random.default_rng(2)
    c = workbench.create(tmp_path_factory.mktemp("sel") / "c",
                         {"dm_time": ProductSpec(("dm",), (8, 8))})
    c.append(pd.DataFrame({"id": [f"t{i:03d}" for i in range(N)],
                           "time_s": rng.uniform(0, 50, N), "dm": rng.uniform(10, 500, N),
                           "snr": rng.uniform(6, 30, N), "width_s": np.full(N, 0.002),
                           "truth": rng.choice(["frb", "rfi"], N)}),
             {"dm_time": rng.normal(size=(N, 1, 8, 8)).astype(np.float32)}, kind="transient")
    lab = np.repeat([0, 1, 2], N // 3)
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])[lab] + rng.normal(0, 1, (N, 2))
    c.add_columns("map-umap", {"umap_x": xy[:, 0], "umap_y": xy[:, 1]})
    return workbench.open(c.path)


def tile_ids(g):
    return [t["id"] for t in g.tiles]


def test_gallery_follows_the_selection_and_sets_focus_and_picks(coll, monkeypatch):
    from workbench.widgets import Gallery

    fe = fake_frontend.install(monkeypatch)
    sel = Selection()
    g = Gallery(coll, selection=sel, page_size=10, thumb=8)
    assert g.linked and tile_ids(g) == [] and g.n_items == 0  # nothing selected yet
    sel.set(["t005", "t001", "nope", "t042"])
    assert tile_ids(g) == ["t005", "t001", "t042"] and g.shown_ids == tile_ids(g)
    many = [f"t{i:03d}" for i in range(0, 60, 2)]
    g.page = 1
    sel.set(many)
    assert g.page == 0 and g.n_pages == 3 and tile_ids(g) == many[:10]
    fe.send(g, {"type": "open", "id": "t004"})
    assert sel.focus == "t004" and g.detail  # the plots ring it; the Gallery opens it
    g.selected = ["t002", "t006"]
    fe.send(g, {"type": "select_picked"})
    assert sel.ids == ["t002", "t006"] and tile_ids(g) == ["t002", "t006"]
    # sorting still works on the followed items
    g.sort_by = "snr"
    snr = coll.catalog.set_index("id").loc[["t002", "t006"], "snr"]
    assert tile_ids(g) == list(snr.sort_values().index)


def test_plot_box_select_reaches_the_gallery_and_the_explorer(coll):
    import holoviews as hv

    from workbench.plots import candidates
    from workbench.widgets import Explorer, Gallery

    sel = Selection()
    g = Gallery(coll, selection=sel, page_size=100, thumb=8)
    ex = Explorer(coll, selection=sel, width=120, height=90, gallery=False)
    plot = hv.renderer("bokeh").get_plot(candidates(coll, selection=sel, rasterize=True))
    box = next(s for cbs in plot.traverse(lambda p: getattr(p, "callbacks", []))
               for cb in cbs for s in cb.streams if type(s).__name__ == "BoundsXY")
    box.event(bounds=(10.0, 50.0, 30.0, 400.0))
    cat = coll.catalog
    want = list(cat[cat["time_s"].between(10, 30) & cat["dm"].between(50, 400)]["id"])
    assert len(want) > 5
    assert sorted(tile_ids(g)) == sorted(want)
    assert sorted(ex.selected_ids) == sorted(want) and ex.selection_kind == "shared"
    # and back: a box on the Explorer's map becomes the selection, the Gallery follows
    got = ex.select_box(-3, 3, -3, 3)
    assert sel.ids == got and tile_ids(g) == got and sel.source is ex
    assert len(got) > 10


def test_labeler_takes_a_selection_as_its_items(coll, tmp_path):
    from workbench.io.labels import LabelStore
    from workbench.widgets import Labeler

    sel = Selection(["t010", "t003"])
    lab = Labeler(coll, scheme="transient", store=LabelStore(tmp_path / "l.sqlite"),
                  items=sel, annotator="ada")
    assert lab.item_id == "t010"
