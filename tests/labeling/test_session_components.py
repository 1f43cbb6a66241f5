"""Component maps for clicks (whole in memory, per stored item, or computed for read-only
Collections: the same ids every way), the nearest-component rule, and blind panels."""

from __future__ import annotations

import numpy as np
import pytest
import tiny

import workbench
from workbench.imaging.islands import find_components
from workbench.io.components import component_map, compute_components
from workbench.labeling import components as C
from workbench.labeling.drawing import blind_panels, load_item


@pytest.fixture
def radio(tmp_path):
    coll = tiny.radio_collection(tmp_path / "r", n=4, size=40, seed=2)
    return tmp_path / "r", coll


def test_stored_maps_whole_or_per_item_are_the_same(radio, monkeypatch):
    path, coll = radio
    compute_components(coll)
    ro = workbench.open(path)
    whole = C.ComponentMaps(ro)
    assert whole.mode is None  # nothing read yet
    items = [load_item(ro, i) for i in ro.ids]
    got = [whole.get(it) for it in items]
    assert whole.mode == "whole"
    monkeypatch.setattr(C, "WHOLE_BYTES", 1)
    one = C.ComponentMaps(ro)
    monkeypatch.setattr(C.ComponentMaps, "RECENT", 2)
    for it, want in zip(items, got):
        np.testing.assert_array_equal(one.get(it), want)
        np.testing.assert_array_equal(component_map(ro, it.id), want)
    assert one.mode == "stored" and one.n_recent == 2
    assert all(g.max() >= 2 for g in got)


def test_read_only_without_stored_maps_computes_per_item(radio):
    path, _ = radio
    ro = workbench.open(path)  # read-only: nothing can be stored
    maps = C.ComponentMaps(ro)
    it = load_item(ro, "rg001")
    np.testing.assert_array_equal(maps.get(it), find_components(it.images["radio"][0])[0])
    assert maps.mode == "computed" and "components" not in workbench.open(path).derived


def test_writable_collection_gets_its_maps_stored_on_first_use(radio):
    path, coll = radio
    C.ComponentMaps(coll).get(load_item(coll, "rg000"))
    assert "components" in workbench.open(path).derived


def test_pick_component_nearest_within_radius():
    lab = np.zeros((10, 10), np.int32)
    lab[5, 5] = 3
    # display (x, y) of array [row, col] is (col + 0.5, ny - row - 0.5)
    assert C.pick_component(lab, 5.5, 4.5) == 3
    assert C.pick_component(lab, 7.5, 4.5) == 3  # 2 px away
    assert C.pick_component(lab, 9.5, 4.5) == 0  # 4 px away
    assert C.pick_component(np.zeros((4, 4), np.int32), 1, 1) == 0


def test_blind_panels_print_only_shown_values(tmp_path):
    coll = tiny.transient_collection(tmp_path / "t", n=2, size=32)
    item = load_item(coll, "tr000")
    info = blind_panels(item, ["id"])[0]["info"]
    assert info == []  # S/N, DM, width are catalog values not shown
    info = blind_panels(item, ["id", "snr", "dm"])[0]["info"]
    assert [s.split()[0] for s in info] == ["S/N", "DM"]
