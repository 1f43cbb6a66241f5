"""Fuzz the filterbank reader, the candidate lists and the filterbank ingest (issue 11).

Small valid files are written with the project's own writer; hypothesis then changes header
values, header bytes and candidate tables. Every case must end in success or a named
:class:`workbench.errors.WorkbenchError`, leave its input files byte-identical, and leave an
existing target Collection exactly as it was.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import workbench
from workbench.errors import FilterbankError, WorkbenchError
from workbench.io.filterbank import SUPPORTED_NBITS, Filterbank, write_filterbank
from workbench.io.ingest_filterbank import ingest_filterbank

SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NCH, NT, TSAMP, TSTART = 16, 2000, 1e-3, 60000.0
SMALL = {"n_dm": 8, "n_time": 8, "n_freq": 8, "batch_size": 2}
INT_KEYS = ["nchans", "nbits", "nifs", "telescope_id", "data_type"]
DOUBLE_KEYS = ["tsamp", "fch1", "foff", "tstart"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """One valid file per nbits, a good candidate list, and a base Collection to append to."""
    root = tmp_path_factory.mktemp("fuzzfb")
    rng = np.random.default_rng(0)
    files = {}
    for nbits in SUPPORTED_NBITS:
        hi = 3.0 if nbits == 32 else (1 << nbits) - 1
        data = rng.uniform(0, hi, (NCH, NT)) if nbits < 32 else rng.standard_normal((NCH, NT))
        files[nbits] = write_filterbank(root / f"obs{nbits}.fil", data, tsamp=TSAMP,
                                        fch1=1500.0, foff=-4.0, nbits=nbits, tstart=TSTART,
                                        nsamples=NT)
    good = root / "good.csv"
    good.write_text("time_s,dm,width_s,snr,beam,label\n0.5,10,0.002,9,3,a\n1.5,0,0.004,8,4,b\n")
    base_fil = shutil.copy(files[8], root / "base.fil")  # other ids than obs8-*
    ingest_filterbank(base_fil, good, root / "base", **SMALL)
    return {"root": root, "files": files, "good": good, "base": root / "base"}


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tree(folder) -> dict:
    return {str(p.relative_to(folder)): _digest(p) for p in sorted(Path(folder).rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def _value_offset(raw: bytes, key: str) -> int:
    tag = struct.pack("<i", len(key)) + key.encode()
    return raw.index(tag) + len(tag)


def _check_opened(fb: Filterbank, size: int) -> None:
    """What a header that passed the reader's checks guarantees."""
    h = fb.header
    assert np.isfinite(h.tsamp) and h.tsamp > 0
    assert np.isfinite(fb.freqs).all() and (fb.freqs > 0).all() and fb.freqs.size == h.nchans
    assert h.nsamples >= 1 and h.nsamples * h.bytes_per_spectrum <= size - h.header_size
    block = fb.read(0, 64)
    assert block.shape == (h.nchans, min(64, h.nsamples)) and block.dtype == np.float32


def _ingest_checked(fil, cands, out, **kw):
    """Ingest into a new folder; success -> a Collection of n_items, failure -> no folder."""
    try:
        rep = ingest_filterbank(fil, cands, out, **SMALL, **kw)
    except WorkbenchError as exc:
        event(f"ingest refused: {type(exc).__name__}")
        assert not Path(out).exists()
        return None
    event("ingested" if not rep.skipped else "ingested, some skipped")
    assert rep.n_items >= 1 and len(workbench.open(out)) == rep.n_items
    assert all(isinstance(why, str) and why for _, why in rep.skipped)
    return rep


# ------------------------------------------------------------------ header values

_INTS = st.one_of(st.sampled_from([0, 1, -1, -5, 2, 3, 7, 64, 2**16, 2**30, 2**31 - 1, -2**31]),
                  st.integers(-2**31, 2**31 - 1))
_DOUBLES = st.one_of(st.sampled_from([0.0, -0.0, float("inf"), float("-inf"), float("nan"),
                                      -1.0, 1e-300, 1e300, 5e-324, -1400.0]),
                     st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=100, **SETTINGS)
@given(nbits=st.sampled_from(SUPPORTED_NBITS),
       changes=st.lists(st.one_of(st.tuples(st.sampled_from(INT_KEYS + ["nsamples"]), _INTS),
                                  st.tuples(st.sampled_from(DOUBLE_KEYS), _DOUBLES)),
                        min_size=1, max_size=3))
def test_fuzz_header_values(work, nbits, changes):
    src = work["files"][nbits]
    raw = bytearray(src.read_bytes())
    for key, val in changes:
        at = _value_offset(raw, key)
        raw[at:at + (4 if key in INT_KEYS + ["nsamples"] else 8)] = struct.pack(
            "<i" if isinstance(val, int) else "<d", val)
    tmp = Path(tempfile.mkdtemp(dir=work["root"]))
    try:
        p = tmp / "m.fil"
        p.write_bytes(bytes(raw))
        before = _digest(p), _digest(work["good"])
        try:
            fb = Filterbank(p)
        except FilterbankError as exc:
            event("header refused")
            assert str(p) in str(exc) and "\n" not in str(exc)
        else:
            event("header read")
            _check_opened(fb, len(raw))
        _ingest_checked(p, work["good"], tmp / "out")
        assert (_digest(p), _digest(work["good"])) == before
    finally:
        shutil.rmtree(tmp)


# ------------------------------------------------------------------ header bytes


@settings(max_examples=300, **SETTINGS)
@given(nbits=st.sampled_from(SUPPORTED_NBITS),
       edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 600)))
def test_fuzz_header_bytes(work, nbits, edits, cut):
    raw = bytearray(work["files"][nbits].read_bytes())
    for pos, byte in edits:
        raw[pos] = byte
    raw = bytes(raw[:cut] if cut is not None else raw)
    with tempfile.TemporaryDirectory(dir=work["root"]) as tmp:
        p = Path(tmp) / "b.fil"
        p.write_bytes(raw)
        tracemalloc.start()
        try:
            fb = Filterbank(p)
            _check_opened(fb, len(raw))
            event("read")
        except FilterbankError as exc:
            event("refused")
            assert str(p) in str(exc)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 8 * 2**20  # the files are 2 .. 130 KB
        assert p.read_bytes() == raw


# ------------------------------------------------------------------ candidate tables

_HOSTILE = ["inf", "-inf", "nan", "NaN", "", "abc", "1e400", "-1e400", "-0", "1e308", "-5",
            "0", "99999", "0x10", "2.5", "   7", "time_s", "None", "true", "\u00b5s", "1_000"]
_BREAKING = [",", '"', "#", "a b", "\t", ";", "'"]  # may change the table's shape
_COLS = {"time": [("time_s", "s"), ("tcand", "s"), ("time", "s"), ("sample", "samples"),
                  ("mjd", "mjd"), (None, None)],
         "dm": [("dm", None), ("DM", None), (None, None)],
         "width": [("width_s", "s"), ("width_ms", "ms"), ("width", "samples"),
                   ("filter", "log2"), ("boxcar", "samples"), (None, None)],
         "snr": [("snr", None), ("sigma", None), (None, None)]}
_EXTRA = ["id", "row", "kind", "beam", "label", "ra", "padded", "cand_row"]


def _plain(role, unit, rng):
    t, dm, logw = rng.uniform(0.05, 1.95), rng.uniform(0, 40), int(rng.integers(0, 4))
    if role == "time":
        return {"s": t, "samples": int(t / TSAMP), "mjd": TSTART + t / 86400}[unit]
    if role == "dm":
        return dm
    if role == "width":
        w = 2 ** logw
        return {"s": w * TSAMP, "ms": w * TSAMP * 1e3, "samples": w, "log2": logw}[unit]
    if role == "snr":
        return rng.uniform(5, 20)
    return rng.choice(["x", 1.5, 3])


@st.composite
def candidate_tables(draw):
    fmt = draw(st.sampled_from(["csv", "tsv", "cand", "singlepulse", "frame"]))
    n = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if fmt == "cand":
        names = ["snr", "sample", "time_s", "filter", "dm_trial", "dm", "members", "begin", "end"]
        roles = [("snr", None), ("time", "samples"), ("time", "s"), ("width", "log2"),
                 ("dm", None), ("dm", None), ("x", None), ("x", None), ("x", None)]
    elif fmt == "singlepulse":
        names = ["DM", "Sigma", "Time(s)", "Sample", "Downfact"]
        roles = [("dm", None), ("snr", None), ("time", "s"), ("time", "samples"),
                 ("width", "samples")]
    else:
        names, roles = [], []
        for role, choices in _COLS.items():
            name, unit = draw(st.sampled_from(choices))
            if name is not None:
                names.append(name)
                roles.append((role, unit))
        for extra in draw(st.lists(st.sampled_from(_EXTRA), max_size=2, unique=True)):
            names.append(extra)
            roles.append(("x", None))
        if not names:
            names, roles = ["x"], [("x", None)]
    rows = [[_plain(r, u, rng) for r, u in roles] for _ in range(n)]
    cells = st.tuples(st.integers(0, n - 1), st.integers(0, len(names) - 1),
                      st.one_of(st.sampled_from(_HOSTILE + _BREAKING),
                                st.floats(allow_nan=True, allow_infinity=True),
                                st.integers(-10**30, 10**30), st.text(max_size=6)))
    breaking = False
    for i, j, val in draw(st.lists(cells, max_size=4)):
        rows[i][j] = val
        text = str(val)
        breaking |= (any(b in text for b in _BREAKING) or not text.strip() or "\n" in text
                     or "\r" in text or text != text.strip() or any(c.isspace() for c in text)
                     or text.startswith(("#", '"')) or not text.isprintable())
    if fmt == "cand":  # a first line that is not all numbers is read as a header row
        try:
            [float(str(v)) for v in rows[0]]
        except ValueError:
            breaking = True
    header_again = fmt in ("csv", "tsv") and draw(st.booleans())
    return fmt, names, rows, header_again, breaking


def _write_table(folder: Path, fmt, names, rows, header_again):
    if fmt == "frame":
        return pd.DataFrame(rows, columns=names)
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        lines = [sep.join(names)] + [sep.join(map(str, r)) for r in rows]
        if header_again:
            lines.insert(1 + len(rows) // 2, sep.join(names))
        p = folder / f"c.{fmt}"
    else:
        lines = [" ".join(map(str, r)) for r in rows]
        if fmt == "singlepulse":
            lines.insert(0, "# DM Sigma Time (s) Sample Downfact")
        p = folder / f"c.{fmt}"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    return p


@settings(max_examples=120, **SETTINGS)
@given(table=candidate_tables(), errors=st.sampled_from(["skip", "raise"]),
       target=st.sampled_from(["new", "append", "exists"]),
       width_unit=st.sampled_from(["samples", "s", "ms", "log2"]))
def test_fuzz_candidate_tables(work, table, errors, target, width_unit):
    fmt, names, rows, header_again, breaking = table
    fil = work["files"][8]
    tmp = Path(tempfile.mkdtemp(dir=work["root"]))
    try:
        try:
            cands = _write_table(tmp, fmt, names, rows, header_again)
        except UnicodeEncodeError:
            return
        inputs = [fil] + ([] if isinstance(cands, pd.DataFrame) else [cands])
        before_inputs = [_digest(p) for p in inputs]
        base_tree = _tree(work["base"])
        kw = dict(errors=errors, width_unit=width_unit)
        if target == "new":
            rep = _ingest_checked(fil, cands, tmp / "out", **kw)
        else:
            dest = tmp / "coll"
            shutil.copytree(work["base"], dest)
            n0 = len(workbench.open(dest))
            try:
                if target == "append":
                    rep = ingest_filterbank(fil, cands, workbench.open(dest, mode="r+"),
                                            **SMALL, **kw)
                else:  # an existing Collection, no overwrite: refused, untouched
                    rep = ingest_filterbank(fil, cands, dest, **SMALL, **kw)
                    pytest.fail("ingest into an existing Collection without overwrite")
            except WorkbenchError as exc:
                event(f"{target}: refused ({type(exc).__name__})")
                rep = None
                assert _tree(dest) == base_tree
            else:
                event(f"{target}: ingested")
                assert rep.n_items >= 1 and len(workbench.open(dest)) == n0 + rep.n_items
        if rep is not None:
            if errors == "raise":
                assert rep.skipped == []
            n_rows = len(rows) + header_again
            if fmt == "frame" or not breaking:
                assert rep.n_items + len(rep.skipped) == n_rows
        assert [_digest(p) for p in inputs] == before_inputs
        assert _tree(work["base"]) == base_tree
    finally:
        shutil.rmtree(tmp)
