"""Physics and bookkeeping of the radio sky simulator."""

from __future__ import annotations

import numpy as np
import pytest

import workbench
from workbench.sims import _radio_render as rr
from workbench.sims.radio import (
    CLASSES,
    measure_fr_ratio,
    simulate_radio,
    simulate_radio_arrays,
    simulate_radio_mosaic,
)

PIX, FWHM, RMS = 1.8, 5.0, 1e-4
SB = rr.beam_sigma_px(FWHM, PIX)


@pytest.fixture(scope="module")
def sim():
    return simulate_radio_arrays(42, seed=7, size=128, pixscale_arcsec=PIX,
                                 beam_fwhm_arcsec=FWHM, rms=RMS)


def test_integrated_flux_conserved_by_beam_convolution(sim):
    beam_area_px = 2 * np.pi * SB**2  # beam area / pixel area
    measured = sim.sky.sum(axis=(1, 2)) / beam_area_px
    np.testing.assert_allclose(measured, sim.catalog["flux_jy"], rtol=0.01)


def test_unresolved_source_peak_equals_flux(sim):
    # a point source's peak in Jy/beam is its flux in Jy: the beam is normalised to peak 1
    cat = sim.catalog
    comp = cat.index[cat["truth"] == "compact"]
    x, y = cat.loc[comp, "host_x"].to_numpy(), cat.loc[comp, "host_y"].to_numpy()
    d2 = (x - np.rint(x)) ** 2 + (y - np.rint(y)) ** 2  # off-centre sampling of the peak
    ratio = sim.sky[comp].max(axis=(1, 2)) / cat.loc[comp, "flux_jy"] / np.exp(-0.5 * d2 / SB**2)
    assert ((ratio > 0.85) & (ratio <= 1.0 + 1e-6)).all()


def test_noise_rms_and_beam_correlation(sim):
    stds = sim.noise.std(axis=(1, 2))
    assert abs(stds.mean() / RMS - 1) < 0.03
    assert np.all(np.abs(stds / RMS - 1) < 0.12)
    # the observed map is sky + artefacts + noise, and off-source pixels show the asked rms
    np.testing.assert_allclose(sim.radio - sim.sky - sim.artefacts, sim.noise, atol=1e-6)
    off = (sim.components == 0) & (np.abs(sim.artefacts) < RMS) & (sim.sky < 0.1 * RMS)
    assert abs(sim.radio[off].std() / RMS - 1) < 0.05
    # white noise convolved with a Gaussian of sigma s: correlation exp(-d^2 / (4 s^2))
    n = sim.noise
    lag1 = (n[:, :, 1:] * n[:, :, :-1]).mean() / (n**2).mean()
    assert abs(lag1 - np.exp(-1 / (4 * SB**2))) < 0.03


def _fr_ratio_by_profile(img, x0, y0, axis_deg, thr, core_radius):
    """Independent FR ratio: 1-D profile (max across the axis) in 1-px bins along the axis."""
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    a = np.radians(axis_deg)
    s = (xx - x0) * np.cos(a) + (yy - y0) * np.sin(a)
    r = np.hypot(xx - x0, yy - y0)
    on = img > thr
    extent = s[on].max() - s[on].min()
    bins = np.round(s).astype(int)
    far = on & (r > core_radius)
    peaks = {}
    for side in (1, -1):
        sel = far & (np.sign(bins) == side)
        b = bins[sel]
        v = img[sel]
        prof = {k: v[b == k].max() for k in np.unique(b)}
        peaks[side] = max(prof, key=prof.get)
    return (peaks[1] - peaks[-1]) / extent


def test_fri_edge_darkened_frii_edge_brightened(sim):
    cat = sim.catalog
    core = SB * 2.3548
    seen = {"FRI": 0, "FRII": 0}
    for i, row in cat.iterrows():
        if row["truth"] not in seen:
            continue
        ratio = _fr_ratio_by_profile(sim.sky[i], row["host_x"], row["host_y"], row["axis_deg"],
                                     3 * RMS, core)
        if row["truth"] == "FRI":
            assert ratio < 0.5, (i, ratio)
        else:
            assert ratio > 0.5, (i, ratio)
        assert abs(ratio - row["fr_ratio"]) < 0.1
        # the principal-axis measurement (no truth axis given) agrees on the class
        free = measure_fr_ratio(sim.sky[i], (row["host_x"], row["host_y"]), threshold=3 * RMS,
                                core_radius=core)
        assert (free < 0.5) == (row["truth"] == "FRI")
        seen[row["truth"]] += 1
    assert seen["FRI"] >= 5 and seen["FRII"] >= 5


def test_deterministic_per_seed():
    a = simulate_radio_arrays(7, seed=3, size=64)
    b = simulate_radio_arrays(7, seed=3, size=64)
    c = simulate_radio_arrays(7, seed=4, size=64)
    np.testing.assert_array_equal(a.radio, b.radio)
    np.testing.assert_array_equal(a.infrared, b.infrared)
    np.testing.assert_array_equal(a.components, b.components)
    assert a.catalog.equals(b.catalog)
    assert not np.allclose(a.radio, c.radio)
    # an item is the same whatever block it is made in
    part = simulate_radio_arrays(3, seed=3, size=64, start=4, classes=list(a.catalog["truth"][4:]))
    np.testing.assert_array_equal(part.sky, a.sky[4:])
    np.testing.assert_array_equal(part.noise[0] != 0, a.noise[4] != 0)


def test_every_class_with_its_truth_labels(sim):
    cat = sim.catalog
    assert sorted(cat["truth"].unique()) == sorted(CLASSES)
    assert (cat["truth"].value_counts() == 6).all()
    labels = {c: set() for c in CLASSES}
    for i, c in enumerate(cat["truth"]):
        present = set(np.unique(sim.components[i])) - {0}
        assert 1 in present or c == "multi"
        labels[c] |= present
        # labels mark the source: the noiseless peak lies on a labelled pixel
        assert sim.components[i].flat[np.argmax(sim.sky[i])] > 0
    assert labels["compact"] == {1}
    assert {2, 3} <= labels["FRI"] and {2, 3} <= labels["FRII"] and {2, 3} <= labels["bent"]
    assert 2 in labels["artefact"]
    assert {2, 3} <= labels["multi"]
    assert np.isnan(cat.loc[~cat["truth"].isin(["FRI", "FRII"]), "fr_ratio"]).all()


def test_host_positions_inside_and_on_the_sky(sim):
    cat = sim.catalog
    n = sim.radio.shape[-1]
    assert cat["host_x"].between(0, n - 1).all() and cat["host_y"].between(0, n - 1).all()
    from astropy.io import fits
    from astropy.wcs import WCS

    for i in (0, 5, 17):
        w = WCS(fits.Header.fromstring(sim.axes[i]["header"]))
        x, y = w.all_world2pix([[cat.at[i, "host_ra"], cat.at[i, "host_dec"]]], 0)[0]
        assert abs(x - cat.at[i, "host_x"]) < 1e-4 and abs(y - cat.at[i, "host_y"]) < 1e-4
        cx, cy = w.all_world2pix([[cat.at[i, "ra"], cat.at[i, "dec"]]], 0)[0]
        assert abs(cx - (n - 1) / 2) < 1e-6 and abs(cy - (n - 1) / 2) < 1e-6
    comp = cat.index[cat["truth"] == "compact"]
    for i in comp:
        py, px = np.unravel_index(np.argmax(sim.sky[i]), sim.sky[i].shape)
        assert np.hypot(px - cat.at[i, "host_x"], py - cat.at[i, "host_y"]) < 1.0


def test_simulate_radio_writes_a_collection(tmp_path):
    coll = simulate_radio(tmp_path / "sim", n=9, seed=2, size=64, batch_size=4)
    c = workbench.open(tmp_path / "sim")
    assert len(c) == 9 and set(c.products) == {"radio", "infrared"}
    assert c.products["radio"].units == "Jy/beam"
    item = c[3]
    assert item.images["radio"].shape == (64, 64)
    assert item.meta["truth"] in CLASSES and item.meta["kind"] == "radio"
    ax = item.axes["radio"]
    assert abs(ax["pixscale_arcsec"] - 1.8) < 1e-6
    assert abs(ax["ra"][31, 31] - item.meta["ra"]) < 1.8 / 3600 * 2 / np.cos(np.radians(item.meta["dec"]))
    labels = c.derived_array("truth_components")
    assert labels.shape == (9, 64, 64)
    again = simulate_radio_arrays(9, seed=2, size=64)
    np.testing.assert_array_equal(labels, again.components)
    np.testing.assert_allclose(c.read(np.arange(9), ["radio"])["radio"][:, 0], again.radio)
    assert "truth_components" in coll.info()["derived"]
    c2 = simulate_radio(tmp_path / "noir", n=3, seed=2, size=32, infrared=False)
    assert set(c2.products) == {"radio"}


def test_mosaic_map_and_catalogue(tmp_path):
    from astropy.io import fits
    from astropy.wcs import WCS

    res = simulate_radio_mosaic(tmp_path, n_sources=25, seed=3, size=400,
                                class_fractions={"compact": 1, "FRII": 1})
    import pandas as pd

    cat = pd.read_csv(res.catalog)
    assert len(cat) == 25 and set(cat["truth"]) == {"compact", "FRII"}
    with fits.open(res.image) as h:
        hdr, data = h[0].header, h[0].data
        assert data.shape == (1, 1, 400, 400)
        assert hdr["BUNIT"] == "JY/BEAM" and abs(hdr["BMAJ"] * 3600 - FWHM) < 1e-9
        assert hdr["CTYPE3"] == "FREQ" and hdr["CTYPE4"] == "STOKES"
        w = WCS(hdr).celestial
        x, y = w.all_world2pix(cat["ra"], cat["dec"], 0)
        np.testing.assert_allclose(x, cat["x"], atol=1e-5)
        np.testing.assert_allclose(y, cat["y"], atol=1e-5)
        img = data[0, 0]
        bright = cat[(cat["truth"] == "compact") & (cat["snr"] > 20)]
        for _, r in bright.iterrows():
            ix, iy = int(round(r["x"])), int(round(r["y"]))
            if 2 <= ix < 398 and 2 <= iy < 398:
                assert img[iy - 1:iy + 2, ix - 1:ix + 2].max() > 0.5 * r["peak_jy_beam"]
