"""The one TAN WCS builder: centre pixel at (ra, dec), the pixel scale, north up east left;
both simulators write it."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.wcs.utils import proj_plane_pixel_scales

from workbench.core.wcs import tan_wcs


@pytest.mark.parametrize("shape,ra,dec,pix", [((101, 101), 150.1, 2.2, 0.262),
                                              ((48, 64), 359.99, -45.0, 1.8),
                                              ((21, 20), 10.0, 89.0, 6.0)])
def test_tan_wcs_centre_scale_and_orientation(shape, ra, dec, pix):
    ny, nx = shape
    w = tan_wcs(shape, ra, dec, pix)
    cra, cdec = w.pixel_to_world_values((nx - 1) / 2, (ny - 1) / 2)
    assert cra == pytest.approx(ra, abs=1e-9) and cdec == pytest.approx(dec, abs=1e-9)
    assert np.allclose(proj_plane_pixel_scales(w) * 3600, [pix, pix])
    # one pixel up is north by one pixel; one pixel right is east-to-west (RA decreases)
    _, ndec = w.pixel_to_world_values((nx - 1) / 2, (ny - 1) / 2 + 1)
    assert (ndec - dec) * 3600 == pytest.approx(pix, rel=1e-4)
    era, _ = w.pixel_to_world_values((nx - 1) / 2 + 1, (ny - 1) / 2)
    dra = ((era - ra + 180) % 360 - 180) * np.cos(np.radians(dec)) * 3600
    assert dra == pytest.approx(-pix, rel=1e-3)
    assert w.wcs.radesys == "ICRS" and list(w.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    with pytest.raises(ValueError, match="pixscale"):
        tan_wcs(shape, ra, dec, 0.0)


def test_tan_wcs_is_what_both_simulators_write(tmp_path):
    from workbench.sims.lenses import simulate_lenses
    from workbench.sims.radio import simulate_radio

    lenses = simulate_lenses(tmp_path / "l", n=2, seed=3, size=21)
    radio = simulate_radio(tmp_path / "r", n=2, seed=3, size=32, infrared=False)
    for coll, prod in [(lenses, "bands"), (radio, "radio")]:
        for i, row in coll.catalog.set_index("id").iterrows():
            got = coll[i].axes[prod]["wcs"]
            ny, nx = coll[i].images[prod].shape[-2:]
            want = tan_wcs((ny, nx), row["ra"], row["dec"], row["pixscale_arcsec"])
            xs, ys = [0, 5, nx - 1], [0, 7, ny - 1]
            assert np.allclose(got.pixel_to_world_values(xs, ys),
                               want.pixel_to_world_values(xs, ys), rtol=0, atol=1e-9)
            assert got.wcs.radesys == "ICRS"
