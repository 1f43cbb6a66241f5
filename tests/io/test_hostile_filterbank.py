"""Regression corpus of hostile filterbanks and candidate lists (issue 11).

Each case ends in a named error (one line, exit 2 from the CLI) or in a skipped candidate
with its reason; nothing allocates more than the data, and ``errors="raise"`` writes nothing.
"""

from __future__ import annotations

import hashlib
import struct
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.cli import main
from workbench.core.errors import FilterbankError, InputError, WorkbenchError
from workbench.io.candidates import read_candidates
from workbench.io.filterbank import Filterbank, write_filterbank
from workbench.io.ingest_filterbank import MAX_WINDOW, ingest_filterbank

NCH, NT, TSAMP = 32, 3000, 1e-3
SMALL = {"n_dm": 16, "n_time": 16, "n_freq": 16}


def _s(text: str) -> bytes:
    return struct.pack("<i", len(text)) + text.encode()


def raw_header(fields) -> bytes:
    """A SIGPROC header from (key, value) pairs: int -> int32, float -> float64."""
    out = _s("HEADER_START")
    for k, v in fields:
        out += _s(k) + (struct.pack("<i", v) if isinstance(v, int) else struct.pack("<d", v))
    return out + _s("HEADER_END")


GOOD = {"nchans": 4, "nbits": 8, "nifs": 1, "tsamp": 1e-3, "fch1": 1400.0, "foff": -1.0,
        "tstart": 60000.0}


def fil_with(tmp_path, name="x.fil", ndata=400, **change):
    fields = {**GOOD, **change}
    p = tmp_path / name
    p.write_bytes(raw_header(list(fields.items())) + bytes(range(256))[:100] * (ndata // 100))
    return p


@pytest.mark.parametrize("change, field", [
    ({"tsamp": float("inf")}, "tsamp=inf"),
    ({"tsamp": float("nan")}, "tsamp=nan"),
    ({"tsamp": 0.0}, "tsamp=0.0"),
    ({"tsamp": -1e-3}, "tsamp=-0.001"),
    ({"foff": 0.0}, "foff=0"),
    ({"foff": float("nan")}, "foff=nan"),
    ({"foff": float("-inf")}, "foff=-inf"),
    ({"fch1": -1400.0}, "fch1=-1400.0"),
    ({"fch1": 0.0}, "fch1=0.0"),
    ({"fch1": float("nan")}, "fch1=nan"),
    ({"fch1": float("inf")}, "fch1=inf"),
    ({"fch1": 2.0, "foff": -1.0}, "last channel"),
    ({"fch1": 1.4e9}, "in Hz, not MHz"),
    ({"fch1": 1e300, "foff": 1e300}, "fch1=1e+300"),
    ({"tstart": float("nan")}, "tstart=nan"),
    ({"nsamples": -5}, "nsamples=-5"),
    ({"nifs": -1}, "nifs=-1"),
    ({"nchans": 0}, "nchans=0"),
    ({"nchans": -3}, "nchans=-3"),
    ({"nbits": 3}, "nbits=3"),
    ({"nbits": 64}, "nbits=64"),
])
def test_impossible_header_refused_naming_file_and_field(tmp_path, change, field):
    p = fil_with(tmp_path, **change)
    with pytest.raises(FilterbankError) as ei:
        Filterbank(p)
    msg = str(ei.value)
    assert str(p) in msg and field in msg and "\n" not in msg


def test_a_valid_header_of_the_same_shape_reads(tmp_path):
    """The corpus above differs from a file that reads only in the field named."""
    fb = Filterbank(fil_with(tmp_path))
    assert (fb.nchans, fb.nsamples, fb.tsamp) == (4, 100, 1e-3)
    np.testing.assert_array_equal(fb.freqs, [1400.0, 1399.0, 1398.0, 1397.0])


@pytest.mark.parametrize("change, match", [
    ({"nchans": 2**30}, "bytes per time sample"),
    ({"nchans": 2**31 - 1, "nbits": 32, "nifs": 2**31 - 1}, "bytes per time sample"),
    ({"nsamples": 2**31 - 1}, "shorter than its header promises"),
    ({"nsamples": 101}, "shorter than its header promises"),
])
def test_sizes_checked_against_the_file_before_allocation(tmp_path, change, match):
    p = fil_with(tmp_path, **change)
    tracemalloc.start()
    try:
        with pytest.raises(FilterbankError, match=match):
            Filterbank(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


@pytest.mark.parametrize("where", ["keyword", "string"])
def test_absurd_string_length_prefix_refused_before_reading(tmp_path, where):
    head = _s("HEADER_START")
    if where == "keyword":
        body = struct.pack("<i", 2**31 - 1) + b"x" * 64
    else:
        body = _s("source_name") + struct.pack("<i", 10**9) + b"abc"
    p = tmp_path / "s.fil"
    p.write_bytes(head + body + bytes(100))
    with pytest.raises(FilterbankError, match="corrupt") as ei:
        Filterbank(p)
    assert str(p) in str(ei.value)


# ------------------------------------------------------------------ candidates


@pytest.fixture(scope="module")
def fil(tmp_path_factory):
    """A small 8-bit filterbank (32 channels 1500 .. 1438 MHz, 3 s) with a pulse at 1 s."""
    rng = np.random.default_rng(0)
    data = 100 + 10 * rng.standard_normal((NCH, NT))
    data[:, 1000:1003] += 60
    return write_filterbank(tmp_path_factory.mktemp("fb") / "obs.fil", data, tsamp=TSAMP,
                            fch1=1500.0, foff=-2.0)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder) -> dict:
    return {str(p.relative_to(folder)): _digest(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


GOOD_ROWS = [(1.0, 0.0, 0.003, 12.0), (2.0, 20.0, 0.002, 9.0)]


def _cands(tmp_path, *bad, name="c.csv"):
    rows = GOOD_ROWS + list(bad)
    p = tmp_path / name
    p.write_text("time_s,dm,width_s,snr\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return p


@pytest.mark.parametrize("bad, reason", [
    ((1.5, 0.0, 100.0, 9.0), "not shorter than the file"),  # 100 s wide: GiB of window
    ((1.5, float("inf"), 0.002, 9.0), "DM is not finite"),
    ((1.5, 1e300, 0.002, 9.0), "dispersion sweep"),
    ((float("inf"), 10.0, 0.002, 9.0), "time is not finite"),
    ((1.5, -4.0, 0.002, 9.0), "negative DM"),
    ((1.5, 4.0, 0.0, 9.0), "width is not positive"),
    ((1.5, 4.0, "1e400", 9.0), "width is not finite"),
    ((1.5, "abc", 0.002, 9.0), "non-numeric"),
])
def test_bad_candidate_skipped_with_reason_rest_ingested(fil, tmp_path, bad, reason):
    cands = _cands(tmp_path, bad)
    before = _digest(cands), _digest(fil)
    tracemalloc.start()
    try:
        rep = ingest_filterbank(fil, cands, tmp_path / "c", errors="skip", **SMALL)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20  # the 100 s window would be 700 MB
    assert rep.n_items == 2 and len(rep.skipped) == 1
    inp, why = rep.skipped[0]
    assert "row 2" in inp and reason in why
    coll = workbench.open(tmp_path / "c")
    assert sorted(coll.catalog["time_s"]) == [1.0, 2.0]
    assert (_digest(cands), _digest(fil)) == before
    with pytest.raises(FilterbankError, match=reason.split()[0]):
        ingest_filterbank(fil, cands, tmp_path / "d", errors="raise", **SMALL)
    assert not (tmp_path / "d").exists()


@pytest.fixture(scope="module")
def wide_fil(tmp_path_factory):
    """16384 channels x 100 samples of 10 ms (1.6 MB): a 0.9 s wide candidate's window at
    256 x 256 is 256 x 45 samples x 16384 channels = 1.9e8 values, over the default limit."""
    data = np.random.default_rng(0).integers(0, 255, (16384, 100)).astype(np.uint8)
    return write_filterbank(tmp_path_factory.mktemp("wide") / "wide.fil", data, tsamp=0.01,
                            fch1=1500.0, foff=-0.001)


def test_wide_candidate_over_the_default_window_limit_is_skipped(wide_fil, tmp_path):
    cands = pd.DataFrame({"time_s": [0.5, 0.5], "dm": [0.0, 0.0], "width_s": [0.9, 0.01],
                          "snr": [9.0, 9.0]})
    tracemalloc.start()
    try:
        rep = ingest_filterbank(wide_fil, cands, tmp_path / "o", min_dm_span=0.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rep.n_items == 1 and len(rep.skipped) == 1
    assert f"over the limit of {MAX_WINDOW} (512 MiB)" in rep.skipped[0][1]
    assert peak < 300 * 2**20  # the skipped window alone would be 755 MB


def test_window_limit_is_the_documented_one(fil, tmp_path):
    """A window just under the limit is ingested, one just over it skipped."""
    # 16 columns of D samples + the sweep at 2 x DM (0 here: min_dm_span 0) x 32 channels
    D = 64
    w = 2 * D * TSAMP
    cands = pd.DataFrame({"time_s": [1.0], "dm": [0.0], "width_s": [w], "snr": [9.0]})
    kw = dict(min_dm_span=0.0, **SMALL)
    rep = ingest_filterbank(fil, cands, tmp_path / "a", max_window=16 * D * NCH, **kw)
    assert rep.n_items == 1 and not rep.skipped
    with pytest.raises(FilterbankError, match="over the limit of"):
        ingest_filterbank(fil, cands, tmp_path / "b", max_window=16 * D * NCH - 1, **kw)
    assert MAX_WINDOW == 2**27


def test_heimdall_filter_outside_0_30_refused(fil, tmp_path):
    cand = tmp_path / "h.cand"
    cand.write_text("12 1000 1.0 99999 10 5.0 20 990 1010\n"
                    "12 1000 1.5 31 10 5.0 20 990 1010\n"
                    "12 1000 1.5 2.5 10 5.0 20 990 1010\n"
                    "12 2000 2.0 3 10 5.0 20 1990 2010\n")
    cl = read_candidates(cand, tsamp=TSAMP)
    assert [r for r, _ in cl.rejected] == [0, 1, 2]
    assert all("Heimdall filter" in why for _, why in cl.rejected)
    assert cl.table["width_s"].tolist() == [8 * TSAMP]
    rep = ingest_filterbank(fil, cand, tmp_path / "o", **SMALL)
    assert rep.n_items == 1 and len(rep.skipped) == 3
    assert workbench.open(tmp_path / "o").catalog["width_s"].tolist() == [8 * TSAMP]
    with pytest.raises(FilterbankError, match="Heimdall filter"):
        ingest_filterbank(fil, cand, tmp_path / "p", errors="raise", **SMALL)
    assert not (tmp_path / "p").exists()


def test_any_failure_while_imaging_is_skipped_with_its_reason(fil, tmp_path, monkeypatch):
    """errors='skip' skips failures of any kind, not only the expected ones."""
    from workbench.imaging import dedisperse

    real = dedisperse.dm_time

    def flaky(data, freqs, dms, *a, **k):
        if dms.max() > 30:  # only the DM 20 candidate (trial DMs up to 40)
            raise RuntimeError("simulated bug")
        return real(data, freqs, dms, *a, **k)

    monkeypatch.setattr(dedisperse, "dm_time", flaky)
    cands = _cands(tmp_path)
    rep = ingest_filterbank(fil, cands, tmp_path / "o", **SMALL)
    assert rep.n_items == 1
    assert rep.skipped == [(f"{cands} row 1", "RuntimeError: simulated bug")]
    with pytest.raises(FilterbankError, match="row 1 .*RuntimeError: simulated bug"):
        ingest_filterbank(fil, cands, tmp_path / "p", errors="raise", **SMALL)
    assert not (tmp_path / "p").exists()
    monkeypatch.setattr(dedisperse, "dm_time", lambda *a, **k: 1 / 0)
    with pytest.raises(FilterbankError, match="none of the 2 candidate"):
        ingest_filterbank(fil, cands, tmp_path / "q", **SMALL)
    assert not (tmp_path / "q").exists()


def test_failed_append_leaves_an_existing_collection_unchanged(fil, tmp_path):
    ingest_filterbank(fil, _cands(tmp_path), tmp_path / "coll", **SMALL)
    before = _tree(tmp_path / "coll")
    bad = _cands(tmp_path, (1.5, 0.0, 100.0, 9.0), name="more.csv")
    coll = workbench.open(tmp_path / "coll", mode="r+")
    with pytest.raises(FilterbankError, match="not shorter than the file"):
        ingest_filterbank(fil, bad, coll, errors="raise", **SMALL)
    with pytest.raises(WorkbenchError):  # exists; no --overwrite
        ingest_filterbank(fil, bad, tmp_path / "coll", **SMALL)
    assert _tree(tmp_path / "coll") == before
    assert len(workbench.open(tmp_path / "coll")) == 2


def test_list_columns_never_overwrite_ours(fil, tmp_path):
    """Found by the fuzz suite: a list column named cand_row replaced the line number, and
    one named padded was silently replaced by ours."""
    cands = pd.DataFrame({"time_s": [1.0], "dm": [0.0], "width_s": [0.003], "snr": [9.0],
                          "cand_row": ["x"], "padded": ["yes"], "id": ["J1"], "row": [7]})
    ingest_filterbank(fil, cands, tmp_path / "o", **SMALL)
    row = workbench.open(tmp_path / "o").catalog.iloc[0]
    assert row["cand_row"] == 0 and row["cand_cand_row"] == "x"
    assert row["padded"] is np.False_ or row["padded"] is False
    assert row["cand_padded"] == "yes" and row["cand_id"] == "J1" and row["cand_cand_row"] == "x"


def test_append_with_a_clashing_column_type_is_one_error_and_changes_nothing(fil, tmp_path):
    base = pd.DataFrame({"time_s": [1.0], "dm": [0.0], "width_s": [0.003], "snr": [9.0],
                         "beam": [3]})
    ingest_filterbank(fil, base, tmp_path / "coll", **SMALL)
    before = _tree(tmp_path / "coll")
    more = base.assign(time_s=2.0, beam="north")
    more_fil = tmp_path / "other.fil"  # other item ids
    more_fil.write_bytes(fil.read_bytes())
    with pytest.raises(FilterbankError, match="column .beam. holds text, but the Collection"):
        ingest_filterbank(more_fil, more, workbench.open(tmp_path / "coll", mode="r+"),
                          **SMALL)
    assert _tree(tmp_path / "coll") == before


@pytest.mark.parametrize("kw", [{"n_dm": 100000}, {"n_time": 0}, {"dm_factor": float("inf")},
                                {"dm_factor": -1.0}, {"min_dm_span": float("nan")},
                                {"errors": "ignore"}, {"max_window": 0}])
def test_out_of_range_parameters_are_input_errors(fil, tmp_path, kw):
    with pytest.raises(InputError):
        ingest_filterbank(fil, _cands(tmp_path), tmp_path / "o", **kw)
    assert not (tmp_path / "o").exists()


def test_float_file_with_nan_and_inf_values_gives_finite_images(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((NCH, 20000)).astype(np.float32)
    data[:, 1000:1003] += 8
    data[5, :] = np.nan                # a dead channel: masked
    data[:, 2000] = np.inf             # corrupt samples the statistics (8 x 1024) do not see
    data[7, 1500] = -3e38              # a finite value whose square overflows
    p = write_filterbank(tmp_path / "f.fil", data, tsamp=TSAMP, fch1=1500.0, foff=-2.0,
                         nbits=32)
    cands = pd.DataFrame({"time_s": [1.0, 2.0], "dm": [0.0, 0.0], "width_s": [0.003, 0.001],
                          "snr": [9.0, 9.0]})
    rep = ingest_filterbank(p, cands, tmp_path / "o", **SMALL)
    assert rep.n_items == 2 and not rep.skipped
    assert "1 of 32 channels masked" in rep.notes
    coll = workbench.open(tmp_path / "o")
    for i in range(2):
        for prod in ("dm_time", "freq_time"):
            img = coll[i].images[prod]
            assert np.isfinite(img).all() and img.std() > 0
    # the pulse at 1.000 .. 1.002 s is still where the DM 0 row peaks
    it = coll[0]
    t = it.axes["dm_time"]["time"][int(np.argmax(it.images["dm_time"][0]))]
    assert 0.999 <= t <= 1.0025


def test_real_parkes_file_with_hostile_candidates(filterbank_dir, tmp_path):
    """Read in place: a real 832-channel Crab file, one good candidate and hostile ones."""
    f = filterbank_dir / "parkes_8bit_1.fil"
    before = _digest(f)
    cands = pd.DataFrame({"time_s": [0.5, 0.5, 0.5, 0.5, 0.5],
                          "dm": [56.8, float("inf"), 56.8, 1e9, 56.8],
                          "width_s": [0.002, 0.002, 100.0, 0.002, 0.5], "snr": [10.0] * 5})
    rep = ingest_filterbank(f, cands, tmp_path / "o", max_window=2**24)
    assert rep.n_items == 1
    reasons = [r for _, r in rep.skipped]
    assert len(reasons) == 4 and "DM is not finite" in reasons[0]
    assert "not shorter than the file" in reasons[1] and "sweep" in reasons[2]
    assert "over the limit of 16777216 (64 MiB)" in reasons[3]
    assert _digest(f) == before


# ------------------------------------------------------------------ command line


def _cli(args, capsys):
    with pytest.raises(SystemExit) as ei:
        main(args)
    return ei.value.code, capsys.readouterr()


@pytest.mark.parametrize("change, field", [
    ({"tsamp": float("inf")}, "tsamp"), ({"foff": 0.0}, "foff"), ({"fch1": -1400.0}, "fch1"),
    ({"fch1": float("nan")}, "fch1"), ({"nsamples": -5}, "nsamples"),
    ({"nchans": 2**30}, "bytes per time sample"),
])
def test_cli_bad_header_is_one_line_exit_2(tmp_path, capsys, change, field):
    p = fil_with(tmp_path, **change)
    cands = tmp_path / "c.csv"
    cands.write_text("time_s,dm,width_s,snr\n0.01,0,0.001,9\n")
    code, cap = _cli(["ingest", "filterbank", str(p), "-c", str(cands), "-o",
                      str(tmp_path / "o")], capsys)
    lines = cap.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in cap.err
    assert lines[0].startswith("error: ") and str(p) in lines[0] and field in lines[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("bad, reason", [
    ((1.5, 0.0, 100.0, 9.0), "not shorter than the file"),
    ((1.5, "inf", 0.002, 9.0), "DM is not finite"),
])
def test_cli_errors_skip_and_raise(fil, tmp_path, capsys, bad, reason):
    cands = _cands(tmp_path, bad)
    code, cap = _cli(["ingest", "filterbank", str(fil), "-c", str(cands), "-o",
                      str(tmp_path / "r"), "--errors", "raise", "--size", "16"], capsys)
    lines = cap.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and reason in lines[0] and "Traceback" not in cap.err
    assert not (tmp_path / "r").exists()
    main(["ingest", "filterbank", str(fil), "-c", str(cands), "-o", str(tmp_path / "s"),
          "--size", "16", "--json"])
    out = capsys.readouterr().out
    import json

    rep = json.loads(out)
    assert rep["n_items"] == 2 and len(rep["skipped"]) == 1
    assert reason in rep["skipped"][0]["reason"]


def test_cli_heimdall_99999_only_candidate_is_one_line(fil, tmp_path, capsys):
    cand = tmp_path / "h.cand"
    cand.write_text("12 1000 1.0 99999 10 5.0 20 990 1010\n")
    code, cap = _cli(["ingest", "filterbank", str(fil), "-c", str(cand), "-o",
                      str(tmp_path / "o")], capsys)
    lines = cap.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Heimdall filter" in lines[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("opt", [["--size", "100000"], ["--dm-factor", "inf"],
                                 ["--max-window-mib", "nan"]])
def test_cli_bad_options_are_one_line(fil, tmp_path, capsys, opt):
    cands = _cands(tmp_path)
    code, cap = _cli(["ingest", "filterbank", str(fil), "-c", str(cands), "-o",
                      str(tmp_path / "o"), *opt], capsys)
    lines = cap.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    assert not (tmp_path / "o").exists()


def test_cli_max_window_option(fil, tmp_path, capsys):
    """--max-window-mib sets the limit: 1 MiB = 2**18 values; a 0.5 s wide candidate at
    --size 64 needs 64 x 250 samples x 32 channels = 512000 values."""
    cands = _cands(tmp_path, (1.5, 0.0, 0.5, 9.0))
    main(["ingest", "filterbank", str(fil), "-c", str(cands), "-o", str(tmp_path / "a"),
          "--size", "64", "--max-window-mib", "1", "--json"])
    import json

    rep = json.loads(capsys.readouterr().out)
    assert rep["n_items"] == 2 and "over the limit of 262144 (1 MiB)" in rep["skipped"][0]["reason"]
    main(["ingest", "filterbank", str(fil), "-c", str(cands), "-o", str(tmp_path / "b"),
          "--size", "64", "--max-window-mib", "2", "--json"])
    assert json.loads(capsys.readouterr().out)["n_items"] == 3
