"""Regression corpus of hostile image inputs (issue 11): memory bombs in FITS headers,
oversized ``--size``, corrupt gzip files in a batch, garbage WCS cards, zeroed or corrupt
catalogues. Command-line runs must end with exit code 2 and exactly one line on stderr."""

from __future__ import annotations

import gzip
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import workbench
from workbench.cli import main
from workbench.errors import CatalogError, FITSError, InputError
from workbench.io.catalogs import read_table
from workbench.io.fits import read_fits_image
from workbench.io.ingest_fits import ingest_fits
from workbench.io.ingest_mosaic import ingest_mosaic, open_mosaic
from workbench.io.ingest_stamps import ingest_stamps, read_band_planes


def _header(n=16, ra=150.0, dec=2.0):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    w.wcs.crval = [ra, dec]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5]
    w.wcs.cdelt = [-2.0 / 3600, 2.0 / 3600]
    return w.to_header()


def _image(n=16, seed=0):
    a = np.random.default_rng(seed).normal(0, 1e-3, (n, n)).astype(np.float32)
    a[n // 2, n // 2] += 0.1
    return a


def _write(path, data=None, header=None):
    fits.PrimaryHDU(_image() if data is None else data,
                    _header() if header is None else header).writeto(path)
    return path


def _set_value(path: Path, key: str, text: bytes) -> Path:
    """Overwrite the value field of card ``key`` with raw bytes (corrupting it at will)."""
    buf = bytearray(path.read_bytes())
    pos = buf.index(f"{key:<8}= ".encode())
    buf[pos + 10:pos + 80] = text.rjust(20).ljust(70)[:70]
    path.write_bytes(bytes(buf))
    return path


def _huge(path: Path) -> Path:
    """A 5760-byte file whose header claims 100000 x 100000 float32 pixels (37 GiB)."""
    hdr = fits.Header()
    hdr["SIMPLE"], hdr["BITPIX"], hdr["NAXIS"] = True, -32, 2
    hdr["NAXIS1"] = hdr["NAXIS2"] = 100000
    hdr.update(_header())
    path.write_bytes(hdr.tostring().encode() + b"\0" * 2880)
    return path


def _gz(src: Path, dst: Path) -> Path:
    dst.write_bytes(gzip.compress(src.read_bytes(), mtime=0))
    return dst


def _run(*args, capfd):
    """``workbench ARGS`` in this process: (exit code, stdout, stderr lines)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capfd.readouterr()
    return code, out, [ln for ln in err.splitlines() if ln.strip()]


def _cli(*args):
    """``workbench ARGS`` in a fresh interpreter, as a user would run it."""
    res = subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)],
                         capture_output=True, text=True, timeout=300)
    return res.returncode, res.stdout, [ln for ln in res.stderr.splitlines() if ln.strip()]


def _one_line(code, err, *words):
    assert code == 2, (code, err)
    assert len(err) == 1 and "Traceback" not in err[0], err
    for w in words:
        assert w in err[0], err[0]
    return err[0]


# -- sizes are checked before allocating ------------------------------------------------------

def _peak(fn):
    tracemalloc.start()
    try:
        try:
            fn()
        except Exception as exc:
            result = exc
        else:
            result = None
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_huge_header_in_a_small_file_is_refused_before_reading(tmp_path):
    huge = _huge(tmp_path / "huge.fits")
    assert huge.stat().st_size < 6 * 1024
    gz = _gz(huge, tmp_path / "huge.fits.gz")
    for path in (huge, gz):
        err, peak = _peak(lambda p=path: read_fits_image(p))
        assert isinstance(err, FITSError), repr(err)
        assert str(path) in str(err) and "100000x100000" in str(err) and "37.3 GiB" in str(err)
        assert peak < 8 * 2**20, f"{peak} bytes traced for a {path.stat().st_size}-byte file"
    for reader in (read_band_planes, lambda p: open_mosaic(p).__enter__()):
        err, peak = _peak(lambda r=reader: r(huge))
        assert isinstance(err, FITSError) and "100000x100000" in str(err)
        assert peak < 8 * 2**20


def test_tile_compressed_hdu_claiming_a_huge_image_is_refused(tmp_path):
    path = tmp_path / "tile.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(_image(), header=_header(),
                                                       compression_type="RICE_1")]).writeto(path)
    assert read_fits_image(path).data.shape == (16, 16)
    for key in ("ZNAXIS1", "ZNAXIS2"):
        _set_value(path, key, b"100000")
    err, peak = _peak(lambda: read_fits_image(path))
    assert isinstance(err, FITSError) and "would decompress to 37.3 GiB" in str(err)
    assert peak < 8 * 2**20


def test_fits_table_claiming_a_billion_rows_is_a_catalog_error(tmp_path):
    path = tmp_path / "cat.fits"
    fits.BinTableHDU.from_columns([fits.Column(name="ra", format="D", array=[1.0, 2.0]),
                                   fits.Column(name="dec", format="D", array=[3.0, 4.0])]
                                  ).writeto(path)
    assert len(read_table(path)) == 2
    buf = bytearray(path.read_bytes())
    pos = buf.index(b"NAXIS2  = ", 2880)
    buf[pos + 10:pos + 30] = b"1000000000".rjust(20)
    path.write_bytes(bytes(buf))
    err, peak = _peak(lambda: read_table(path))
    assert isinstance(err, CatalogError) and str(path) in str(err) and "truncated" in str(err)
    assert peak < 8 * 2**20


def test_huge_header_cli_skip_reports_it_and_raise_is_one_line(tmp_path):
    huge = _huge(tmp_path / "huge.fits")
    good = _write(tmp_path / "good.fits")
    code, out, err = _cli("ingest", "fits", huge, good, "--errors", "skip", "-o", tmp_path / "c")
    assert code == 0 and "ingested 1 item" in out
    assert any("huge.fits" in ln and "100000x100000" in ln for ln in err), err
    assert len(workbench.open(tmp_path / "c")) == 1
    code, out, err = _cli("ingest", "fits", good, huge, "-o", tmp_path / "r")
    _one_line(code, err, "huge.fits", "100000x100000")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args", [
    ["ingest", "fits", "{good}", "--size", "100000"],
    ["ingest", "fits", "{good}", "--size", "16x5000"],
    ["ingest", "stamps", "{band}", "--size", "100000"],
    ["ingest", "mosaic", "{good}", "--catalog", "{cat}", "--size", "1e9"],
    ["ingest", "mosaic", "{good}", "--catalog", "{cat}", "--size", "nan"],
    ["simulate", "lenses", "--n", "2", "--size", "100000"],
])
def test_oversized_size_option_is_one_line_and_writes_nothing(tmp_path, capfd, args):
    good = _write(tmp_path / "good.fits")
    band = _write(tmp_path / "obj_g.fits")
    pd.DataFrame({"ra": [150.0], "dec": [2.0]}).to_csv(tmp_path / "cat.csv", index=False)
    names = {"good": good, "band": band, "cat": tmp_path / "cat.csv"}
    code, _, err = _run(*[a.format(**names) for a in args], "-o", tmp_path / "out", capfd=capfd)
    line = _one_line(code, err)
    assert "4096" in line or "positive number" in line
    assert not (tmp_path / "out").exists()


def test_size_limit_in_python_and_first_image_too_big_to_set_the_shape(tmp_path):
    good = _write(tmp_path / "good.fits")
    for size in [(100000, 100000), (0, 5), (16, 4097), (2.5, 3)]:
        with pytest.raises(InputError, match="size"):
            ingest_fits([good], tmp_path / "c", size=size)
    with pytest.raises(InputError, match="stamp size"):
        ingest_mosaic(good, tmp_path / "m", catalog=pd.DataFrame({"ra": [150.0], "dec": [2.0]}),
                      size_arcsec=1e9)
    assert not (tmp_path / "c").exists() and not (tmp_path / "m").exists()
    # a 4100-px image cannot set the common shape; with --errors skip the next one does
    big = tmp_path / "a_big.fits"
    fits.PrimaryHDU(np.zeros((1, 4100), np.float32) + np.arange(4100, dtype=np.float32),
                    _header()).writeto(big)
    rep = ingest_fits([big, good], tmp_path / "s", errors="skip")
    assert rep.shape == (16, 16) and rep.n_items == 1
    assert "4096" in dict(rep.skipped)[str(big)]
    rep = ingest_fits([big, good], tmp_path / "t", size=(16, 16))
    assert rep.n_items == 2


# -- --errors skip means skip ----------------------------------------------------------------

def _corrupt_gzips(d: Path) -> dict[str, str]:
    src = _write(d / "src.fits", _image(seed=9))
    gz = bytearray(gzip.compress(src.read_bytes(), mtime=0))
    flipped = bytearray(gz)
    flipped[40] ^= 0xFF  # zlib.error: invalid block
    (d / "flip.fits.gz").write_bytes(bytes(flipped))
    (d / "trunc.fits.gz").write_bytes(bytes(gz[: len(gz) // 2]))  # EOFError
    (d / "crc.fits.gz").write_bytes(bytes(gz[:-8]) + b"\0" * 8)  # CRC mismatch
    (d / "zeros.fits.gz").write_bytes(b"\x1f\x8b" + b"\0" * 300)
    src.unlink()
    return {"flip.fits.gz": "corrupt gzip", "trunc.fits.gz": "corrupt gzip",
            "crc.fits.gz": "CRC", "zeros.fits.gz": "corrupt gzip"}


def test_corrupt_gzips_among_good_files_are_skipped_with_reasons(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    expected = _corrupt_gzips(src)
    _write(src / "good1.fits", _image(seed=1))
    _gz(_write(tmp_path / "g2.fits", _image(seed=2)), src / "good2.fits.gz")
    _huge(src / "huge.fits")
    rep = ingest_fits([src], tmp_path / "c", errors="skip")
    assert sorted(workbench.open(tmp_path / "c").catalog["id"]) == ["good1", "good2"]
    reasons = {Path(p).name: r for p, r in rep.skipped}
    assert set(reasons) == {*expected, "huge.fits"}
    for name, words in expected.items():
        assert words in reasons[name], reasons[name]
    with pytest.raises(FITSError, match="corrupt gzip|CRC|100000x100000"):
        ingest_fits([src], tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_corrupt_gzip_cli_skip_lists_every_reason_and_raise_is_one_line(tmp_path, capfd):
    src = tmp_path / "in"
    src.mkdir()
    expected = _corrupt_gzips(src)
    _write(src / "good.fits")
    code, out, err = _run("ingest", "fits", src, "--errors", "skip", "-o", tmp_path / "c",
                          capfd=capfd)
    assert code == 0 and "ingested 1 item" in out
    assert err[0] == f"skipped {len(expected)} input(s):"
    assert {ln.strip().split(":")[0].rsplit("/", 1)[-1] for ln in err[1:]} == set(expected)
    code, _, err = _run("ingest", "fits", src, "-o", tmp_path / "r", capfd=capfd)
    _one_line(code, err, ".fits.gz")
    assert not (tmp_path / "r").exists()


def test_corrupt_band_file_among_good_stamps_is_skipped(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for obj in ("a", "b"):
        for i, band in enumerate("gr"):
            _write(src / f"{obj}_{band}.fits", _image(seed=i))
    good = src / "c_g.fits"
    _write(good)
    buf = bytearray(gzip.compress(good.read_bytes(), mtime=0))
    buf[40] ^= 0xFF
    good.unlink()
    (src / "c_g.fits.gz").write_bytes(bytes(buf))
    _write(src / "c_r.fits")
    rep = ingest_stamps([src], tmp_path / "s", errors="skip")
    assert rep.n_items == 2 and rep.bands == ["g", "r"]
    skipped = dict(rep.skipped)
    assert any("c_g.fits.gz" in k and "corrupt gzip" in v for k, v in skipped.items())
    with pytest.raises(FITSError, match="corrupt gzip"):
        ingest_stamps([src], tmp_path / "r")
    assert not (tmp_path / "r").exists()


# -- garbage WCS cards give no sky position, with a note ---------------------------------------

@pytest.mark.parametrize("key,text,note", [
    ("CDELT2", b"'garbage'", "invalid WCS card CDELT2"),
    ("CDELT2", b"2.7\x0077E-04", "invalid WCS card CDELT2"),
    ("CDELT2", b"NaN", "invalid WCS card CDELT2"),
    ("CDELT2", b"0.0", "invalid WCS card CDELT2"),
    ("CDELT2", b"1.0E30", "invalid WCS card CDELT2"),
    ("CRVAL2", b"95.0", "invalid WCS card CRVAL2"),
    ("CRPIX1", b"'x'", "invalid WCS card CRPIX1"),
])
def test_garbage_wcs_card_gives_nan_pixscale_and_a_note(tmp_path, key, text, note):
    src = tmp_path / "in"
    src.mkdir()
    _write(src / "control.fits", _image(seed=1))
    _set_value(_write(src / "bad.fits", _image(seed=2)), key, text)
    rep = ingest_fits([src], tmp_path / "c", errors="raise")
    cat = workbench.open(tmp_path / "c").catalog.set_index("id")
    assert cat.loc["control", "pixscale_arcsec"] == pytest.approx(2.0)
    assert cat.loc["bad", ["pixscale_arcsec", "ra", "dec"]].isna().all()
    assert rep.notes.get(note) == 1, rep.notes
    assert workbench.open(tmp_path / "c")["bad"].images["radio"].shape == (16, 16)


def test_garbage_cdelt_in_a_mosaic_or_stamp(tmp_path):
    mosaic = _set_value(_write(tmp_path / "mosaic.fits", _image(64), _header(64)), "CDELT2",
                        b"'garbage'")
    with pytest.raises(FITSError, match="no usable celestial WCS.*invalid WCS card CDELT2"):
        ingest_mosaic(mosaic, tmp_path / "m", catalog=pd.DataFrame({"ra": [150.0], "dec": [2.0]}),
                      size_arcsec=10)
    assert not (tmp_path / "m").exists()
    src = tmp_path / "stamps"
    src.mkdir()
    _write(src / "a_g.fits")
    _set_value(_write(src / "a_r.fits"), "CDELT2", b"'garbage'")
    rep = ingest_stamps([src], tmp_path / "s")
    assert rep.notes.get("invalid WCS card CDELT2") == 1
    # the g band's WCS is used; the r band's garbage is reported, not believed
    assert workbench.open(tmp_path / "s").catalog["pixscale_arcsec"].iloc[0] == pytest.approx(2.0)


def test_mirabest_cutout_with_garbage_cdelt2_or_huge_naxis(mirabest_dir, tmp_path):
    real = sorted(mirabest_dir.glob("*.fits"))[0]
    im = read_fits_image(real)  # read in place
    hdr = fits.getheader(real)
    assert im.pixscale_arcsec == pytest.approx(
        (abs(hdr["CDELT1"]) + abs(hdr["CDELT2"])) / 2 * 3600, rel=1e-6)
    bad = tmp_path / real.name
    bad.write_bytes(real.read_bytes())
    _set_value(bad, "CDELT2", b"'garbage'")
    im2 = read_fits_image(bad)
    assert np.isnan(im2.pixscale_arcsec) and np.isnan(im2.ra)
    assert any(n.startswith("invalid WCS card CDELT2") for n in im2.notes)
    np.testing.assert_array_equal(im2.data, im.data)
    for key in ("NAXIS1", "NAXIS2"):
        _set_value(bad, key, b"100000")
    err, peak = _peak(lambda: read_fits_image(bad))
    assert isinstance(err, FITSError) and "100000x100000" in str(err)
    assert peak < 8 * 2**20


# -- zeroed or corrupt catalogues --------------------------------------------------------------

def _catalog(path: Path) -> Path:
    df = pd.DataFrame({"file": ["good.fits"], "ra": [150.0], "dec": [2.0], "label": ["FRI"]})
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        df.to_parquet(path)
    else:
        from astropy.table import Table

        Table.from_pandas(df).write(path, format="votable" if path.suffix == ".vot" else None)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".fits", ".vot"])
@pytest.mark.parametrize("damage", ["zeroed", "truncated"])
def test_zeroed_or_corrupt_catalog_is_one_line_exit_2(tmp_path, capfd, suffix, damage):
    good = _write(tmp_path / "good.fits")
    cat = _catalog(tmp_path / f"cat{suffix}")
    assert len(read_table(cat)) == 1
    data = cat.read_bytes()
    cat.write_bytes(b"\0" * len(data) if damage == "zeroed" else data[: len(data) // 3])
    if not (suffix == ".csv" and damage == "truncated"):  # a cut CSV can still be a table
        with pytest.raises(CatalogError, match=str(cat)):
            read_table(cat)
    code, out, err = _run("ingest", "fits", good, "--catalog", cat, "-o", tmp_path / "c",
                          capfd=capfd)
    if code == 0:  # a truncated CSV whose header survived, e.g. "file,ra,de"
        assert suffix == ".csv" and damage == "truncated"
        return
    _one_line(code, err, str(cat))
    assert not (tmp_path / "c").exists()
    code, out, err = _run("ingest", "mosaic", good, "--catalog", cat, "--size", "10", "-o",
                          tmp_path / "m", capfd=capfd)
    _one_line(code, err, str(cat))
    assert not (tmp_path / "m").exists()


def test_zeroed_parquet_catalog_in_a_fresh_interpreter(tmp_path):
    good = _write(tmp_path / "good.fits")
    cat = _catalog(tmp_path / "cat.parquet")
    cat.write_bytes(b"\0" * cat.stat().st_size)
    code, _, err = _cli("ingest", "fits", good, "--catalog", cat, "-o", tmp_path / "c")
    _one_line(code, err, str(cat), "cannot read catalogue")
    assert not (tmp_path / "c").exists()


def test_votable_bombs_and_external_streams_are_refused(tmp_path):
    head = ('<?xml version="1.0"?><VOTABLE version="1.4"><RESOURCE><TABLE>'
            '<FIELD name="ra" datatype="double"/><FIELD name="dec" datatype="double"/>')
    bomb = tmp_path / "bomb.vot"
    bomb.write_text(head + '<FIELD name="file" datatype="char" arraysize="200000000"/>'
                    "<DATA><TABLEDATA><TR><TD>1</TD><TD>2</TD><TD>a</TD></TR></TABLEDATA>"
                    "</DATA></TABLE></RESOURCE></VOTABLE>")
    err, peak = _peak(lambda: read_table(bomb))
    assert isinstance(err, CatalogError) and "200000000 elements" in str(err)
    assert peak < 8 * 2**20
    stream = tmp_path / "stream.vot"
    stream.write_text(head + '<DATA><BINARY><STREAM href="file:///etc/passwd"/></BINARY>'
                      "</DATA></TABLE></RESOURCE></VOTABLE>")
    with pytest.raises(CatalogError, match="STREAM href"):
        read_table(stream)
