"""Multi-band stamps ingest: the three layouts, band order, and every kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import workbench
from workbench.errors import FITSError, InputError
from workbench.io.ingest_stamps import band_from_filename, ingest_stamps

SHAPE = (24, 24)
BANDS = ("g", "r", "i")


def _wcs(ra=150.0, dec=2.0, scale=0.2, shape=SHAPE):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    w.wcs.cdelt = [-scale / 3600, scale / 3600]
    return w


def _plane(obj: int, band: str, shape=SHAPE):
    """Distinct, recognisable values per object and band."""
    rng = np.random.default_rng([obj, BANDS.index(band) if band in BANDS else 9])
    return (rng.normal(0, 1, shape) + 100 * obj + 10 * (BANDS.index(band) + 1)).astype(np.float32)


def _write(path, data, header=None):
    hdu = fits.PrimaryHDU(data, header=header)
    hdu.writeto(path)
    return path


def _per_band_files(folder, objs=(1, 2), bands=BANDS, **kw):
    folder.mkdir(exist_ok=True)
    for o in objs:
        for b in bands:
            _write(folder / f"obj{o}_{b}.fits", _plane(o, b), _wcs(ra=150 + o / 100).to_header())
    return folder


def test_band_from_filename():
    assert band_from_filename("x/obj12_g.fits") == ("g", "obj12")
    assert band_from_filename("x/J0012-0034-r.fits.gz") == ("r", "J0012-0034")
    assert band_from_filename("cands/obj7/i.fits") == ("i", "obj7")
    assert band_from_filename("x/obj12.fits") == (None, "obj12")


def test_file_per_band_ordered_by_wavelength(tmp_path):
    src = _per_band_files(tmp_path / "in")
    rep = ingest_stamps([src], tmp_path / "out")
    assert rep.n_items == 2 and rep.bands == ["g", "r", "i"]
    coll = workbench.open(tmp_path / "out")
    assert coll.products["bands"].channels == ("g", "r", "i")
    item = coll["obj2"]
    for k, b in enumerate(BANDS):
        np.testing.assert_array_equal(item.images["bands"][k], _plane(2, b))
    assert item.meta["kind"] == "lens"
    assert item.meta["ra"] == pytest.approx(150.02)
    assert item.meta["pixscale_arcsec"] == pytest.approx(0.2)


def test_band_from_header_and_object_key(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k, b in enumerate(("i", "SDSS_g", "r")):
        h = _wcs().to_header()
        h["FILTER"] = b
        h["OBJECT"] = "cand-A"
        _write(src / f"exposure{k}.fits", _plane(1, b.split("_")[-1]), h)
    rep = ingest_stamps([src], tmp_path / "out")
    assert rep.bands == ["g", "r", "i"]
    coll = workbench.open(tmp_path / "out")
    np.testing.assert_array_equal(coll["cand-A"].images["bands"][0], _plane(1, "g"))


def test_multi_extension_file(tmp_path):
    hdus = [fits.PrimaryHDU(header=fits.Header({"OBJECT": "mef1"}))]
    for b in ("i", "g", "r"):  # stored out of order
        hdus.append(fits.ImageHDU(_plane(3, b), header=_wcs().to_header(), name=b.upper()))
    fits.HDUList(hdus).writeto(tmp_path / "mef.fits")
    rep = ingest_stamps([tmp_path / "mef.fits"], tmp_path / "out")
    assert rep.layouts == {"multi-extension": 1}
    item = workbench.open(tmp_path / "out")["mef1"]
    for k, b in enumerate(BANDS):
        np.testing.assert_array_equal(item.images["bands"][k], _plane(3, b))


def test_cube_with_band_axis(tmp_path):
    cube = np.stack([_plane(4, b) for b in ("r", "i", "g")])
    h = _wcs().to_header()
    h["BAND1"], h["BAND2"], h["BAND3"] = "r", "i", "g"
    _write(tmp_path / "cube4.fits", cube, h)
    rep = ingest_stamps([tmp_path / "cube4.fits"], tmp_path / "out", bands=["r", "g"])
    assert rep.bands == ["g", "r"]
    item = workbench.open(tmp_path / "out")["cube4"]
    np.testing.assert_array_equal(item.images["bands"][0], _plane(4, "g"))
    np.testing.assert_array_equal(item.images["bands"][1], _plane(4, "r"))
    assert item.meta["ra"] == pytest.approx(150.0)


def test_cube_without_band_names_is_a_clear_error(tmp_path):
    _write(tmp_path / "c.fits", np.zeros((3, 8, 8), np.float32) + np.arange(3)[:, None, None])
    with pytest.raises(FITSError, match="without band names.*BAND1"):
        ingest_stamps([tmp_path / "c.fits"], tmp_path / "out")


def test_missing_band_names_object_and_band_or_is_skipped(tmp_path):
    src = _per_band_files(tmp_path / "in")
    (src / "obj2_r.fits").unlink()
    with pytest.raises(InputError, match=r"object 'obj2' has no r band \(it has g, i\)"):
        ingest_stamps([src], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    rep = ingest_stamps([src], tmp_path / "out", errors="skip")
    assert rep.n_items == 1
    assert rep.skipped[0][0] == "obj2" and "no r band" in rep.skipped[0][1]
    assert workbench.open(tmp_path / "out").ids == ["obj1"]


def test_mismatched_band_shapes(tmp_path):
    src = _per_band_files(tmp_path / "in", objs=(1,))
    (src / "obj1_i.fits").unlink()
    _write(src / "obj1_i.fits", _plane(1, "i", shape=(20, 24)), _wcs(shape=(20, 24)).to_header())
    with pytest.raises(InputError, match="different shapes.*i 20x24"):
        ingest_stamps([src], tmp_path / "out")


def test_wcs_that_disagree_between_bands(tmp_path):
    src = _per_band_files(tmp_path / "in", objs=(1,))
    (src / "obj1_r.fits").unlink()
    _write(src / "obj1_r.fits", _plane(1, "r"), _wcs(ra=150.01 + 5 / 3600).to_header())
    with pytest.raises(InputError, match="WCS of band r of object 'obj1' disagrees"):
        ingest_stamps([src], tmp_path / "out")
    (src / "obj1_r.fits").unlink()
    _write(src / "obj1_r.fits", _plane(1, "r"), _wcs(ra=150.01, scale=0.26).to_header())
    with pytest.raises(InputError, match="pixel scales"):
        ingest_stamps([src], tmp_path / "out")


def test_nan_only_band(tmp_path):
    src = _per_band_files(tmp_path / "in", objs=(1,))
    (src / "obj1_g.fits").unlink()
    _write(src / "obj1_g.fits", np.full(SHAPE, np.nan, np.float32), _wcs().to_header())
    with pytest.raises(InputError, match="band g of object 'obj1' is all NaN"):
        ingest_stamps([src], tmp_path / "out")


def test_unknown_band_names(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    h = fits.Header({"FILTER": "Q"})
    _write(src / "obj1.fits", _plane(1, "g"), h)
    with pytest.raises(InputError, match="unknown band name 'Q'"):
        ingest_stamps([src], tmp_path / "out")
    with pytest.raises(InputError, match="unknown band name 'x'"):
        ingest_stamps([_per_band_files(tmp_path / "ok")], tmp_path / "out", bands=["g", "x"])
    _write(src / "plain.fits", _plane(1, "g"))
    rep = ingest_stamps([src / "plain.fits", tmp_path / "ok"], tmp_path / "o2",
                        errors="skip")
    assert rep.n_items == 2 and "cannot tell which band" in rep.skipped[0][1]


@pytest.mark.parametrize("style", ["letters", "zero-based"])
def test_legacy_survey_cube_band_keys(tmp_path, style):
    """Legacy Survey cutouts: a g,r,z cube with BANDS = 'grz' and BAND0..BAND2 (0-based)."""
    planes = {b: _plane(5, b) for b in ("g", "r")}
    planes["z"] = _plane(5, "i") + 7  # distinct values for the z plane
    h = _wcs(scale=0.262).to_header()
    if style == "letters":
        h["BANDS"] = "grz"
    else:
        h["BAND0"], h["BAND1"], h["BAND2"] = "g", "r", "z"
    _write(tmp_path / "ls5.fits", np.stack([planes[b] for b in "grz"]), h)
    rep = ingest_stamps([tmp_path / "ls5.fits"], tmp_path / "out")
    assert rep.bands == ["g", "r", "z"]
    item = workbench.open(tmp_path / "out")["ls5"]
    for k, b in enumerate("grz"):
        np.testing.assert_array_equal(item.images["bands"][k], planes[b])
    assert item.meta["pixscale_arcsec"] == pytest.approx(0.262)


def test_hsc_style_image_mask_variance_files_are_one_band_each(tmp_path):
    """HSC/LSST cutouts: per band, a file with IMAGE, MASK and VARIANCE HDUs."""
    src = tmp_path / "in"
    src.mkdir()
    for b in ("i", "g", "r"):
        prim = fits.PrimaryHDU(header=fits.Header({"FILTER": f"HSC-{b.upper()}"}))
        img = fits.ImageHDU(_plane(6, b), header=_wcs().to_header(), name="IMAGE")
        mask = fits.ImageHDU(np.ones(SHAPE, np.int32), name="MASK")
        var = fits.ImageHDU(np.full(SHAPE, 4.0, np.float32), name="VARIANCE")
        fits.HDUList([prim, img, mask, var]).writeto(src / f"lens6_{b}.fits")
    rep = ingest_stamps([src], tmp_path / "out")
    assert rep.bands == ["g", "r", "i"] and rep.n_items == 1
    item = workbench.open(tmp_path / "out")["lens6"]
    for k, b in enumerate(BANDS):
        np.testing.assert_array_equal(item.images["bands"][k], _plane(6, b))


def test_infinite_pixels_are_blanks_in_stamps(tmp_path):
    src = _per_band_files(tmp_path / "in", objs=(1,))
    g = _plane(1, "g")
    g[0, :3] = [np.inf, -np.inf, np.nan]
    (src / "obj1_g.fits").unlink()
    _write(src / "obj1_g.fits", g, _wcs(ra=150 + 1 / 100).to_header())
    ingest_stamps([src], tmp_path / "out")
    img = workbench.open(tmp_path / "out")["obj1"].images["bands"][0]
    assert np.isnan(img[0, :3]).all() and np.isfinite(img[1:]).all()
