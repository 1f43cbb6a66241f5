"""PSRFITS search mode (issue 13, point 2): the reader against ``your``'s writers and reader,
bit packing, scales/offsets/weights, polarisations, start time, windows, hostile headers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

import workbench
from workbench.core.errors import FilterbankError
from workbench.io.filterbank import Filterbank, open_filterbank, write_filterbank
from workbench.io.ingest_filterbank import ingest_filterbank
from workbench.io.psrfits import PsrfitsFile, parse_sexagesimal


def pack_msb(values: np.ndarray, nbits: int) -> np.ndarray:
    """PSRFITS packing (first value in the most significant bits), written independently
    of the reader: a loop over the values of each byte."""
    per = 8 // nbits
    v = values.astype(np.uint8).reshape(-1, per)
    out = np.zeros(v.shape[0], np.uint8)
    for k in range(per):
        out |= (v[:, k] << (8 - nbits * (k + 1))).astype(np.uint8)
    return out


def write_psrfits(path, raw, *, nbits=8, nsblk=8, tbin=1e-3, freqs=None, pol_type="AA+BB",
                  scl=None, offs=None, wts=None, nsuboffs=0, imjd=60000, smjd=3600, soffs=0.25,
                  ra="12:34:56.7", dec="-30:12:34.5", obs_mode="SEARCH", data_code=None,
                  tzero=None, extra_sub=None):
    """A minimal search-mode PSRFITS file. ``raw``: (nsamples, npol, nchan) stored values."""
    nsamp, npol, nchan = raw.shape
    nrow = nsamp // nsblk
    freqs = np.linspace(1500, 1500 - nchan + 1, nchan) if freqs is None else freqs
    per_row = raw.reshape(nrow, nsblk * npol * nchan)
    if nbits < 8:
        data = np.stack([pack_msb(r, nbits) for r in per_row])
        code = data_code or "B"
        fmt = f"{data.shape[1]}B"
    elif nbits == 8:
        data, code = per_row.astype(np.uint8), "B"
        fmt = f"{data.shape[1]}B"
    elif nbits == 16:
        data, code = per_row.astype(np.uint16), "I"  # astropy stores it with TZERO 32768
        fmt = f"{data.shape[1]}I"
    else:
        data, code = per_row.astype(np.float32), "E"
        fmt = f"{data.shape[1]}E"
    cols = [
        fits.Column(name="TSUBINT", format="1D", array=np.full(nrow, nsblk * tbin)),
        fits.Column(name="DAT_FREQ", format=f"{nchan}D", array=np.tile(freqs, (nrow, 1))),
        fits.Column(name="DAT_WTS", format=f"{nchan}E",
                    array=np.ones((nrow, nchan)) if wts is None else wts),
        fits.Column(name="DAT_OFFS", format=f"{offs.shape[1] if offs is not None else nchan}E",
                    array=np.zeros((nrow, nchan)) if offs is None else offs),
        fits.Column(name="DAT_SCL", format=f"{scl.shape[1] if scl is not None else nchan}E",
                    array=np.ones((nrow, nchan)) if scl is None else scl),
        fits.Column(name="DATA", format=fmt, array=data,
                    bzero=tzero if tzero is not None else (32768 if code == "I" else None)),
    ]
    sub = fits.BinTableHDU.from_columns(cols, name="SUBINT")
    for k, v in {"NBITS": nbits, "NCHAN": nchan, "NPOL": npol, "NSBLK": nsblk, "TBIN": tbin,
                 "POL_TYPE": pol_type, "NSUBOFFS": nsuboffs, **(extra_sub or {})}.items():
        sub.header[k] = v
    prim = fits.PrimaryHDU()
    for k, v in {"FITSTYPE": "PSRFITS", "OBS_MODE": obs_mode, "STT_IMJD": imjd,
                 "STT_SMJD": smjd, "STT_OFFS": soffs, "RA": ra, "DEC": dec,
                 "SRC_NAME": "J1234-3012"}.items():
        prim.header[k] = v
    fits.HDUList([prim, sub]).writeto(path, overwrite=True)
    return path


@pytest.mark.parametrize("nbits", [1, 2, 4, 8, 16])
def test_bit_packing_and_values(tmp_path, nbits):
    rng = np.random.default_rng(nbits)
    raw = rng.integers(0, 2**nbits, (64, 1, 16))
    p = write_psrfits(tmp_path / "a.fits", raw, nbits=nbits)
    fb = PsrfitsFile(p)
    assert (fb.nchans, fb.nsamples, fb.header.nbits) == (16, 64, nbits)
    np.testing.assert_array_equal(fb.read(), raw[:, 0, :].T.astype(np.float32))
    # a window across row boundaries is the same slice of the whole
    np.testing.assert_array_equal(fb.read(5, 20), fb.read()[:, 5:25])
    np.testing.assert_array_equal(fb.read(60, 100), fb.read()[:, 60:])


@pytest.mark.parametrize("nbits", [2, 4])
def test_packing_convention_is_yours(tmp_path, nbits):
    """your's own unpackers (MSB first) read the bytes our reader reads."""
    from your.formats.psrfits import unpack_2bit, unpack_4bit

    raw = np.random.default_rng(0).integers(0, 2**nbits, (16, 1, 8))
    p = write_psrfits(tmp_path / "b.fits", raw, nbits=nbits)
    with fits.open(p) as h:
        packed = np.asarray(h["SUBINT"].data["DATA"][0], np.uint8)
    theirs = (unpack_2bit if nbits == 2 else unpack_4bit)(packed).reshape(8, 8)
    np.testing.assert_array_equal(PsrfitsFile(p).read(0, 8), theirs.T)


def test_one_bit_as_X_column(tmp_path):
    raw = np.random.default_rng(1).integers(0, 2, (16, 1, 8))
    p = write_psrfits(tmp_path / "x.fits", raw, nbits=1, data_code="X")
    np.testing.assert_array_equal(PsrfitsFile(p).read(), raw[:, 0].T)


def test_scales_offsets_weights_and_pols(tmp_path):
    rng = np.random.default_rng(2)
    nchan, nsblk = 8, 4
    raw = rng.integers(0, 256, (16, 2, nchan))
    scl = rng.uniform(0.5, 2, (4, 2 * nchan)).astype(np.float32)
    offs = rng.uniform(-5, 5, (4, 2 * nchan)).astype(np.float32)
    wts = np.ones((4, nchan), np.float32)
    wts[:, 3] = 0.0
    p = write_psrfits(tmp_path / "p.fits", raw, nsblk=nsblk, pol_type="AABBCRCI", scl=scl,
                      offs=offs, wts=wts, extra_sub={})
    got = PsrfitsFile(p).read()
    row = np.repeat(np.arange(4), nsblk)
    phys = raw * scl[row].reshape(16, 2, nchan) + offs[row].reshape(16, 2, nchan)
    want = 0.5 * (phys[:, 0] + phys[:, 1]) * wts[row]
    np.testing.assert_allclose(got, want.T, rtol=1e-6, atol=1e-4)
    assert (got[3] == 0).all()
    iquv = write_psrfits(tmp_path / "s.fits", rng.integers(0, 256, (16, 4, nchan)),
                         nsblk=nsblk, pol_type="IQUV")
    with fits.open(iquv) as h:
        stored = np.asarray(h["SUBINT"].data["DATA"]).reshape(16, 4, nchan)
    np.testing.assert_array_equal(PsrfitsFile(iquv).read(), stored[:, 0].T)


def test_start_time_nsuboffs_and_position(tmp_path):
    raw = np.zeros((16, 1, 4))
    fb = PsrfitsFile(write_psrfits(tmp_path / "t.fits", raw, nsblk=8, tbin=1e-3, nsuboffs=10,
                                   imjd=60000, smjd=3600, soffs=0.25))
    assert fb.header.tstart == pytest.approx(60000 + (3600 + 0.25 + 10 * 8 * 1e-3) / 86400,
                                             abs=1e-12)
    assert fb.header.ra_deg == pytest.approx((12 + 34 / 60 + 56.7 / 3600) * 15)
    assert fb.header.dec_deg == pytest.approx(-(30 + 12 / 60 + 34.5 / 3600))
    assert np.isnan(parse_sexagesimal("12:61:00", hours=True))
    assert isinstance(open_filterbank(fb.path), PsrfitsFile)


@pytest.mark.parametrize("kw, msg", [
    ({"obs_mode": "PSR"}, "OBS_MODE 'PSR'"),
    ({"extra_sub": {"NBITS": 3}}, "NBITS=3"),
    ({"extra_sub": {"TBIN": 0.0}}, "TBIN=0.0"),
    ({"extra_sub": {"NSBLK": 9}}, "DATA column holds"),
    ({"extra_sub": {"NPOL": 2}}, "POL_TYPE"),
    ({"freqs": np.array([1500.0, np.nan, 1498, 1497])}, "DAT_FREQ lists"),
])
def test_hostile_headers_are_named(tmp_path, kw, msg):
    p = write_psrfits(tmp_path / "h.fits", np.zeros((16, 1, 4)), **kw)
    with pytest.raises(FilterbankError, match=msg) as ei:
        PsrfitsFile(p)
    assert str(p) in str(ei.value)


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_truncated_and_non_psrfits(tmp_path):
    p = write_psrfits(tmp_path / "t.fits", np.zeros((4096, 1, 64)), nsblk=512)
    data = p.read_bytes()
    (tmp_path / "cut.fits").write_bytes(data[: len(data) // 2])
    with pytest.raises(FilterbankError, match="shorter than its header promises"):
        PsrfitsFile(tmp_path / "cut.fits")
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(tmp_path / "img.fits")
    with pytest.raises(FilterbankError, match="not PSRFITS"):
        open_filterbank(tmp_path / "img.fits")


def _your_pair(tmp_path):
    """The same data written as SIGPROC and as PSRFITS by your's writers."""
    from your import Writer, Your

    from workbench.sims.transients import simulate_filterbank

    sim = simulate_filterbank(3, seed=5, nchans=64, fch1=1500.0, foff=-4.0, tsamp=1e-3,
                              slot_s=2.0, dm_range=(50.0, 150.0))
    src = write_filterbank(tmp_path / "src.fil", sim.data[:, :6000], nbits=8, tsamp=1e-3,
                           fch1=1500.0, foff=-4.0, tstart=60123.25, src_raj=123456.7,
                           src_dej=-301234.5)
    out = str(tmp_path) + "/"
    Writer(Your(str(src)), outdir=out, outname="w_fil").to_fil()
    Writer(Your(str(src)), outdir=out, outname="w_fits").to_fits(npsub=500)
    return tmp_path / "w_fil.fil", tmp_path / "w_fits.fits", sim.candidates


def test_same_data_as_sigproc_and_psrfits_give_identical_images(tmp_path):
    fil, psr, cands = _your_pair(tmp_path)
    a, b = open_filterbank(fil), open_filterbank(psr)
    assert isinstance(a, Filterbank) and isinstance(b, PsrfitsFile)
    assert a.nsamples == b.nsamples == 6000
    np.testing.assert_array_equal(a.read(1234, 777), b.read(1234, 777))
    assert b.header.tstart == pytest.approx(a.header.tstart, abs=1e-9)
    kw = {"n_dm": 64, "n_time": 64, "n_freq": 32, "width_unit": "s"}
    cands = cands[cands.time_s < 5.5][["time_s", "dm", "width_s", "snr"]]
    ingest_filterbank(fil, cands, tmp_path / "cf", **kw)
    ingest_filterbank(psr, cands, tmp_path / "cp", **kw)
    cf, cp = workbench.open(tmp_path / "cf"), workbench.open(tmp_path / "cp")
    assert len(cf) == len(cp) == len(cands) > 0
    for i in range(len(cf)):
        for prod in ("dm_time", "freq_time"):
            np.testing.assert_array_equal(cf[i].images[prod], cp[i].images[prod])
        np.testing.assert_allclose(cf[i].axes["dm_time"]["time"], cp[i].axes["dm_time"]["time"])
    for c in (cf, cp):  # positions from src_raj/src_dej and from RA/DEC
        assert c.catalog["ra"].iloc[0] == pytest.approx(188.73625, abs=1e-6)
        assert c.catalog["dec"].iloc[0] == pytest.approx(-30.2095833, abs=1e-6)


def test_our_reader_equals_yours_on_a_psrfits_file(tmp_path):
    from your import Your

    _, psr, _ = _your_pair(tmp_path)
    theirs = Your(str(psr)).get_data(100, 900).T  # (nchans, n)
    np.testing.assert_array_equal(PsrfitsFile(psr).read(100, 900), theirs)


def test_ingest_filterbank_cli_reads_a_psrfits_file(tmp_path):
    from workbench.cli import main

    raw = np.random.default_rng(3).integers(0, 256, (4096, 1, 32))
    p = write_psrfits(tmp_path / "obs.fits", raw, nsblk=512)
    c = tmp_path / "obs.csv"
    pd.DataFrame({"time_s": [1.0, 2.0], "dm": [10.0, 20.0], "width_s": [0.002, 0.004],
                  "snr": [9.0, 8.0]}).to_csv(c, index=False)
    main(["ingest", "filterbank", str(p), "-c", str(c), "-o", str(tmp_path / "o"),
          "--size", "32", "--json"])
    coll = workbench.open(tmp_path / "o")
    assert len(coll) == 2 and coll.catalog["source_file"].iloc[0] == str(p)
    assert coll[0].axes["dm_time"]["tsamp"] == pytest.approx(1e-3)
