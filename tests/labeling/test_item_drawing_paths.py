"""The cheaper paths of drawing one item (campaign server, issue 12 point 10) give what
the plain paths give: an item's products read in one go, a plain 2-D sky WCS used as its
own celestial part, the catalog row cut down by position."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from workbench.errors import CollectionError
from workbench.labeling import render
from workbench.labeling.drawing import DRAW_COLUMNS, blind_item, load_item
from workbench.sims.radio import simulate_radio


@pytest.fixture(scope="module")
def coll(tmp_path_factory):
    return simulate_radio(tmp_path_factory.mktemp("draw") / "c", n=5, seed=3, size=24,
                          infrared=True)


def test_item_images_equal_the_batch_read_for_every_product(coll):
    assert len(coll.products) == 2
    for i in range(len(coll)):
        item = coll[i]
        rows = coll.read([i])
        for name, spec in coll.products.items():
            want = rows[name][0]
            want = want[0] if len(spec.channels) == 1 else want
            np.testing.assert_array_equal(item.images[name], want)


def test_a_corrupt_second_product_is_named(coll, tmp_path):
    import shutil

    import workbench

    p = tmp_path / "c"
    shutil.copytree(coll.path, p)
    seg = next((p / "segments").iterdir())
    store = seg / "infrared.zarr"
    for chunk in (f for f in store.rglob("*") if f.is_file() and f.name != "zarr.json"):
        chunk.write_bytes(b"\x01" * 40)
    with pytest.raises(CollectionError, match="infrared"):
        workbench.open(p)[0]


def _old_sky_transform(wcs, shape):
    c = wcs.celestial
    cd = np.asarray(c.pixel_scale_matrix, float)
    crpix, crval = np.asarray(c.wcs.crpix, float), np.asarray(c.wcs.crval, float)
    ny = shape[0]
    m = cd @ np.diag([1.0, -1.0])
    return {"crpix": [float(crpix[0] - 0.5), float(ny - (crpix[1] - 1) - 0.5)],
            "crval": [float(crval[0]), float(crval[1])], "cd": m.tolist()}


_BASE = dict(NAXIS=2, CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=150.1, CRVAL2=2.2,
             CRPIX1=12.5, CRPIX2=10.0, CDELT1=-1 / 3600, CDELT2=1 / 3600)


@pytest.mark.parametrize("extra", [
    {},
    {"CD1_1": -2e-4, "CD1_2": 1e-5, "CD2_1": 2e-5, "CD2_2": 2.1e-4},
    {"CROTA2": 30.0},
    {"PC1_1": 0.9, "PC1_2": 0.1, "PC2_1": -0.1, "PC2_2": 0.9},
    {"CTYPE1": "DEC--TAN", "CTYPE2": "RA---TAN", "CRVAL1": 2.2, "CRVAL2": 150.1},
    {"CTYPE1": "GLON-CAR", "CTYPE2": "GLAT-CAR", "CRVAL2": 0.0},
    {"NAXIS": 3, "CTYPE3": "FREQ", "CRVAL3": 1.4e9, "CDELT3": 1e6, "CRPIX3": 1.0},
])
def test_sky_transform_equals_the_celestial_parts(extra):
    from astropy.io import fits
    from astropy.wcs import WCS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = WCS(fits.Header({**_BASE, **extra}))
        got = render.sky_transform(w, (24, 24))
        want = _old_sky_transform(w, (24, 24))
    assert got == want


def test_blind_item_keeps_shown_and_drawing_columns_in_order(coll):
    item = load_item(coll, 0)
    row = item.meta
    shown = ["snr", "id"]
    got = blind_item(item, shown).meta
    keep = set(shown) | set(DRAW_COLUMNS)
    want = row[[c for c in row.index if c in keep]]
    assert list(got.index) == list(want.index) and got.equals(want)
    assert "pixscale_arcsec" in got.index and len(got) < len(row)


def test_radio_panel_info_sigma_is_the_contour_sigma(coll):
    from workbench.labeling.panels import radio_panels

    item = load_item(coll, 1)
    (p,) = radio_panels(item, show_ir=False)
    radio = item.images["radio"]
    sigma = render.robust_sigma(radio)
    assert p["info"][0].startswith(f"σ = {sigma:.3g};")
    assert p["levels"] == [float(v) for v in render.contour_levels(radio, sigma=sigma)]
