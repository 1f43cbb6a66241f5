"""The Bologna lens-finding challenge layout: names, Band folders, classifications, resampling,
submissions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from click.testing import CliRunner

import workbench
from workbench.errors import CatalogError, InputError
from workbench.io.ingest_stamps import band_from_filename, ingest_stamps
from workbench.io.lens_challenge import read_classifications, write_submission

GROUND = {"Band1": "R", "Band2": "I", "Band3": "G", "Band4": "U"}


def _ground(root, ids, *, n=21, seed=0):
    """Challenge 1 ground-based layout: Band1..Band4 folders of imageSDSS_<B>-<ID>.fits
    (headers without WCS, as released) and classifications.csv."""
    rng = np.random.default_rng(seed)
    truth = {}
    for folder, b in GROUND.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in ids:
            data = rng.normal(size=(n, n)).astype(np.float32)
            fits.PrimaryHDU(data).writeto(root / folder / f"imageSDSS_{b}-{i}.fits")
            truth[(i, b)] = data
    rows = ["ID,is_lens,Einstein_area,numb_pix_lensed_image,flux_lensed_image_in_sigma"]
    for k, i in enumerate(ids):
        rows.append(f"{i},{k % 2},{0.5 * k:.2f},{10 * k},{1.5 * k:.1f}")
    (root / "classifications.csv").write_text("\n".join(rows) + "\n")
    return truth


def test_names_give_band_and_id():
    assert band_from_filename("Band1/imageSDSS_R-100002.fits") == ("r", "100002")
    assert band_from_filename("imageSDSS_U-7.fits") == ("u", "7")
    assert band_from_filename("EUC_VIS/imageEUC_VIS-200013.fits") == ("VIS", "200013")
    assert band_from_filename("imageEUC_J-200013.fits") == ("J_E", "200013")
    assert band_from_filename("imageEUC_Y-5.fits") == ("Y_E", "5")
    assert band_from_filename("imageEUC_H-5.fits") == ("H_E", "5")


def test_ground_challenge_folder(tmp_path):
    ids = [100002, 100004, 100011]
    truth = _ground(tmp_path / "Public", ids)
    rep = ingest_stamps([tmp_path / "Public"], tmp_path / "c")
    coll = workbench.open(tmp_path / "c")
    assert rep.bands == ["u", "g", "r", "i"]  # wavelength order, not Band1..4 order
    assert list(coll.products["bands"].channels) == ["u", "g", "r", "i"]
    assert sorted(coll.ids) == [str(i) for i in ids]
    cat = coll.catalog.set_index("id")
    for k, i in enumerate(ids):
        item = coll[str(i)]
        for c, b in enumerate("UGRI"):
            np.testing.assert_array_equal(item.images["bands"][c], truth[(i, b)])
        assert cat.loc[str(i), "is_lens"] == k % 2
        assert cat.loc[str(i), "numb_pix_lensed_image"] == 10 * k
    assert rep.notes.get("joined classifications.csv") == 1


def test_missing_band_and_bad_classifications(tmp_path):
    ids = [1, 2, 3]
    _ground(tmp_path / "P", ids)
    (tmp_path / "P" / "Band4" / "imageSDSS_U-2.fits").unlink()
    with pytest.raises(InputError, match=r"object '2' has no u band"):
        ingest_stamps([tmp_path / "P"], tmp_path / "c")
    assert not (tmp_path / "c").exists()
    rep = ingest_stamps([tmp_path / "P"], tmp_path / "c", errors="skip")
    assert rep.n_items == 2 and [s[0] for s in rep.skipped] == ["2"]
    assert rep.notes["classifications rows without an object"] == 1
    (tmp_path / "P" / "classifications.csv").write_text("ID,is_lens\n1,0\n1,1\n3,0\n")
    with pytest.raises(CatalogError, match=r"classifications.csv.*ID 1 more than once"):
        ingest_stamps([tmp_path / "P"], tmp_path / "d", errors="skip")
    assert not (tmp_path / "d").exists()
    (tmp_path / "x.csv").write_text("name,is_lens\n1,0\n")
    with pytest.raises(CatalogError, match="no ID column"):
        read_classifications(tmp_path / "x.csv")


def _space(root, ids, *, wcs: bool):
    """Challenge 2.0 space layout: VIS 40x40 at 0.1", NISP J/Y/H 14x14 at 0.3" (a slightly
    larger field); each band a plane a + b*x + c*y (x, y in arcsec from the centre) times
    the pixel area, so bilinear resampling is exact inside the field."""
    coef = {"VIS": (1.0, 0.02, -0.01), "J": (2.0, -0.03, 0.015), "Y": (3.0, 0.01, 0.01),
            "H": (4.0, 0.0, -0.02)}
    for b, (n, s) in {"VIS": (40, 0.1), "J": (14, 0.3), "Y": (14, 0.3), "H": (14, 0.3)}.items():
        (root / f"EUC_{b}").mkdir(parents=True, exist_ok=True)
        y, x = (np.mgrid[0:n, 0:n] - (n - 1) / 2) * s
        a, bx, by = coef[b]
        data = ((a + bx * x + by * y) * s * s).astype(np.float32)
        hdr = fits.Header()
        if wcs:
            hdr.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=150.0, CRVAL2=2.0,
                       CRPIX1=(n + 1) / 2, CRPIX2=(n + 1) / 2, CDELT1=-s / 3600,
                       CDELT2=s / 3600, CUNIT1="deg", CUNIT2="deg")
        for i in ids:
            fits.PrimaryHDU(data, header=hdr).writeto(root / f"EUC_{b}" / f"imageEUC_{b}-{i}.fits")
    return coef


@pytest.mark.parametrize("wcs", [False, True])
def test_space_challenge_resampled_onto_vis_grid(tmp_path, wcs):
    coef = _space(tmp_path / "S", [200013, 200020], wcs=wcs)
    with pytest.raises(InputError, match=r"different shapes.*resample"):
        ingest_stamps([tmp_path / "S"], tmp_path / "no")
    rep = ingest_stamps([tmp_path / "S"], tmp_path / "c", resample=True)
    coll = workbench.open(tmp_path / "c")
    assert rep.bands == ["VIS", "Y_E", "J_E", "H_E"] and rep.shape == (40, 40)
    assert rep.resampled == {"Y_E": 2, "J_E": 2, "H_E": 2}
    img = coll["200013"].images["bands"]
    y, x = (np.mgrid[0:40, 0:40] - 19.5) * 0.1
    inner = (np.abs(x) < 1.8) & (np.abs(y) < 1.8)  # within the outermost NISP pixel centres
    for c, b in enumerate(["VIS", "Y", "J", "H"]):
        a, bx, by = coef[b]
        want = (a + bx * x + by * y) * 0.01  # flux per 0.1" pixel
        np.testing.assert_allclose(img[c][inner], want[inner], rtol=1e-4, atol=1e-7)
    if wcs:
        assert abs(coll.catalog["pixscale_arcsec"].iloc[0] - 0.1) < 1e-6
        assert abs(coll.catalog["ra"].iloc[0] - 150.0) < 1e-6


def test_submission_csv_and_cli(tmp_path):
    ids = [100002, 100004, 100011]
    _ground(tmp_path / "Public", ids)
    run = CliRunner()
    from workbench.cli import cli

    res = run.invoke(cli, ["ingest", "stamps", str(tmp_path / "Public"), "-o",
                           str(tmp_path / "c"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output[res.output.index("{"):])["n_items"] == 3
    coll = workbench.open(tmp_path / "c", mode="r+")
    scores = {"100002": 0.9, "100004": 0.1, "100011": 0.55}
    coll.add_columns("model", pd.DataFrame({"pred_lens": [scores[i] for i in coll.ids],
                                            "pred_not": [1 - scores[i] for i in coll.ids]}))
    res = run.invoke(cli, ["export", "lens-challenge", str(tmp_path / "c"), "-o",
                           str(tmp_path / "sub.csv")])
    assert res.exit_code == 0, res.output
    sub = pd.read_csv(tmp_path / "sub.csv", dtype={"ID": str})
    assert list(sub.columns) == ["ID", "score"]
    assert dict(zip(sub["ID"], sub["score"])) == pytest.approx(scores)
    write_submission(workbench.open(tmp_path / "c"), tmp_path / "raw.csv", score="pred_not",
                     header=False)
    first = (tmp_path / "raw.csv").read_text().splitlines()[0].split(",")
    assert len(first) == 2 and float(first[1]) == pytest.approx(1 - scores[first[0]])
    with pytest.raises(InputError, match="no column 'nope'"):
        write_submission(workbench.open(tmp_path / "c"), tmp_path / "x.csv", score="nope")
    assert not (tmp_path / "x.csv").exists()


def test_globs_and_folders_give_the_same_collection(tmp_path):
    """Issue 14 point 2 for `ingest stamps`: a folder (its Band*/ subfolders), a recursive
    glob and per-band globs find the same files and make the same items."""
    ids = [11, 12, 13, 14]
    _ground(tmp_path / "P", ids)
    runs = {"folder": [tmp_path / "P"],
            "recursive": [str(tmp_path / "P" / "**" / "*.fits")],
            "per-band": [str(tmp_path / "P" / f"Band{k}" / "imageSDSS_*-*.fits")
                         for k in range(1, 5)]}
    got = {}
    for name, paths in runs.items():
        rep = ingest_stamps(paths, tmp_path / name)
        coll = workbench.open(tmp_path / name)
        got[name] = (sorted(coll.ids), np.stack([coll[i].images["bands"]
                                                 for i in sorted(coll.ids)]))
        assert rep.n_items == 4 and rep.layouts == {"file-per-band": 16}
    for name in ("recursive", "per-band"):
        assert got[name][0] == got["folder"][0] == [str(i) for i in ids]
        np.testing.assert_array_equal(got[name][1], got["folder"][1])
    # only the folder run joins its classifications.csv (a glob names no folder)
    assert "is_lens" in workbench.open(tmp_path / "folder").catalog.columns
    assert "is_lens" not in workbench.open(tmp_path / "recursive").catalog.columns
