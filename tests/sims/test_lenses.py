"""The strong-lens simulator: shapes, truth, reproducibility, colours, Collection output."""

from __future__ import annotations

import numpy as np
import pytest

import workbench
from workbench.imaging import lensing as L
from workbench.sims.lenses import TRUTH_CLASSES, LensSimulator, simulate_lenses


@pytest.fixture(scope="module")
def sim16():
    return LensSimulator().simulate(16, seed=5)


def test_shapes_truth_and_parameters(sim16):
    cat, img, axes = sim16
    assert img.shape == (16, 3, 101, 101) and img.dtype == np.float32
    assert np.isfinite(img).all()
    assert set(cat["truth_class"]) <= set(TRUTH_CLASSES)
    assert ((cat["truth"] == 1) == (cat["truth_class"] == "lens")).all()
    lens = cat[cat["truth"] == 1]
    non = cat[cat["truth"] == 0]
    assert len(lens) and len(non)
    assert lens["theta_e_arcsec"].between(1.0, 3.0).all()
    assert non["theta_e_arcsec"].isna().all()
    for col in ("lens_q", "shear_gamma1", "source_reff_arcsec", "source_x_arcsec", "magnification"):
        assert lens[col].notna().all()
    assert (lens["magnification"] > 1).all()
    assert (cat["pixscale_arcsec"] == 0.2).all()
    assert axes[0]["type"] == "wcs"


def test_reproducible_and_independent_of_n(sim16):
    cat, img, _ = sim16
    cat2, img2, _ = LensSimulator().simulate(3, seed=5)
    np.testing.assert_array_equal(img[:3], img2)
    assert list(cat2["id"]) == list(cat["id"][:3])
    _, img3, _ = LensSimulator().simulate(3, seed=6)
    assert not np.allclose(img3, img2)
    # chunks made separately are the same items
    _, tail, _ = LensSimulator().simulate(2, seed=5, start=14)
    np.testing.assert_array_equal(tail, img[14:16])


def test_source_is_bluer_than_the_lens(sim16):
    cat, img, _ = sim16
    sim = LensSimulator()
    x, y = L.pixel_grid((101, 101), 0.2)
    ratios = []
    for k in np.flatnonzero(cat["truth"] == 1):
        row = cat.iloc[k]
        r = np.hypot(x - row["lens_x_arcsec"], y - row["lens_y_arcsec"])
        core = r < 0.5
        ring = np.abs(r - row["theta_e_arcsec"]) < 0.3
        gi = lambda m, k=k: img[k, 0][m].sum() / img[k, 2][m].sum()  # noqa: E731
        ratios.append(gi(ring) / gi(core))
    assert np.median(ratios) > 1.2  # arcs at theta_E are bluer (higher g/i) than the core
    assert sim.bands == ("g", "r", "i")


def test_lens_class_fraction():
    cat, _, _ = LensSimulator(lens_fraction=0.0, size=32).simulate(10, seed=1)
    assert (cat["truth"] == 0).all()
    cat, _, _ = LensSimulator(lens_fraction=1.0, size=32).simulate(4, seed=1)
    assert (cat["truth"] == 1).all()


def test_space_single_band():
    sim = LensSimulator(space=True)
    cat, img, _ = sim.simulate(3, seed=0)
    assert sim.bands == ("VIS",) and img.shape == (3, 1, 101, 101)
    assert (cat["pixscale_arcsec"] == 0.1).all()


def test_simulate_lenses_writes_a_collection(tmp_path):
    out = tmp_path / "lens"
    simulate_lenses(out, 5, seed=2, batch_size=2)
    coll = workbench.open(out)
    assert len(coll) == 5
    spec = coll.products["bands"]
    assert spec.channels == ("g", "r", "i") and spec.shape == (101, 101)
    cat = coll.catalog
    assert (cat["kind"] == "lens").all()
    assert {"truth", "truth_class", "theta_e_arcsec"} <= set(cat.columns)
    item = coll[0]
    assert item.images["bands"].shape == (3, 101, 101)
    assert item.axes["bands"]["pixscale_arcsec"] == pytest.approx(0.2, rel=1e-6)
    _, img, _ = LensSimulator().simulate(5, seed=2)
    np.testing.assert_array_equal(coll.read([4])["bands"][0], img[4])
