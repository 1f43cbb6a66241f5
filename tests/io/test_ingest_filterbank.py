"""Candidate lists, candidate ingest (bad candidates reported, rest ingested), simulator, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.cli import main
from workbench.core.errors import FilterbankError
from workbench.io.candidates import read_candidates
from workbench.io.ingest_filterbank import ingest_filterbank
from workbench.sims.transients import CLASSES, simulate_filterbank, simulate_transients


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "coll"
    simulate_transients(out, 6, seed=2)
    return out


def test_candidate_formats(tmp_path):
    (tmp_path / "a.cand").write_text("12.5 1000 1.024 3 40 56.8 7 990 1010\n")
    (tmp_path / "b.singlepulse").write_text("# DM Sigma Time (s) Sample Downfact\n"
                                            "56.8 9.1 1.024 2000 4\n")
    (tmp_path / "c.csv").write_text("tcand,dm,width,snr\n1.024,56.8,3,9\n")
    a = read_candidates(tmp_path / "a.cand", tsamp=1e-3)
    b = read_candidates(tmp_path / "b.singlepulse", tsamp=1e-3)
    c = read_candidates(tmp_path / "c.csv", tsamp=1e-3, width_unit="log2")
    for cl, w in ((a, 8e-3), (b, 4e-3), (c, 8e-3)):
        row = cl.table.iloc[0]
        assert row.time_s == pytest.approx(1.024) and row.dm == pytest.approx(56.8)
        assert row.width_s == pytest.approx(w)
    assert (a.fmt, b.fmt, c.fmt) == ("heimdall", "presto", "csv")


def test_heimdall_cand_with_or_without_a_header_row(tmp_path):
    row = "12.0 1000 1.0 2 10 56.8 20 990 1010\n"
    (tmp_path / "plain.cand").write_text(row)
    (tmp_path / "named.cand").write_text("snr sample time_s filter dm_trial dm members "
                                         "begin end\n" + row)
    plain = read_candidates(tmp_path / "plain.cand", tsamp=1e-3)
    named = read_candidates(tmp_path / "named.cand", tsamp=1e-3)
    assert (plain.fmt, named.fmt) == ("heimdall", "csv")
    for cl in (plain, named):  # filter 2 = a boxcar of 2**2 samples
        assert cl.table[["time_s", "dm", "width_s", "snr"]].iloc[0].tolist() == \
            pytest.approx([1.0, 56.8, 0.004, 12.0])


def test_candidate_errors(tmp_path):
    (tmp_path / "empty.csv").write_text("time_s,dm,width_s,snr\n")
    with pytest.raises(FilterbankError, match="empty") as ei:
        read_candidates(tmp_path / "empty.csv")
    assert "empty.csv" in str(ei.value)
    (tmp_path / "words.csv").write_text("time_s,dm\nabc,def\n")
    with pytest.raises(FilterbankError, match="holds no numbers"):
        read_candidates(tmp_path / "words.csv")
    (tmp_path / "mixed.csv").write_text("time_s,dm,width_s,snr\n1,10,0.001,8\nx,10,0.001,8\n")
    cl = read_candidates(tmp_path / "mixed.csv")
    assert len(cl) == 1 and cl.rejected and cl.rejected[0][0] == 1


def test_bad_candidates_reported_rest_ingested(sim, tmp_path):
    fil = sim / "sources" / "transients.fil"
    cands = pd.DataFrame({"time_s": [0.7, -3.0, 1e6, 5.6, 0.02],
                          "dm": [100.0, 50.0, 50.0, 1e6, 80.0],
                          "width_s": [0.002] * 5, "snr": [10.0] * 5})
    rep = ingest_filterbank(fil, cands, tmp_path / "c")
    assert rep.n_items == 2 and len(rep.skipped) == 3
    reasons = " ".join(r for _, r in rep.skipped)
    assert "outside the file" in reasons and "longer than the file" in reasons
    coll = workbench.open(tmp_path / "c")
    assert list(coll.catalog["padded"]) == [False, True]  # 0.02 s: window before file start
    with pytest.raises(FilterbankError, match="outside the file"):
        ingest_filterbank(fil, cands, tmp_path / "d", errors="raise")
    assert not (tmp_path / "d").exists()


def test_simulated_collection_has_truth_and_axes(sim):
    coll = workbench.open(sim)
    cat = coll.catalog
    assert len(coll) == 6 and set(cat["truth"]) <= set(CLASSES)
    it = coll[0]
    assert it.images["dm_time"].shape == (256, 256) and it.images["freq_time"].shape == (256, 256)
    ax = it.axes["dm_time"]
    assert ax["dm"][0] == 0 and ax["dm"][-1] == pytest.approx(max(2 * it.meta["dm"], 10))
    assert ax["time"][0] < it.meta["time_s"] < ax["time"][-1]
    f = it.axes["freq_time"]["freq"]
    assert 1244 < f[0] < f[-1] < 1500.5
    # FRBs and pulsars peak near their true DM
    for i in np.flatnonzero(cat["truth"].isin(["frb", "pulsar"])):
        it = coll[int(i)]
        iy = np.unravel_index(np.argmax(it.images["dm_time"]), (256, 256))[0]
        assert abs(it.axes["dm_time"]["dm"][iy] - it.meta["true_dm"]) < 0.05 * it.meta["true_dm"]


def test_simulator_is_deterministic():
    a = simulate_filterbank(4, seed=5, slot_s=2.5)
    b = simulate_filterbank(4, seed=5, slot_s=2.5)
    np.testing.assert_array_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
    assert not np.array_equal(a.data, simulate_filterbank(4, seed=6).data)


def test_cli_ingest(sim, tmp_path, capsys):
    csv = tmp_path / "cands.csv"
    csv.write_text("time_s,dm,width_s,snr\n0.7,100,0.002,9\n")
    main(["ingest", "filterbank", str(sim / "sources" / "transients.fil"), "--candidates",
          str(csv), "-o", str(tmp_path / "o"), "--json"])
    it = workbench.open(tmp_path / "o")[0]
    assert it.images["dm_time"].shape == (256, 256) and "dm" in it.axes["dm_time"]
    with pytest.raises(SystemExit) as ei:
        main(["ingest", "filterbank", str(tmp_path / "nope.fil"), "--candidates", str(csv),
              "-o", str(tmp_path / "p")])
    assert ei.value.code == 2 and "nope.fil" in capsys.readouterr().err
