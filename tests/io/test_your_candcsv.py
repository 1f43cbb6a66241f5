"""your's cand.csv, RA/Dec from the filterbank header, and many filterbanks at once with the
documented pairing rule (issue 13 point 3, issue 14 point 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.core.errors import FilterbankError
from workbench.io.candidates import read_candidates
from workbench.io.filterbank import read_header, sigproc_angle, write_filterbank
from workbench.io.filterbank_pairs import pair_inputs
from workbench.io.ingest_filterbank import ingest_filterbank

TSAMP = 1e-3
SMALL = {"n_dm": 16, "n_time": 16, "n_freq": 16}
YOUR_HEADER = "file,snr,stime,width,dm,label,chan_mask_path,num_files\n"


def _fil(path, seed=0, **extra):
    data = np.random.default_rng(seed).normal(128, 10, (32, 3000)).clip(0, 255)
    return write_filterbank(path, data, tsamp=TSAMP, fch1=1500.0, foff=-2.0, **extra)


def test_your_cand_csv_width_is_log2_and_label_kept(tmp_path):
    p = tmp_path / "cand.csv"
    p.write_text(YOUR_HEADER + "/data/obs.fil,12.5,1.5,3,56.8,1,,1\n"
                               "/data/obs.fil,8.0,2.0,0,10.0,0,,1\n")
    cl = read_candidates(p, tsamp=TSAMP)  # width_unit left at "samples": the header decides
    assert cl.fmt == "your"
    assert cl.table["width_s"].tolist() == pytest.approx([8 * TSAMP, 1 * TSAMP])
    assert cl.table["time_s"].tolist() == [1.5, 2.0]
    assert cl.table["label"].tolist() == [1, 0] and cl.table["file"].iloc[0] == "/data/obs.fil"
    # a plain csv with a 'width' column is still read in --width-unit
    q = tmp_path / "plain.csv"
    q.write_text("stime,width,dm\n1.5,3,56.8\n")
    assert read_candidates(q, tsamp=TSAMP).table["width_s"].iloc[0] == pytest.approx(3 * TSAMP)


def test_sigproc_angles():
    assert sigproc_angle(123456.7, hours=True) == pytest.approx((12 + 34 / 60 + 56.7 / 3600) * 15)
    assert sigproc_angle(-301234.5, hours=False) == pytest.approx(-(30 + 12 / 60 + 34.5 / 3600))
    assert sigproc_angle(-2034.5, hours=False) == pytest.approx(-(20 / 60 + 34.5 / 3600))
    for bad, hours in ((126000.0, True), (6000.0, True), (910000.0, False), (None, True)):
        assert np.isnan(sigproc_angle(bad, hours=hours))


def test_items_get_ra_dec_from_the_header(tmp_path):
    fil = _fil(tmp_path / "obs.fil", src_raj=53431.9, src_dej=220052.0)
    cands = tmp_path / "obs.csv"
    cands.write_text(YOUR_HEADER + "obs.fil,12,1.0,1,20,1,,1\n")
    ingest_filterbank(fil, cands, tmp_path / "c", **SMALL)
    row = workbench.open(tmp_path / "c").catalog.iloc[0]
    assert row["ra"] == pytest.approx(83.6329167, abs=1e-6)
    assert row["dec"] == pytest.approx(22.0144444, abs=1e-6)
    assert row["label"] == 1 and row["width_s"] == pytest.approx(2 * TSAMP)
    no_pos = _fil(tmp_path / "nopos.fil")
    ingest_filterbank(no_pos, pd.DataFrame({"time_s": [1.0], "dm": [5.0]}), tmp_path / "d",
                      **SMALL)
    assert np.isnan(workbench.open(tmp_path / "d").catalog["ra"].iloc[0])


def test_real_parkes_ra_dec_match_yours(filterbank_dir):
    from your import Your

    f = filterbank_dir / "parkes_8bit_1.fil"
    h, y = read_header(f), Your(str(f)).your_header
    assert h.ra_deg == pytest.approx(y.ra_deg, abs=1e-9)
    assert h.dec_deg == pytest.approx(y.dec_deg, abs=1e-9)


@pytest.fixture()
def obs(tmp_path):
    """obs/a.fil, obs/b.fil with same-stem lists, and sub/a.fil (a stem shared)."""
    d = tmp_path / "obs"
    d.mkdir()
    (tmp_path / "sub").mkdir()
    for k, name in enumerate(("a", "b")):
        _fil(d / f"{name}.fil", seed=k)
        pd.DataFrame({"time_s": [1.0, 2.0], "dm": [10.0, 20.0], "width_s": [0.002, 0.004],
                      "snr": [9.0, 10.0 + k]}).to_csv(d / f"{name}.csv", index=False)
    _fil(tmp_path / "sub" / "a.fil", seed=5)
    return tmp_path


def test_glob_pairs_by_stem_and_ids_stay_unique(obs, tmp_path):
    rep = ingest_filterbank(str(obs / "obs" / "*.fil"), str(obs / "obs" / "*.csv"),
                            tmp_path / "c", **SMALL)
    coll = workbench.open(tmp_path / "c")
    assert rep.n_items == 4 and not rep.skipped
    assert sorted(coll.ids) == ["a-000000", "a-000001", "b-000000", "b-000001"]
    cat = coll.catalog.set_index("id")
    assert cat.loc["b-000001", "snr"] == 11.0 and cat.loc["b-000001", "source_file"].endswith("b.fil")
    # images of b's candidates come from b.fil: differ from a's
    assert not np.array_equal(coll["a-000000"].images["dm_time"], coll["b-000000"].images["dm_time"])


def test_shared_stems_get_their_folder_and_unpaired_files_are_reported(obs, tmp_path):
    fils = [obs / "obs" / "a.fil", obs / "obs" / "b.fil", obs / "sub" / "a.fil"]
    pairs, unpaired = pair_inputs(fils, [obs / "obs" / "b.csv"])
    assert [(p.fil.name, p.id_stem) for p in pairs] == [("b.fil", "b")]
    assert {u[0] for u in unpaired} == {str(fils[0]), str(fils[2])}
    # same-stem lists in two folders: each goes to the filterbank in its own folder, and
    # the items of the two a.fil files get ids told apart by their folder
    (obs / "obs" / "a.csv").rename(obs / "sub" / "a.csv")
    pd.DataFrame({"time_s": [1.5], "dm": [5.0]}).to_csv(obs / "obs" / "a.csv", index=False)
    lists = [obs / "obs" / "a.csv", obs / "sub" / "a.csv"]
    rep = ingest_filterbank(fils[::2], lists, tmp_path / "s", **SMALL)
    cat = workbench.open(tmp_path / "s").catalog.set_index("id")
    assert rep.n_items == 3 and not rep.skipped
    assert cat.loc["obs_a-000000", "source_file"] == str(fils[0])
    assert cat.loc["sub_a-000001", "source_file"] == str(fils[2])
    # a file column: rows go by file name; a name matching two filterbanks or none is
    # reported, not guessed
    cands = obs / "all.csv"
    cands.write_text(YOUR_HEADER + "/x/a.fil,9,1.0,1,10,1,,1\n/x/b.fil,9,1.5,1,10,0,,1\n"
                                   "/x/zzz.fil,9,1.0,1,10,1,,1\n")
    rep = ingest_filterbank(fils, cands, tmp_path / "c", **SMALL)
    assert workbench.open(tmp_path / "c").ids == ["b-000001"]
    reasons = " ".join(why for _, why in rep.skipped)
    assert "'zzz.fil', which is not among" in reasons and "'a.fil', which matches 2" in reasons
    with pytest.raises(FilterbankError, match="a.fil"):
        ingest_filterbank(fils, cands, tmp_path / "d", errors="raise", **SMALL)
    assert not (tmp_path / "d").exists()


def test_file_column_naming_another_file_is_refused(obs, tmp_path):
    cands = obs / "other.csv"
    cands.write_text(YOUR_HEADER + "elsewhere.fil,9,1.0,1,10,1,,1\n")
    with pytest.raises(FilterbankError, match="names \\['elsewhere.fil'\\], not 'a.fil'"):
        ingest_filterbank(obs / "obs" / "a.fil", cands, tmp_path / "c", **SMALL)


def test_cli_many_files(obs, tmp_path, capsys):
    from workbench.cli import main

    main(["ingest", "filterbank", str(obs / "obs" / "*.fil"), "--candidates",
          str(obs / "obs" / "*.csv"), "-o", str(tmp_path / "c"), "--size", "16"])
    assert "ingested 4 candidate(s)" in capsys.readouterr().out
    assert len(workbench.open(tmp_path / "c")) == 4


def test_real_parkes_files_paired_by_a_your_cand_csv(filterbank_dir, tmp_path):
    """Two real Parkes files (read in place) and one your cand.csv naming both."""
    from your import Your

    fils = [filterbank_dir / "parkes_8bit_1.fil", filterbank_dir / "parkes_4bit.fil"]
    cands = tmp_path / "cand.csv"
    cands.write_text(YOUR_HEADER + "".join(
        f"/survey/{f.name},10,{t},2,56.8,1,,1\n" for f in fils for t in (0.5, 1.2)))
    rep = ingest_filterbank(str(filterbank_dir / "parkes_[84]*.fil"), cands, tmp_path / "c",
                            n_dm=32, n_time=32, n_freq=32)
    assert rep.n_items == 4 and not rep.skipped
    cat = workbench.open(tmp_path / "c").catalog.set_index("id")
    assert sorted(cat.index) == ["parkes_4bit-000002", "parkes_4bit-000003",
                                 "parkes_8bit_1-000000", "parkes_8bit_1-000001"]
    assert cat.loc["parkes_4bit-000002", "source_file"].endswith("parkes_4bit.fil")
    assert cat["width_s"].tolist() == pytest.approx([4 * 0.000512] * 4)
    y = Your(str(fils[0])).your_header
    assert cat["ra"].tolist() == pytest.approx([y.ra_deg] * 4)
    assert cat["dec"].tolist() == pytest.approx([y.dec_deg] * 4)
