"""Explorer (issue 7), Python side, headless: selections -> ids, bulk labels, hover, render.

The browser's messages (box, lasso, hover, cluster, label) arrive over the widget's comm
as from its JavaScript (tests/widgets/fake_frontend.py)."""

from __future__ import annotations

import fake_frontend
import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.io.collection import ProductSpec
from workbench.io.labels import open_store
from workbench.widgets.explorer import Explorer, points_in_polygon


@pytest.fixture()
def mapped(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    coll = workbench.create(tmp_path / "c", {"radio": ProductSpec(("1.4GHz",), (12, 12))})
    coll.append(pd.DataFrame({"id": [f"s{i:03d}" for i in range(n)],
                              "snr": rng.uniform(5, 50, n)}),
                {"radio": rng.normal(size=(n, 1, 12, 12)).astype(np.float32)}, kind="radio")
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    lab = np.repeat([0, 1, 2], n // 3)
    xy = centres[lab] + rng.normal(0, 1, (n, 2))
    coll.add_columns("map-umap", {"umap_x": xy[:, 0], "umap_y": xy[:, 1]})
    coll.add_columns("clusters", {"cluster": lab, "cluster_prob": np.ones(n),
                                  "outlier_glosh": rng.uniform(size=n)})
    emb = np.concatenate([np.eye(3)[lab] * 5 + rng.normal(0, 0.1, (n, 3)),
                          rng.normal(0, 0.1, (n, 5))], 1).astype(np.float32)
    coll.add_array("embedding-test", emb)
    return workbench.open(coll.path), xy, lab


def test_box_lasso_and_cluster_selections_give_the_right_ids(mapped):
    coll, xy, lab = mapped
    ex = Explorer(coll, width=200, height=150)
    assert (ex.x_col, ex.y_col) == ("umap_x", "umap_y") and ex.n_points == 300
    ids = ex.select_box(5, 15, -5, 5)
    want = {f"s{i:03d}" for i in np.flatnonzero((xy[:, 0] >= 5) & (xy[:, 0] <= 15)
                                                 & (xy[:, 1] >= -5) & (xy[:, 1] <= 5))}
    assert set(ids) == want and ex.n_selected == len(want) and ex.selection_kind == "box"
    tri = [(-5, -5), (20, -5), (-5, 20)]
    ids = ex.select_polygon(tri)
    inside = points_in_polygon(xy, tri)
    assert set(ids) == {f"s{i:03d}" for i in np.flatnonzero(inside)}
    assert set(ex.select_cluster(2)) == {f"s{i:03d}" for i in np.flatnonzero(lab == 2)}
    assert [c["size"] for c in ex.clusters] == [100, 100, 100] and ex.cluster_sprite
    # "more like this" uses the embeddings: neighbours come from the same group.
    like = ex.more_like_this("s005", k=10)
    assert like[0] == "s005" and len(like) == 11
    assert all(lab[int(i[1:])] == lab[5] for i in like)


def test_widget_messages_drive_the_same_selection_and_the_gallery(mapped, monkeypatch):
    fe = fake_frontend.install(monkeypatch)
    coll, xy, lab = mapped
    ex = Explorer(coll, width=200, height=150)
    panel = ex.panel()
    seen = []
    ex.on_select(seen.append)
    fe.send(ex, {"type": "box", "px0": 0, "py0": 0, "px1": 200, "py1": 150})
    assert ex.n_selected == 300 and len(seen[-1]) == 300 and ex.status == ""
    gal = panel.children[1].children[0]
    assert set(gal.coll.ids) == set(coll.ids)
    fe.send(ex, {"type": "cluster", "id": 1})
    assert set(panel.children[1].children[0].coll.ids) == {
        f"s{i:03d}" for i in np.flatnonzero(lab == 1)}
    # Hover over a point returns its id and a thumbnail.
    x0, x1, y0, y1 = ex.view
    px = (xy[7, 0] - x0) / (x1 - x0) * 200
    py = (y1 - xy[7, 1]) / (y1 - y0) * 150
    fe.send(ex, {"type": "hover", "px": px, "py": py})
    assert ex.hover["id"] == "s007" and ex.hover_png[:4] == b"\x89PNG"
    fe.send(ex, {"type": "hover", "px": -500, "py": -500})
    assert ex.hover == {}
    # Zoom changes the picture; colouring by a number or a category changes the legend.
    before = ex.image
    ex.view = [-3.0, 3.0, -3.0, 3.0]
    assert ex.image != before
    ex.color_by = "snr"
    assert ex.legend[0]["label"].startswith("snr")
    ex.color_by = "cluster"
    assert [d["count"] for d in ex.legend] == [100, 100, 100]


def test_label_a_whole_cluster_as_bulk_annotations(mapped, monkeypatch):
    fe = fake_frontend.install(monkeypatch)
    coll, _, lab = mapped
    store = open_store(coll)
    ex = Explorer(coll, store=store, scheme="fr-morphology", annotator="ann",
                  default_answers={"confidence": "confident"})
    assert ex.label_choices == ["FRI", "FRII", "hybrid"]
    ex.select_cluster(0)
    fe.send(ex, {"type": "label", "value": "FRII"})
    ann = store.annotations()
    assert len(ann) == 100 and set(ann["item_id"]) == {f"s{i:03d}" for i in np.flatnonzero(lab == 0)}
    assert set(ann["source"]) == {"bulk"} and ann["bulk"].all()
    assert all(a == {"morphology": "FRII", "confidence": "confident"} for a in ann["answers"])
    assert ann["source_detail"].iloc[0]["selection"] == "cluster 0"
    ex.color_by = "label"
    assert {d["label"]: d["count"] for d in ex.legend} == {"FRII": 100, "(none)": 200}
    ex.clear_selection()
    fe.send(ex, {"type": "label", "value": "FRI"})
    assert ex.status.startswith("error") and len(store.annotations()) == 100


def test_lasso_on_a_million_points_matches_the_geometry():
    rng = np.random.default_rng(1)
    n = 1_000_000
    xy = rng.normal(size=(n, 2))
    poly = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    mask = points_in_polygon(xy, poly)
    assert abs(mask.mean() - 0.466) < 0.01  # (erf(1/sqrt 2))^2


def test_drags_that_leave_the_map_select_only_inside_the_window(mapped, monkeypatch):
    fe = fake_frontend.install(monkeypatch)
    coll, xy, lab = mapped
    ex = Explorer(coll, width=200, height=150)
    ex.view = [-2.0, 8.0, -2.0, 6.0]  # zoomed: every cluster has points outside the window
    x0, x1, y0, y1 = ex.view
    in_view = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)

    def ids(mask):
        return {f"s{i:03d}" for i in np.flatnonzero(mask)}

    # a box whose far corner was released beyond the bottom-right of the map
    fe.send(ex, {"type": "box", "px0": 100, "py0": 20, "px1": 900, "py1": 700})
    xa, yb = ex.to_data(100, 20)
    box = (xy[:, 0] >= xa) & (xy[:, 1] <= yb)
    assert set(ex.selected_ids) == ids(box & in_view)
    assert (box & ~in_view).any()  # the unclamped box would have taken more
    # a lasso that leaves through the top edge and comes back through the left one
    path = [(60, 40), (60, -80), (-90, -80), (-90, 100), (20, 100), (60, 40)]
    fe.send(ex, {"type": "lasso", "points": path})
    poly = points_in_polygon(xy, [ex.to_data(*p) for p in path])
    assert set(ex.selected_ids) == ids(poly & in_view) and ex.status == ""
    assert (poly & ~in_view).any() and (poly & in_view).sum() > 5
