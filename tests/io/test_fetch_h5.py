"""your/FETCH candidate HDF5 (issue 13, point 1): files made by the real ``your`` package are
ingested with the right orientation and axes; our export is read by ``your``'s own tools and
round-trips to the same images; FETCH results join; hostile files get one-line errors."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.core.errors import CollectionError, FilterbankError
from workbench.io.export_fetch import export_fetch_h5
from workbench.io.fetch_h5 import read_fetch_h5
from workbench.io.filterbank import write_filterbank
from workbench.io.ingest_candidates import ingest_candidates
from workbench.io.ingest_filterbank import ingest_filterbank
from workbench.sims.transients import simulate_filterbank, simulate_transients

TSAMP, FCH1, FOFF, NCH = 1e-3, 1500.0, -4.0, 64


def candmaker(fil, out_dir, *, tcand, dm, width, snr, label):
    """your_candmaker.py's CPU path (cand2h5 + cpu_dedisp_dmt), step for step, with your's
    own Candidate methods; returns the file save_h5 wrote."""
    from your.candidate import Candidate, crop
    from your.utils.math import normalise

    cand = Candidate(str(fil), dm=dm, tcand=tcand, width=width, label=label, snr=snr)
    cand.get_chunk(for_preprocessing=True)
    dec = 1 if width == 1 else width // 2
    cand.dmtime()
    cand.dedisperse()
    cand.decimate(key="ft", axis=0, pad=True, decimate_factor=dec, mode="median")
    cand.dedispersed = crop(cand.dedispersed, cand.dedispersed.shape[0] // 2 - 128, 256, 0)
    cand.decimate(key="dmt", axis=1, pad=True, decimate_factor=dec, mode="median")
    cand.dmt = crop(cand.dmt, cand.dmt.shape[1] // 2 - 128, 256, 1)
    cand.resize(key="ft", size=256, axis=1, anti_aliasing=True, mode="constant")
    cand.dmt = normalise(cand.dmt)
    cand.dedispersed = normalise(cand.dedispersed)
    return cand.save_h5(out_dir=str(out_dir))


@pytest.fixture(scope="module")
def your_files(tmp_path_factory):
    """A simulated filterbank with three FRBs (widths 4, 2, 4 samples) and the candidate files
    your makes of them."""
    d = tmp_path_factory.mktemp("your")
    sim = simulate_filterbank(8, seed=11, nchans=NCH, fch1=FCH1, foff=FOFF, tsamp=TSAMP,
                              slot_s=2.0, dm_range=(80.0, 200.0), snr_range=(40.0, 60.0))
    fil = write_filterbank(d / "obs.fil", sim.data, nbits=8, tsamp=TSAMP, fch1=FCH1, foff=FOFF,
                           tstart=60200.5, src_raj=53431.9, src_dej=220052.0)
    frbs = sim.candidates[sim.candidates.truth == "frb"].head(3)
    h5 = d / "h5"
    h5.mkdir()
    files = []
    for _, r in frbs.iterrows():
        w = int(round(r.width_s / TSAMP))
        files.append(candmaker(fil, h5, tcand=float(r.time_s), dm=float(r.dm), width=w,
                               snr=float(r.snr), label=1))
    return fil, h5, frbs.reset_index(drop=True), files


def test_files_of_the_real_your_are_ingested_with_their_axes(your_files, tmp_path):
    fil, h5, frbs, files = your_files
    rep = ingest_candidates(h5, tmp_path / "c")
    assert rep.n_items == len(files) == 3 and not rep.skipped
    coll = workbench.open(tmp_path / "c")
    for f in files:
        with h5py.File(f) as fh:
            dmt, ft = np.array(fh["data_dm_time"]), np.array(fh["data_freq_time"])
            a = dict(fh.attrs)
        it = coll[str(f).rsplit("/", 1)[1][:-3]]
        # orientation: dm_time as stored, freq_time transposed and flipped (foff < 0)
        np.testing.assert_array_equal(it.images["dm_time"], dmt)
        np.testing.assert_array_equal(it.images["freq_time"], ft.T[::-1])
        ax = it.axes["dm_time"]
        np.testing.assert_allclose(ax["dm"], a["dm"] + np.linspace(-a["dm"], a["dm"], 256))
        step = a["tsamp"] * max(1, int(a["width"]) // 2)
        assert ax["time"][1] - ax["time"][0] == pytest.approx(step)
        # the burst sits at tcand on our time axis (in your's image it is left of the
        # middle column for widths over 2 samples) and at the candidate DM
        r, c = np.unravel_index(np.argmax(dmt), dmt.shape)
        assert abs(ax["time"][c] - a["tcand"]) <= 2 * step
        if a["width"] > 2:
            assert c < 100
        assert abs(ax["dm"][r] - a["dm"]) <= 0.15 * a["dm"]
        freq = it.axes["freq_time"]["freq"]
        assert freq[0] < freq[-1]  # lowest first, as ours
        assert freq[0] == pytest.approx(FCH1 + FOFF * (NCH - 1), abs=abs(FOFF))
        assert freq[-1] == pytest.approx(FCH1, abs=abs(FOFF))
        row = coll.catalog.set_index("id").loc[it.id]
        assert row["label"] == 1 and row["width_s"] == pytest.approx(a["width"] * TSAMP)
        assert row["ra"] == pytest.approx(83.6329167, abs=1e-6)
        assert row["dec"] == pytest.approx(22.0144444, abs=1e-6)
        assert row["tstart_mjd"] == pytest.approx(60200.5)


def test_burst_time_agrees_with_our_filterbank_ingest(your_files, tmp_path):
    """The same candidates imaged by us: the DM-time peaks fall at the same time (s from
    the file start) on both axes, within two columns."""
    fil, h5, frbs, files = your_files
    ingest_candidates(files, tmp_path / "theirs")
    cands = frbs[["time_s", "dm", "width_s", "snr"]]
    ingest_filterbank(fil, cands, tmp_path / "ours", width_unit="s")
    theirs, ours = workbench.open(tmp_path / "theirs"), workbench.open(tmp_path / "ours")
    for k in range(len(cands)):
        mine = ours[k]
        t = float(mine.meta["time_s"])
        other = theirs[int(np.argmin(np.abs(theirs.catalog["time_s"].to_numpy() - t)))]
        peaks = []
        for item in (mine, other):
            img = item.images["dm_time"]
            peaks.append(item.axes["dm_time"]["time"][np.unravel_index(np.argmax(img),
                                                                       img.shape)[1]])
        step = mine.axes["dm_time"]["time"][1] - mine.axes["dm_time"]["time"][0]
        assert abs(peaks[0] - peaks[1]) <= 2 * step


def test_lzf_and_gzip_files_read_the_same(your_files, tmp_path):
    src = your_files[3][0]
    with h5py.File(src) as f:
        attrs, data = dict(f.attrs), {k: np.array(f[k]) for k in f}
    with h5py.File(tmp_path / "lzf.h5", "w") as f:
        f.attrs.update(attrs)
        for k, v in data.items():
            f.create_dataset(k, data=v, compression="lzf")
    a, b = read_fetch_h5(src), read_fetch_h5(tmp_path / "lzf.h5")
    np.testing.assert_array_equal(a.dm_time, b.dm_time)
    np.testing.assert_array_equal(a.freq_time, b.freq_time)


@pytest.fixture(scope="module")
def sim_export(tmp_path_factory):
    d = tmp_path_factory.mktemp("exp")
    simulate_transients(d / "sim", 5, seed=3)
    rep = export_fetch_h5(d / "sim", d / "h5", compression="lzf")
    return d, rep


def test_export_is_read_by_yours_tools_and_round_trips(sim_export, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from your.utils.plotter import plot_h5

    d, rep = sim_export
    files = sorted((d / "h5").glob("*.h5"))
    assert rep.n_items == len(files) == 5
    for f in files:  # what FETCH's DataGenerator reads
        with h5py.File(f) as fh:
            assert np.array(fh["data_freq_time"], dtype=np.float32).T.shape == (256, 256)
            assert np.array(fh["data_dm_time"], dtype=np.float32).shape == (256, 256)
            assert f.stem == fh.attrs["cand_id"] and fh.attrs["label"] == -1
            assert fh.attrs["foff"] < 0 and fh.attrs["tstart"] == pytest.approx(60000.0)
    plot_h5(str(files[0]), save=True, outdir=f"{tmp_path}/")  # your's own reader
    assert list(tmp_path.glob("*.png"))
    ingest_candidates(d / "h5", tmp_path / "back")
    a, b = workbench.open(d / "sim"), workbench.open(tmp_path / "back")
    assert sorted(a.ids) == sorted(b.ids)
    for i in a.ids:
        for p in ("dm_time", "freq_time"):
            np.testing.assert_array_equal(a[i].images[p], b[i].images[p])
            for k in ("dm", "freq", "time"):
                if k in a[i].axes[p]:
                    np.testing.assert_allclose(a[i].axes[p][k], b[i].axes[p][k], rtol=1e-12)
    cat_a, cat_b = (c.catalog.set_index("id").sort_index() for c in (a, b))
    assert (cat_a["truth"] == cat_b["truth"]).all()
    np.testing.assert_allclose(cat_a["width_s"], cat_b["width_s"])


def test_fetch_results_join(sim_export, tmp_path):
    d, _ = sim_export
    files = sorted((d / "h5").glob("*.h5"))
    res = pd.DataFrame({"candidate": [f"/elsewhere/{f.name}" for f in files[:3]],
                        "probability": [0.9, 0.1, 0.5], "label": [1, 0, 1]})
    res.to_csv(tmp_path / "results_a.csv")  # FETCH writes its index too
    ingest_candidates(files, tmp_path / "c", fetch_results=tmp_path / "results_a.csv")
    cat = workbench.open(tmp_path / "c").catalog.set_index("cand_id")
    assert cat.loc[files[0].stem, "fetch_a_probability"] == pytest.approx(0.9)
    assert cat.loc[files[1].stem, "fetch_a_label"] == 0
    assert np.isnan(cat.loc[files[4].stem, "fetch_a_probability"])
    assert cat.loc[files[4].stem, "fetch_a_label"] == -1
    # auto-detected beside the files
    beside = tmp_path / "beside"
    beside.mkdir()
    for f in files:
        (beside / f.name).write_bytes(f.read_bytes())
    res.to_csv(beside / "results_b.csv", index=False)
    ingest_candidates(beside, tmp_path / "auto")
    assert workbench.open(tmp_path / "auto").catalog["fetch_b_probability"].notna().sum() == 3
    res.assign(probability=[0.9, 7.0, 0.1]).to_csv(tmp_path / "results_bad.csv")
    with pytest.raises(FilterbankError, match="row 1 of the FETCH results"):
        ingest_candidates(files, tmp_path / "x", fetch_results=tmp_path / "results_bad.csv")


def _good(path, **change):
    attrs = {"tcand": 1.0, "dm": 50.0, "width": 4, "tsamp": 1e-3, "fch1": 1500.0,
             "foff": -1.0, "nchans": 256, "snr": 9.0, "label": 0}
    attrs.update(change)
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            if v is not None:
                f.attrs[k] = v
        f.create_dataset("data_dm_time", data=np.ones((256, 256), np.float32))
        f.create_dataset("data_freq_time", data=np.ones((256, 256), np.float32))
    return path


@pytest.mark.parametrize("make, msg", [
    (lambda p: _good(p, tcand=None), "has no attribute 'tcand'"),
    (lambda p: _good(p, dm=float("nan")), "attribute 'dm' is nan"),
    (lambda p: _good(p, dm=-3.0), "cannot be negative"),
    (lambda p: _good(p, tsamp=0.0), "'tsamp' is 0"),
    (lambda p: _good(p, width=0), "'width' is 0"),
    (lambda p: _good(p, tcand="soon"), "'tcand' is not a number"),
    (lambda p: _good(p, cand_id=np.zeros(2000)), "'cand_id' is 16000 bytes, over the limit"),
    (lambda p: p.write_bytes(b"not hdf5 at all"), "not a readable HDF5 file"),
])
def test_hostile_files_one_line_naming_file_and_field(tmp_path, make, msg, monkeypatch):
    monkeypatch.setattr("workbench.io.fetch_h5.MAX_ATTR_BYTES", 8000)
    p = tmp_path / "bad.h5"
    make(p)
    with pytest.raises(FilterbankError, match=msg) as ei:
        read_fetch_h5(p)
    assert str(p) in str(ei.value) and "\n" not in str(ei.value)


def test_hostile_datasets_checked_before_reading(tmp_path):
    p = _good(tmp_path / "big.h5")
    with h5py.File(p, "a") as f:
        del f["data_dm_time"]
        f.create_dataset("data_dm_time", shape=(10**6, 256), dtype=np.float32, chunks=True)
    with pytest.raises(FilterbankError, match=r"shape \(1000000, 256\)"):
        read_fetch_h5(p)
    with h5py.File(p, "a") as f:
        del f["data_dm_time"]
        f.create_dataset("data_dm_time", data=np.ones((4, 4, 4)))
    with pytest.raises(FilterbankError, match="3-D"):
        read_fetch_h5(p)
    with h5py.File(p, "a") as f:
        del f["data_dm_time"]
    with pytest.raises(FilterbankError, match="no dataset 'data_dm_time'"):
        read_fetch_h5(p)


def test_errors_skip_reports_and_goes_on_raise_writes_nothing(tmp_path):
    good = _good(tmp_path / "good.h5")
    _good(tmp_path / "bad.h5", dm=-1.0)
    rep = ingest_candidates(tmp_path, tmp_path / "c")
    assert rep.n_items == 1 and len(rep.skipped) == 1
    assert "bad.h5" in rep.skipped[0][0] and "negative" in rep.skipped[0][1]
    with pytest.raises(FilterbankError, match="negative"):
        ingest_candidates([good, tmp_path / "bad.h5"], tmp_path / "o2", errors="raise")
    assert not (tmp_path / "o2").exists()
    with pytest.raises(FilterbankError, match="none of the 1 file"):
        ingest_candidates(tmp_path / "bad.h5", tmp_path / "o3")
    assert not (tmp_path / "o3").exists()


def test_export_refuses_what_fetch_cannot_take(tmp_path):
    fil = write_filterbank(tmp_path / "f.fil", np.full((16, 3000), 128.0), tsamp=1e-3,
                           fch1=1500.0, foff=-1.0)
    cands = pd.DataFrame({"time_s": [1.0], "dm": [5.0], "width_s": [0.002], "snr": [9.0]})
    ingest_filterbank(fil, cands, tmp_path / "small", n_dm=32, n_time=32, n_freq=32)
    with pytest.raises(CollectionError, match="FETCH takes 256 x 256"):
        export_fetch_h5(tmp_path / "small", tmp_path / "h5")
    assert not (tmp_path / "h5").exists()


def test_real_parkes_candidate_made_by_your(filterbank_dir, tmp_path):
    """your's candmaker on a real 832-channel Parkes file (read in place): the frequency axis
    spans the real band, lowest first, and the columns are tsamp x width // 2."""
    f = filterbank_dir / "parkes_8bit_1.fil"
    made = candmaker(f, tmp_path, tcand=1.0, dm=56.8, width=8, snr=10.0, label=1)
    from workbench.io._axes import expand

    c = read_fetch_h5(made)
    freq = expand(c.axes["freq_time"], c.freq_time.shape)["freq"]
    time = expand(c.axes["dm_time"], c.dm_time.shape)["time"]
    assert c.freq_time.shape == (256, 256) and freq[0] < freq[-1]
    assert freq[0] == pytest.approx(4030.0 - 4.0 * 831, abs=13) and freq[-1] == pytest.approx(
        4030.0, abs=13)
    assert time[1] - time[0] == pytest.approx(0.000512 * 4)
    assert time[0] < 1.0 < time[-1]
    assert c.meta["ra"] == pytest.approx(83.6329167, abs=1e-6)
