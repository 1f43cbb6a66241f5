"""Components computed once and stored with the Collection."""

from __future__ import annotations

import numpy as np
import pytest

import workbench
from workbench.core.errors import CollectionError
from workbench.imaging.islands import find_components
from workbench.io.components import component_map, component_table, compute_components


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from workbench.sims.radio import simulate_radio

    path = tmp_path_factory.mktemp("c") / "sim"
    simulate_radio(path, n=14, seed=3, size=64, infrared=False)
    return path


def test_components_are_stored_and_mean_the_same_to_everyone(sim):
    coll = workbench.open(sim, "r+")
    out = compute_components(coll)
    assert out["n_items"] == 14
    coll = workbench.open(sim)
    maps = coll.derived_array("components")
    assert maps.shape == (14, 64, 64)
    cat = coll.catalog
    assert (cat["n_components"].to_numpy() == np.nanmax(maps, axis=(1, 2))).all()
    assert out["n_components"] == int(cat["n_components"].sum())
    k = 5
    lab, tab = find_components(coll[k].images["radio"])
    assert np.array_equal(component_map(coll, coll.ids[k]), lab)
    stored = component_table(coll, coll.ids[k])
    assert stored[["id", "npix", "x_peak", "y_peak"]].equals(tab[["id", "npix", "x_peak", "y_peak"]])
    assert np.allclose(stored["flux"], tab["flux"], rtol=1e-5)
    compact = cat.index[cat["truth"] == "compact"]
    assert (cat.loc[compact, "n_components"] >= 1).all()
    assert (cat.loc[cat["truth"] == "multi", "n_components"] >= 2).any()
    assert "components" in coll.info()["derived"]


def test_unknown_product_is_refused(sim):
    with pytest.raises(CollectionError, match="no image product"):
        compute_components(workbench.open(sim, "r+"), product="optical")
