"""Rendering: contour levels at n x sigma, display orientation, PNG size, overlays."""

from __future__ import annotations

import io

import numpy as np
import pytest

from workbench.widgets import render


def _image(seed=0, n=80, sigma=0.01):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n]
    img = rng.normal(0, sigma, (n, n)) + np.exp(-((yy - 30) ** 2 + (xx - 50) ** 2) / 20.0)
    return img, sigma


def test_contour_levels_are_multiples_of_the_noise():
    img, sigma = _image()
    est = render.robust_sigma(img)
    assert est == pytest.approx(sigma, rel=0.1)
    levels = render.contour_levels(img, nsigma=3, factor=2)
    assert np.allclose(levels / est, 3 * 2.0 ** np.arange(len(levels)))
    assert levels.max() < img.max() <= levels.max() * 2
    assert len(render.contour_levels(img, nsigma=5, sigma=0.5)) == 0  # peak below 5 x 0.5 ... 2.5


def test_contours_lie_on_their_level_and_around_the_peak():
    img, _ = _image()
    levels = render.contour_levels(img, nsigma=5)
    lines = render.contour_lines(img, levels)
    assert {k for k, _ in lines} == set(range(len(levels)))
    k, xy = max(lines, key=lambda t: len(t[1]))
    # back to array coordinates and sample the image: it equals the level there
    cols, rows = xy[:, 0] - 0.5, img.shape[0] - xy[:, 1] - 0.5
    from scipy.ndimage import map_coordinates

    vals = map_coordinates(img, [rows, cols], order=1)
    assert np.allclose(vals, levels[k], atol=0.05 * levels[k] + 0.01)
    assert abs(np.mean(cols) - 50) < 2 and abs(np.mean(rows) - 30) < 2


def test_rgba_is_flipped_for_display_and_png_has_the_right_size():
    img = np.zeros((30, 40))
    img[0, 0] = 1.0  # bottom-left on the sky display
    rgba = render.to_rgba(img, stretch="linear", limits="minmax", cmap="gray")
    assert rgba.shape == (30, 40, 4) and rgba.dtype == np.uint8
    assert rgba[-1, 0, 0] == 255 and rgba[0, 0, 0] == 0
    from PIL import Image

    png = render.encode_png(rgba)
    im = Image.open(io.BytesIO(png))
    assert im.size == (40, 30) and im.mode == "RGBA"
    assert np.array_equal(np.asarray(im), rgba)


@pytest.mark.parametrize("name", render.STRETCHES)
def test_stretches_are_monotonic_in_unit_range(name):
    from workbench.imaging.stretch import stretch_image

    x = np.linspace(-1, 2, 50)
    s = stretch_image(x, stretch=name, limits=(0, 1))
    assert s.min() == 0 and s.max() == pytest.approx(1)
    assert np.all(np.diff(s) >= 0)


def test_display_array_round_trip_and_scale_bar_and_beam():
    shape = (48, 64)
    for row, col in [(0, 0), (47, 63), (10, 20)]:
        assert render.display_to_array(*render.array_to_display(row, col, shape), shape) == (row, col)
    bar = render.scale_bar(1.8, 150)
    assert bar["px"] * 1.8 <= 0.25 * 150 * 1.8 and bar["label"].endswith(("″", "′"))
    assert render.scale_bar(float("nan"), 10) is None
    beam = render.beam_polygon(10, 5, 0, 1.0, shape)
    h = beam[:, 1].max() - beam[:, 1].min()
    w = beam[:, 0].max() - beam[:, 0].min()
    assert h == pytest.approx(10, rel=0.05) and w == pytest.approx(5, rel=0.05)  # PA 0: N-S


def test_sky_transform_matches_astropy():
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [25, 20]
    w.wcs.cdelt = [-1 / 3600, 1 / 3600]
    sky = render.sky_transform(w, (48, 48))
    # the browser's formula, in Python
    row, col = 40.0, 5.0
    x, y = render.array_to_display(row, col, (48, 48))
    dx, dy = x - sky["crpix"][0], y - sky["crpix"][1]
    cd = np.asarray(sky["cd"])
    xi, eta = np.deg2rad(cd @ [dx, dy])
    ra0, dec0 = np.deg2rad(sky["crval"])
    d = np.cos(dec0) - eta * np.sin(dec0)
    ra = np.rad2deg(ra0 + np.arctan2(xi, d))
    dec = np.rad2deg(np.arctan2(np.sin(dec0) + eta * np.cos(dec0), np.hypot(xi, d)))
    ra_ref, dec_ref = w.all_pix2world([[col, row]], 0)[0]
    assert ra == pytest.approx(ra_ref, abs=1e-7) and dec == pytest.approx(dec_ref, abs=1e-7)


def test_component_outlines_enclose_each_component():
    lab = np.zeros((20, 20), int)
    lab[2:5, 2:6] = 1
    lab[10:15, 12:18] = 2
    out = render.component_outlines(lab)
    assert {c for c, _ in out} == {1, 2}
    for cid, xy in out:
        rows, cols = np.nonzero(lab == cid)
        lo = render.array_to_display(rows.max(), cols.min(), lab.shape)
        hi = render.array_to_display(rows.min(), cols.max(), lab.shape)
        assert xy[:, 0].min() <= lo[0] and xy[:, 0].max() >= hi[0]
        assert xy[:, 1].min() <= hi[1] and xy[:, 1].max() >= lo[1]


@pytest.mark.parametrize("stretch,limits", [("asinh", "zscale"), ("sqrt", "percentile"),
                                            ("linear", (0.0, 2e-3)), ("log", "minmax")])
def test_stretch_widget_view_and_imaging_stretch_agree(tmp_path, stretch, limits):
    """One stretch API: a RadioView's pixels are imaging.stretch's values on the same image
    (grey map: byte = nearest of 255 * stretched value), flipped for display."""
    import tiny

    from workbench.imaging.stretch import STRETCHES, stretch_image, to_rgba_uint8
    from workbench.widgets import RadioView

    assert render.STRETCHES is STRETCHES
    coll = tiny.radio_collection(tmp_path / "r", n=1, size=32)
    radio = np.asarray(coll[0].images["radio"][0], dtype=np.float64)
    radio[3, 4] = np.nan
    want = np.floor(np.nan_to_num(stretch_image(radio, stretch=stretch, limits=limits))
                    * 255 + 0.5).astype(np.uint8)
    rgba = render.to_rgba(radio, stretch=stretch, limits=limits, cmap="gray")
    assert np.array_equal(rgba[::-1][..., 0][np.isfinite(radio)], want[np.isfinite(radio)])
    assert rgba[::-1][3, 4, 3] == 0                     # NaN: transparent
    lut = to_rgba_uint8(radio, stretch=stretch, limits=limits, cmap=render.colormap_lut("magma"))
    assert np.array_equal(render.to_rgba(radio, stretch=stretch, limits=limits, cmap="magma"),
                          np.where(np.isfinite(radio)[..., None], lut, 0)[::-1])
    if isinstance(limits, str):                         # what the widget shows
        v = RadioView(coll, 0, stretch=stretch, interval=limits, cmap="gray", show_ir=False,
                      contours=False)
        clean = np.asarray(coll[0].images["radio"][0], dtype=np.float64)
        shown = np.frombuffer(v.panels[0]["rgba"], np.uint8).reshape(32, 32, 4)[::-1, :, 0]
        assert np.array_equal(shown, np.floor(stretch_image(clean, stretch=stretch,
                                                            limits=limits) * 255 + 0.5))
