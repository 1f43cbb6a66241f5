"""FITS reading and ingest: real-world quirks, bad inputs, the real MiraBest folder."""

from __future__ import annotations

import gzip
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import workbench
from workbench.errors import BatchError, CatalogError, FITSError, WorkbenchError
from workbench.io.fits import fit_to_shape, read_fits_image
from workbench.io.ingest_fits import ingest_fits


def _wcs_header(ra=150.0, dec=2.0, n=20, naxis=2):
    w = WCS(naxis=naxis)
    ctype = ["RA---SIN", "DEC--SIN", "FREQ", "STOKES"][:naxis]
    w.wcs.ctype = ctype
    w.wcs.crval = [ra, dec, 1.4e9, 1][:naxis]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5, 1, 1][:naxis]
    w.wcs.cdelt = [-2.0 / 3600, 2.0 / 3600, 1e6, 1][:naxis]
    return w.to_header()


def _img(seed=0, n=20):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1e-4, (n, n)).astype(np.float32)
    a[n // 2, n // 2] += 1e-2
    return a


def write(path, data, header=None, **kw):
    fits.PrimaryHDU(data, header=header).writeto(path, overwrite=True, **kw)
    return path


def test_plain_image_with_wcs(tmp_path):
    p = write(tmp_path / "a.fits", _img(), _wcs_header())
    im = read_fits_image(p)
    assert im.data.shape == (20, 20) and im.data.dtype == np.float32
    assert im.ra == pytest.approx(150.0, abs=1e-6) and im.dec == pytest.approx(2.0, abs=1e-6)
    assert im.pixscale_arcsec == pytest.approx(2.0)


def test_degenerate_freq_stokes_cube(tmp_path):
    data = _img()[None, None]
    p = write(tmp_path / "cube.fits", data, _wcs_header(naxis=4))
    im = read_fits_image(p)
    assert im.data.shape == (20, 20)
    np.testing.assert_array_equal(im.data, data[0, 0])
    assert im.ra == pytest.approx(150.0, abs=1e-6)


def test_degenerate_axes_with_zero_cdelt_keep_their_sky_position(tmp_path):
    """CDELT3 = CDELT4 = 0 on length-1 FREQ/STOKES axes makes the full 4-D WCS matrix
    singular; the celestial part must still be found."""
    hdr = _wcs_header(naxis=4)
    hdr["CDELT3"], hdr["CDELT4"] = 0.0, 0.0
    im = read_fits_image(write(tmp_path / "zero_cdelt.fits", _img()[None, None], hdr))
    assert im.ra == pytest.approx(150.0, abs=1e-6) and im.dec == pytest.approx(2.0, abs=1e-6)
    assert im.pixscale_arcsec == pytest.approx(2.0) and im.notes == []


def test_real_cube_asks_which_plane(tmp_path):
    data = np.stack([_img(0), _img(1), _img(2)])[None]
    p = write(tmp_path / "cube3.fits", data, _wcs_header(naxis=4))
    with pytest.raises(FITSError, match=r"cube3.fits.*FREQ \(length 3\).*channel="):
        read_fits_image(p)
    np.testing.assert_array_equal(read_fits_image(p, channel=2).data, data[0, 2])
    with pytest.raises(FITSError, match="out of range"):
        read_fits_image(p, channel=3)


def test_bscale_bzero_blank_gzip_and_tile_compressed(tmp_path):
    raw = (np.arange(400).reshape(20, 20) % 97).astype(np.int16)
    raw[3, 4] = -32768
    hdr = _wcs_header()
    hdr["BSCALE"], hdr["BZERO"], hdr["BLANK"] = 0.5, 10.0, -32768
    p = tmp_path / "scaled.fits"
    fits.PrimaryHDU(raw, header=hdr).writeto(p)
    with fits.open(p, mode="update", do_not_scale_image_data=True) as h:
        h[0].header["BSCALE"], h[0].header["BZERO"], h[0].header["BLANK"] = 0.5, 10.0, -32768
    im = read_fits_image(p)
    assert np.isnan(im.data[3, 4])
    assert im.data[0, 5] == pytest.approx(10.0 + 0.5 * 5)
    gz = tmp_path / "scaled.fits.gz"
    with open(p, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    np.testing.assert_array_equal(read_fits_image(gz).data, im.data)
    comp = tmp_path / "comp.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(_img(3), header=_wcs_header(),
                                                       compression_type="RICE_1")]).writeto(comp)
    c = read_fits_image(comp)
    assert c.hdu == 1 and c.data.shape == (20, 20)
    assert c.ra == pytest.approx(150.0, abs=1e-6)
    np.testing.assert_allclose(c.data, _img(3), atol=2e-5)


def test_broken_wcs_and_odd_cards_are_tolerated(tmp_path):
    hdr = _wcs_header()
    hdr["CTYPE1"] = "RA---XXX"
    p = write(tmp_path / "broken.fits", _img(), hdr)
    im = read_fits_image(p)
    assert np.isnan(im.ra) and im.wcs is None
    assert any("WCS" in n for n in im.notes)
    hdr2 = _wcs_header()
    hdr2.add_history("TABXHERE breaks the FITS standard")
    p2 = write(tmp_path / "odd.fits", _img(), hdr2)
    p2.write_bytes(p2.read_bytes().replace(b"TABXHERE", b"tab\there"))
    im2 = read_fits_image(p2)
    assert any("non-standard" in n for n in im2.notes)
    assert im2.ra == pytest.approx(150.0, abs=1e-6)


def _bad_files(tmp):
    good = write(tmp / "good.fits", _img(), _wcs_header())
    data = good.read_bytes()
    (tmp / "truncated.fits").write_bytes(data[: len(data) - 2000])
    (tmp / "empty.fits").write_bytes(b"")
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column(name="x", format="E", array=np.arange(3.0))])]).writeto(tmp / "table.fits")
    write(tmp / "allnan.fits", np.full((20, 20), np.nan, np.float32))
    write(tmp / "constant.fits", np.ones((20, 20), np.float32))
    write(tmp / "cube.fits", np.stack([_img(0), _img(1)])[None], _wcs_header(naxis=4))
    return {"truncated.fits": "truncated", "empty.fits": "empty", "table.fits": "no image HDU",
            "allnan.fits": "all NaN", "constant.fits": "constant", "cube.fits": "channel="}


def test_bad_files_give_clear_errors(tmp_path):
    expected = _bad_files(tmp_path)
    for name, words in expected.items():
        with pytest.raises(FITSError) as e:
            read_fits_image(tmp_path / name)
        assert name in str(e.value) and words in str(e.value), str(e.value)


def test_batch_ingest_skip_and_raise(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    expected = _bad_files(src)
    for i in range(3):
        write(src / f"ok{i}.fits", _img(i + 10), _wcs_header(ra=10.0 + i))
    with pytest.raises(FITSError):
        ingest_fits([src], tmp_path / "raise")
    assert not (tmp_path / "raise").exists()
    rep = ingest_fits([src], tmp_path / "skip", errors="skip")
    c = workbench.open(tmp_path / "skip")
    assert sorted(c.catalog["id"]) == ["good", "ok0", "ok1", "ok2"]
    assert {p.split("/")[-1] for p, _ in rep.skipped} == set(expected)
    reasons = dict((p.split("/")[-1], r) for p, r in rep.skipped)
    assert "truncated" in reasons["truncated.fits"]
    with pytest.raises(BatchError):
        ingest_fits([src / "empty.fits", src / "allnan.fits"], tmp_path / "none", errors="skip")


def test_size_policy_and_catalog_join(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write(src / "big.fits", _img(0, 24), _wcs_header(n=24))
    write(src / "small.fits", _img(1, 16), _wcs_header(n=16))
    write(src / "nocat.fits", _img(2, 20), _wcs_header(n=20))
    pd.DataFrame({"filename": ["big.fits", "small", "ghost.fits"], "label": ["FRI", "FRII", "x"],
                  "ra": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "cat.csv", index=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        rep = ingest_fits([str(src / "*.fits")], tmp_path / "c", catalog=tmp_path / "cat.csv",
                          size=(20, 20))
    assert any("ghost" in str(x.message) for x in w)
    assert rep.unmatched_catalog_rows == ["ghost"]
    c = workbench.open(tmp_path / "c")
    cat = c.catalog.set_index("id")
    assert cat.loc["big", "resize"] == "crop" and cat.loc["small", "resize"] == "pad"
    assert cat.loc["big", "label"] == "FRI" and pd.isna(cat.loc["nocat", "label"])
    assert cat.loc["big", "ra_catalog"] == 1.0  # a catalogue column never shadows ours
    # the peak stays on the sky position it had: the WCS moved with the crop
    it = c["big"]
    y, x = np.unravel_index(np.nanargmax(it.images["radio"]), (20, 20))
    assert it.axes["radio"]["ra"][y, x] == pytest.approx(150.0, abs=2.0 / 3600)
    small = c["small"].images["radio"]
    assert np.isnan(small[0]).all() and np.isfinite(small[2:18, 2:18]).all()


def test_fit_to_shape_centre():
    a = np.arange(16.0).reshape(4, 4)
    out, _, action = fit_to_shape(a, (2, 6))
    assert action == "crop+pad"
    np.testing.assert_array_equal(out[:, 1:5], a[1:3])
    assert np.isnan(out[:, 0]).all()


def test_catalog_errors(tmp_path):
    write(tmp_path / "a.fits", _img(), _wcs_header())
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "cat.csv", index=False)
    with pytest.raises(CatalogError, match="file-name column"):
        ingest_fits([tmp_path / "a.fits"], tmp_path / "c", catalog=tmp_path / "cat.csv")
    with pytest.raises(WorkbenchError, match="nothing_here: no such file"):
        ingest_fits([tmp_path / "nothing_here"], tmp_path / "c2")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(WorkbenchError, match="no FITS files"):
        ingest_fits([tmp_path / "emptydir"], tmp_path / "c3")


@pytest.mark.slow
def test_mirabest_every_item_and_label(mirabest_dir, tmp_path):
    rep = ingest_fits([mirabest_dir], tmp_path / "mb", catalog=mirabest_dir / "catalog.csv")
    cat_csv = pd.read_csv(mirabest_dir / "catalog.csv")
    c = workbench.open(tmp_path / "mb")
    assert len(c) == len(cat_csv) == 1255 and rep.skipped == []
    got = c.catalog.set_index("file")["label_code"]
    want = cat_csv.set_index("file")["label_code"]
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_dtype=False)
    assert c.catalog["ra"].notna().all()
    diff = np.abs(c.catalog["ra"].to_numpy() - c.catalog["ra_deg"].astype(float).to_numpy())
    assert np.median(np.minimum(diff, 360 - diff)) < 0.01  # WCS centre agrees with the catalogue
    assert c.products["radio"].shape == (150, 150)
    assert rep.notes.get("non-standard header cards", 0) > 0


def test_restoring_beam_from_cards_or_aips_history(tmp_path):
    """BMAJ/BMIN/BPA (deg) or the AIPS CLEAN history line -> bmaj/bmin (arcsec), bpa (deg)."""
    from workbench.io.fits import beam_from_header

    cards = _wcs_header()
    cards["BMAJ"], cards["BMIN"], cards["BPA"] = 15.0 / 3600, 12.0 / 3600, 30.0
    aips = _wcs_header()
    aips.add_history("AIPS   CLEAN BMAJ=  1.5000E-03 BMIN=  1.5000E-03 BPA=   0.00")
    aips.add_history("AIPS   CLEAN BMAJ=  1.5000E-03 BMIN=  1.0000E-03 BPA= -45.00")
    src = tmp_path / "in"
    src.mkdir()
    write(src / "cards.fits", _img(1), cards)
    write(src / "aips.fits", _img(2), aips)
    write(src / "none.fits", _img(3), _wcs_header())
    assert beam_from_header(fits.Header()) != beam_from_header(cards)  # NaNs never compare equal
    ingest_fits([src], tmp_path / "out")
    cat = workbench.open(tmp_path / "out").catalog.set_index("id")
    np.testing.assert_allclose(cat.loc["cards", ["bmaj", "bmin", "bpa"]].astype(float),
                               [15.0, 12.0, 30.0])
    np.testing.assert_allclose(cat.loc["aips", ["bmaj", "bmin", "bpa"]].astype(float),
                               [5.4, 3.6, -45.0])  # the last CLEAN line wins
    assert cat.loc["none", ["bmaj", "bmin", "bpa"]].isna().all()
