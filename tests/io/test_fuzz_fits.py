"""Fuzzing the image ingesters: small real FITS files (and catalogues) with mutated header
cards and bytes, truncated, bit-flipped and gzipped.

Every case must end in success or a named ``workbench.errors`` exception; the input files are
byte-identical afterwards; reading a small file never allocates more than a few MiB (traced
with tracemalloc); a failed ``errors="raise"`` ingest leaves no folder behind and an existing
target Collection exactly as it was; ``errors="skip"`` always ingests the good file beside a
bad one and reports the bad one with its reason.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import shutil
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from workbench.errors import WorkbenchError
from workbench.io.catalogs import read_table
from workbench.io.fits import read_fits_image
from workbench.io.ingest_fits import ingest_fits
from workbench.io.ingest_mosaic import open_mosaic
from workbench.io.ingest_stamps import read_band_planes

#: No shrinking: a failure is reported at once with the example that failed (shrinking the
#: memory bombs of a regression could take many minutes).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, phases=PHASES,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: A read of a file of a few KB may not allocate more than this (a bomb asks for GiB).
PEAK_LIMIT = 32 * 2**20


def _header(n=16, naxis=2):
    w = WCS(naxis=naxis)
    w.wcs.ctype = ["RA---SIN", "DEC--SIN", "FREQ", "STOKES"][:naxis]
    w.wcs.crval = [150.0, 2.0, 1.4e9, 1][:naxis]
    w.wcs.crpix = [n / 2 + 0.5, n / 2 + 0.5, 1, 1][:naxis]
    w.wcs.cdelt = [-2.0 / 3600, 2.0 / 3600, 1e6, 1][:naxis]
    return w.to_header()


def _image(n=16, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1e-3, (n, n)).astype(np.float32)
    a[n // 2, n // 2] += 0.1
    return a


def _to_bytes(hdul) -> bytes:
    import io

    buf = io.BytesIO()
    hdul.writeto(buf)
    return buf.getvalue()


def _seeds() -> dict[str, bytes]:
    """Small real FITS files: float, scaled int16 with BLANK, a degenerate 4-D radio cube,
    a tile-compressed HDU and, where the real data is present, a MiraBest FIRST cutout."""
    out = {"float": _to_bytes(fits.HDUList([fits.PrimaryHDU(_image(), _header())]))}
    hdr = _header()
    hdr["BSCALE"], hdr["BZERO"], hdr["BLANK"] = 0.5, 10.0, -32768
    raw = (np.arange(256).reshape(16, 16) % 97).astype(np.int16)
    raw[3, 4] = -32768
    hdu = fits.PrimaryHDU(raw, header=hdr, do_not_scale_image_data=True)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.5, 10.0, -32768
    out["int16"] = _to_bytes(fits.HDUList([hdu]))
    out["cube"] = _to_bytes(fits.HDUList([fits.PrimaryHDU(_image()[None, None],
                                                          _header(naxis=4))]))
    out["tile"] = _to_bytes(fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(
        _image(seed=2), header=_header(), compression_type="RICE_1")]))
    mirabest = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirabest"
    first = sorted(mirabest.glob("*.fits"))[:1] if mirabest.is_dir() else []
    if first:
        out["mirabest"] = first[0].read_bytes()  # read in place; mutated copies go to tmp
    return out


SEEDS = _seeds()
KEYS = ["NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "BITPIX", "CDELT1", "CDELT2", "CRVAL1",
        "CRVAL2", "CRPIX1", "CRPIX2", "CTYPE1", "CTYPE2", "BSCALE", "BZERO", "BLANK",
        "ZNAXIS1", "ZNAXIS2", "ZBITPIX", "ZTILE1", "PCOUNT", "GCOUNT"]
#: Values a hostile or damaged header has been seen to carry.
SPECIAL = st.sampled_from(["0", "-1", "1", "3", "100000", "2147483648", "99999999999999999999",
                           "1E400", "NaN", "Inf", "-0.0", "'garbage'", "'1.5E-04'", "T", "F",
                           "", "'RA---TAN'", "'DEC--XXX'", "1.0D-3", "2.7\x0077E-04", "''",
                           "95.0", "-64", "8", "200.0"])
VALUES = st.one_of(
    SPECIAL,
    st.integers(-2**40, 2**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.binary(min_size=1, max_size=20).map(lambda b: b.decode("latin-1")),
)


def set_card(data: bytes, key: str, text: str) -> bytes:
    """``data`` with the value of every card ``key`` replaced by the raw ``text`` (added in
    place of the first header's END card if absent), the bytes unchecked."""
    card = (f"{key:<8}= {text:>20}".encode("latin-1") + b" " * 80)[:80]
    buf = bytearray(data)
    found = False
    for pos in range(0, len(buf) - 79, 80):
        if buf[pos:pos + 8] == f"{key:<8}".encode() and buf[pos + 8:pos + 10] == b"= ":
            buf[pos:pos + 80] = card
            found = True
    if not found:
        end = next((p for p in range(0, min(len(buf), 2880 * 4) - 79, 80)
                    if buf[p:p + 8] == b"END     "), None)
        if end is not None and (end + 80) % 2880:
            buf[end:end + 160] = card + b"END".ljust(80)
    return bytes(buf)


def _sha(paths) -> dict:
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def _read_traced(path):
    """read_fits_image's result or WorkbenchError, and its traced allocation peak."""
    tracemalloc.start()
    try:
        try:
            result = read_fits_image(path)
        except WorkbenchError as exc:
            result = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def _check_image(img) -> None:
    assert img.data.ndim == 2 and img.data.dtype == np.float32
    assert np.isfinite(img.data).any()
    if math.isnan(img.pixscale_arcsec):
        assert math.isnan(img.ra) and math.isnan(img.dec) and img.wcs is None
    else:
        assert img.pixscale_arcsec > 0 and 0 <= img.ra < 360 and -90 <= img.dec <= 90


def _cdelts(path):
    """The CDELT1/2 values astropy parses from the file, None where not a finite number."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as h:
            hdr = h[1 if len(h) > 1 and h[0].header.get("NAXIS", 0) == 0 else 0].header
            vals = []
            for k in ("CDELT1", "CDELT2"):
                try:
                    v = hdr[k]
                except Exception:
                    v = None
                ok = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
                vals.append(float(v) if ok else None)
    return vals


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), key=st.sampled_from(KEYS), text=VALUES,
       gz=st.booleans())
@example(seed="float", key="CDELT2", text="'garbage'", gz=False)  # was pixscale 1801"
@example(seed="float", key="NAXIS1", text="100000", gz=True)
@example(seed="int16", key="NAXIS2", text="2147483648", gz=False)
def test_fuzz_header_cards(tmp_path_factory, seed, key, text, gz):
    """A mutated card: success (a sane image; a finite pixel scale only from finite CDELTs)
    or a named error, from every image reader, within the allocation limit."""
    d = tmp_path_factory.mktemp("cards")
    data = set_card(SEEDS[seed], key, text)
    path = d / ("obj_g.fits.gz" if gz else "obj_g.fits")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    before = _sha([path])
    result, peak = _read_traced(path)
    assert peak < PEAK_LIMIT, f"reading a {len(data)}-byte file allocated {peak} bytes"
    if not isinstance(result, WorkbenchError):
        _check_image(result)
        if not math.isnan(result.pixscale_arcsec) and seed != "mirabest" and not gz:
            c1, c2 = _cdelts(path)
            assert c1 and c2, f"{key}={text!r} gave pixscale {result.pixscale_arcsec}"
            assert result.pixscale_arcsec == pytest.approx((abs(c1) + abs(c2)) / 2 * 3600,
                                                           rel=1e-6)
    try:
        read_band_planes(path)
    except WorkbenchError:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with open_mosaic(path) as mos:
                assert mos.data.ndim == 2 and np.isfinite(mos.pixscale_arcsec)
    except WorkbenchError:
        pass
    assert _sha([path]) == before


def _mutate(data: bytes, how: str, cut: int, flips: list) -> bytes:
    if how == "truncate":
        return data[: cut % (len(data) + 1)]
    if how == "flip":
        buf = bytearray(data)
        for pos, bit in flips:
            buf[pos % len(buf)] ^= 1 << bit
        return bytes(buf)
    if how == "zero-data":
        return data[:2880] + b"\0" * (len(data) - 2880)
    gz = bytearray(gzip.compress(data, mtime=0))  # "gzip-corrupt": damage the stream
    for pos, bit in flips:
        gz[10 + pos % (len(gz) - 10)] ^= 1 << bit
    return bytes(gz)


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)),
       how=st.sampled_from(["truncate", "flip", "zero-data", "gzip-corrupt"]),
       cut=st.integers(0, 2**20),
       flips=st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 7)), min_size=1,
                      max_size=8))
def test_fuzz_bytes(tmp_path_factory, seed, how, cut, flips):
    """Truncated, bit-flipped, zeroed and corrupt-gzip files: success or a named error."""
    d = tmp_path_factory.mktemp("bytes")
    path = d / ("x.fits.gz" if how == "gzip-corrupt" else "x.fits")
    path.write_bytes(_mutate(SEEDS[seed], how, cut, flips))
    before = _sha([path])
    result, peak = _read_traced(path)
    assert peak < PEAK_LIMIT
    if not isinstance(result, WorkbenchError):
        _check_image(result)
    assert _sha([path]) == before


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """An existing Collection that failed overwrites must leave exactly as it is."""
    d = tmp_path_factory.mktemp("target")
    src = d / "src"
    src.mkdir()
    for i in range(3):
        fits.PrimaryHDU(_image(seed=10 + i), _header()).writeto(src / f"t{i}.fits")
    ingest_fits([src], d / "coll")
    return d / "coll"


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@settings(max_examples=25, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(SEEDS)), key=st.sampled_from(KEYS), text=SPECIAL,
       truncate=st.booleans())
@example(seed="int16", key="NAXIS2", text="2147483648", truncate=False)  # a 64 GiB claim
@example(seed="float", key="CDELT2", text="2.7\x0077E-04", truncate=False)  # unparsable
@example(seed="tile", key="ZNAXIS1", text="100000000", truncate=False)
def test_fuzz_ingest_skip_raise_and_overwrite(tmp_path_factory, target, seed, key, text,
                                              truncate):
    """``errors="skip"`` ingests the good file and reports the bad one with a reason;
    ``errors="raise"`` succeeds or raises a named error leaving no folder; a failed
    overwrite leaves the existing Collection as it was; inputs are never changed."""
    d = tmp_path_factory.mktemp("ingest")
    good = d / "a_good.fits"
    fits.PrimaryHDU(_image(seed=5), _header()).writeto(good)
    data = set_card(SEEDS[seed], key, text)
    bad = d / "b_mutated.fits"
    bad.write_bytes(data[: len(data) // 2] if truncate else data)
    before = _sha([good, bad])

    rep = ingest_fits([good, bad], d / "skip", errors="skip")
    assert rep.n_items + len(rep.skipped) == 2 and rep.n_items >= 1
    for inp, reason in rep.skipped:
        assert inp == str(bad) and reason.strip()

    try:
        ingest_fits([bad], d / "raise")
    except WorkbenchError:
        assert not (d / "raise").exists()

    coll = d / "coll"
    shutil.copytree(target, coll)
    snap = _snapshot(coll)
    try:
        ingest_fits([bad, good], coll, overwrite=True, size=(3, 3) if truncate else None,
                    errors="raise")
    except WorkbenchError:
        assert _snapshot(coll) == snap
    assert _sha([good, bad]) == before


def _catalogs(d: Path) -> dict[str, bytes]:
    df = pd.DataFrame({"file": ["a.fits", "b.fits"], "ra": [150.0, 150.1],
                       "dec": [2.0, 2.1], "label": ["FRI", "FRII"]})
    df.to_csv(d / "c.csv", index=False)
    df.to_parquet(d / "c.parquet")
    from astropy.table import Table

    t = Table.from_pandas(df)
    t.write(d / "c.fits")
    t.write(d / "c.vot", format="votable")
    return {s: (d / f"c{s}").read_bytes() for s in (".csv", ".parquet", ".fits", ".vot")}


@pytest.fixture(scope="module")
def catalog_seeds(tmp_path_factory):
    return _catalogs(tmp_path_factory.mktemp("catseeds"))


@settings(max_examples=60, deadline=None, derandomize=True, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.sampled_from([".csv", ".parquet", ".fits", ".vot"]),
       how=st.sampled_from(["truncate", "flip", "zero"]),
       cut=st.integers(0, 2**16),
       flips=st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 7)), min_size=1,
                      max_size=6))
def test_fuzz_catalogs(tmp_path_factory, catalog_seeds, suffix, how, cut, flips):
    """A damaged catalogue is read, or is a CatalogError naming it on one line."""
    from workbench.errors import CatalogError

    data = catalog_seeds[suffix]
    if how == "zero":
        data = b"\0" * len(data)
    else:
        data = _mutate(data, how, cut, flips)
    path = tmp_path_factory.mktemp("cat") / f"cat{suffix}"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        try:
            df = read_table(path)
            assert len(df) > 0
        except CatalogError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT
