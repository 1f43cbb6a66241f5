"""Filterbank reader and writer: round trips, an independent reader, real files, bad input."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from workbench.core.errors import FilterbankError
from workbench.io.filterbank import Filterbank, read_header, write_filterbank


def _data(nchans, nt, nbits, seed=0):
    rng = np.random.default_rng(seed)
    if nbits == 32:
        return rng.normal(size=(nchans, nt)).astype(np.float32)
    return rng.integers(0, 1 << nbits, size=(nchans, nt)).astype(np.float32)


@pytest.mark.parametrize("nbits", [1, 2, 4, 8, 16, 32])
@pytest.mark.parametrize("foff", [-0.5, 0.5])
def test_round_trip_every_nbits_and_order(tmp_path, nbits, foff):
    d = _data(16, 40, nbits)
    p = write_filterbank(tmp_path / "x.fil", d, tsamp=1e-3, fch1=1400.0, foff=foff, nbits=nbits)
    fb = Filterbank(p)
    assert fb.header.nbits == nbits and fb.nsamples == 40 and fb.nchans == 16
    np.testing.assert_array_equal(fb.read(), d)
    np.testing.assert_array_equal(fb.read(7, 5), d[:, 7:12])
    np.testing.assert_allclose(fb.freqs, 1400.0 + foff * np.arange(16))


def test_ifs_are_summed_and_span_clipped(tmp_path):
    d = _data(8, 30, 8).reshape(1, 8, 30).repeat(2, axis=0)
    d[1] *= 0.5
    d = np.rint(d)
    p = write_filterbank(tmp_path / "x.fil", d, tsamp=1e-3, fch1=1400.0, foff=-1.0, nifs=2)
    fb = Filterbank(p)
    np.testing.assert_array_equal(fb.read(), d.sum(0))
    assert fb.read(25, 100).shape == (8, 5)


@pytest.mark.parametrize("nbits", [8, 16, 32])
def test_writer_agrees_with_your(tmp_path, nbits):
    your = pytest.importorskip("your")
    d = _data(32, 64, nbits, seed=3)
    p = write_filterbank(tmp_path / "x.fil", d, tsamp=2.5e-4, fch1=1500.0, foff=-2.0,
                         nbits=nbits, tstart=59000.5, source_name="J0000+0000")
    y = your.Your(str(p))
    h = y.your_header
    assert (h.nchans, h.nbits, h.tsamp, h.fch1, h.foff) == (32, nbits, 2.5e-4, 1500.0, -2.0)
    assert h.tstart == 59000.5 and h.source_name == "J0000+0000" and h.nspectra == 64
    ours = Filterbank(p).read()
    np.testing.assert_array_equal(y.get_data(0, 64).reshape(64, 32).T.astype(np.float32), ours)


def test_header_second_method(tmp_path):
    """Parse our writer's header by scanning for keywords directly in the bytes."""
    p = write_filterbank(tmp_path / "x.fil", _data(8, 10, 8), tsamp=1e-3, fch1=1234.5,
                         foff=-0.25, nbits=8)
    raw = p.read_bytes()
    i = raw.index(b"fch1") + 4
    assert struct.unpack("<d", raw[i:i + 8])[0] == 1234.5
    i = raw.index(b"nchans") + 6
    assert struct.unpack("<i", raw[i:i + 4])[0] == 8
    assert read_header(p).header_size == raw.index(b"HEADER_END") + len(b"HEADER_END")


def test_every_shared_file_reads(filterbank_dir):
    for f in sorted(filterbank_dir.glob("*.fil")):
        fb = Filterbank(f)
        d = fb.read(0, 512)
        assert d.shape == (fb.nchans, 512) and np.isfinite(d).all()
        assert d.max() <= (1 << fb.header.nbits) - 1 and d.std() > 0
    tut = Filterbank(filterbank_dir / "tutorial.fil")
    assert (tut.nchans, tut.header.nbits, tut.tsamp) == (64, 2, 0.00032)


@pytest.mark.parametrize("nbits", [1, 2, 4])
def test_low_bit_crab_matches_8bit_sample_by_sample(filterbank_dir, nbits):
    """The 1/2/4-bit Parkes files are requantised copies of the 8-bit one: with the SIGPROC
    bit order (first channel in the low bits) they correlate sample by sample."""
    ref = Filterbank(filterbank_dir / "parkes_8bit_1.fil").read()
    low = Filterbank(filterbank_dir / f"parkes_{nbits}bit.fil").read()
    assert low.shape == ref.shape
    assert np.corrcoef(low.ravel(), ref.ravel())[0, 1] > 0.7


def _raw_header(fields):
    out = b""

    def s(x):
        return struct.pack("<i", len(x)) + x.encode()

    out += s("HEADER_START")
    for k, v in fields:
        out += s(k) + (struct.pack("<i", v) if isinstance(v, int) else struct.pack("<d", v))
    return out + s("HEADER_END")


GOOD = [("nchans", 4), ("nbits", 8), ("tsamp", 1e-3), ("fch1", 1400.0), ("foff", -1.0)]


@pytest.mark.parametrize("case, match", [
    ("truncated", "truncated"),
    ("nbits", "nbits=3"),
    ("short", "shorter than its header promises"),
    ("junk", "HEADER_START"),
    ("empty", "no data"),
    ("missing", "no such file"),
])
def test_bad_files_raise_clear_errors(tmp_path, case, match):
    p = tmp_path / f"{case}.fil"
    if case == "truncated":
        p.write_bytes(_raw_header(GOOD)[:40])
    elif case == "nbits":
        p.write_bytes(_raw_header([(k, 3 if k == "nbits" else v) for k, v in GOOD]) + bytes(12))
    elif case == "short":
        p.write_bytes(_raw_header(GOOD + [("nsamples", 100)]) + bytes(4 * 10))
    elif case == "junk":
        p.write_bytes(struct.pack("<i", 5) + b"hello" + bytes(100))
    elif case == "empty":
        p.write_bytes(_raw_header(GOOD))
    with pytest.raises(FilterbankError, match=match) as ei:
        Filterbank(p)
    assert str(p) in str(ei.value)


def test_folded_and_beam_keywords_are_read(tmp_path):
    """Headers from folding/multibeam tools carry nbins (int), npuls (8-byte long), period."""
    hdr = _raw_header(GOOD + [("nbins", 64), ("period", 0.0337), ("ibeam", 3), ("nbeams", 13)])
    tail = struct.pack("<i", len("npuls")) + b"npuls" + struct.pack("<q", 2**33 + 5)
    hdr = hdr[:-len("HEADER_END") - 4] + tail + hdr[-len("HEADER_END") - 4:]
    p = tmp_path / "beam.fil"
    p.write_bytes(hdr + bytes(range(4)) * 10)
    fb = Filterbank(p)
    assert fb.header.fields["npuls"] == 2**33 + 5 and fb.header.fields["nbins"] == 64
    assert fb.header.fields["ibeam"] == 3 and fb.nsamples == 10
    # the data start right after the 8-byte npuls: every spectrum reads 0, 1, 2, 3
    np.testing.assert_array_equal(fb.read(0, 2), np.repeat(np.arange(4.0)[:, None], 2, axis=1))
