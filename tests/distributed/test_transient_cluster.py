"""Stamps, filterbank and candidate-file ingest through the real loopback cluster: the same
ids, byte-identical pixels and catalog as the serial ingest, tasks split as documented,
a rerun after an interruption reuses the staged segments, and the CLI's --scheduler."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench.io.collection as C
from workbench.cli import main
from workbench.core.errors import WorkbenchError
from workbench.io._staging import StagingArea
from workbench.io.ingest_candidates import ingest_candidates
from workbench.io.ingest_filterbank import ingest_filterbank
from workbench.io.ingest_stamps import ingest_stamps

SIZE = dict(n_dm=48, n_time=48, n_freq=32)


def assert_same(a, b, products) -> None:
    """Two Collections hold the same items: ids, pixels (bytes), axes and catalog."""
    a, b = C.open(a), C.open(b)
    assert len(a) > 0 and b.ids == a.ids
    rows = np.arange(len(a))
    for p in products:
        assert b.read(rows)[p].tobytes() == a.read(rows)[p].tobytes()
        assert [str(b[i].axes[p]) for i in (0, len(b) - 1)] == [
            str(a[i].axes[p]) for i in (0, len(a) - 1)]
    pd.testing.assert_frame_equal(b.catalog, a.catalog)


def same_report(ser, par) -> None:
    a, b = ser.to_json(), par.to_json()
    b["path"] = a["path"]
    assert b == a


def cli_json(args, capsys) -> dict:
    capsys.readouterr()
    main(args)
    return json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------ inputs
@pytest.fixture(scope="module")
def transients(tmp_path_factory):
    """Three simulated observations (6 events each) as obs/o0.fil + obs/o0.csv, ...; one
    list has a row no filterbank can image (reported as skipped)."""
    from workbench.sims.transients import simulate_transients

    root = tmp_path_factory.mktemp("transients")
    (root / "obs").mkdir()
    for seed in range(3):
        simulate_transients(root / f"sim{seed}", 6, seed=seed)
        shutil.copy(root / f"sim{seed}" / "sources" / "transients.fil", root / "obs" / f"o{seed}.fil")
        shutil.copy(root / f"sim{seed}" / "sources" / "candidates.csv",
                    root / "obs" / f"o{seed}.csv")
    cands = pd.read_csv(root / "obs" / "o1.csv")
    cands.loc[len(cands)] = {**cands.iloc[0].to_dict(), "time_s": 1e6}  # after the file's end
    cands.to_csv(root / "obs" / "o1.csv", index=False)
    return root


@pytest.fixture(scope="module")
def h5_files(transients):
    """your/FETCH .h5 files of the simulated Collections, one unreadable, one file a copy of
    another (the same id: ~2), and a FETCH results CSV."""
    root = transients / "h5"
    root.mkdir()
    for seed in range(3):
        main_ok(["export", "fetch-h5", str(transients / f"sim{seed}"), "-o",
                 str(root / f"s{seed}")])
    first = sorted((root / "s0").glob("*.h5"))[0]
    shutil.copy(first, root / "s1" / "copy.h5")
    (root / "s2" / "bad.h5").write_bytes(b"not hdf5")
    names = sorted(p.name for p in root.rglob("*.h5"))
    pd.DataFrame({"candidate": [f"/elsewhere/{n}" for n in names[::2]],
                  "probability": np.linspace(0, 1, len(names[::2])),
                  "label": [k % 2 for k in range(len(names[::2]))]}).to_csv(
        root / "results_a.csv", index=False)
    return root


def main_ok(args) -> None:
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None)


def _space_stamps(root: Path, ids: list[int]) -> Path:
    """Lens-challenge 2.0 layout (imageEUC_<BAND>-<ID>.fits in EUC_<BAND>/ folders): VIS
    40x40 at 0.1", NISP J/Y/H 14x14 at 0.3" (resampled onto the VIS grid), distinct noise
    per object and band, and a classifications.csv missing the last two objects."""
    from astropy.io import fits

    rng = np.random.default_rng(3)
    for b, (n, s) in {"VIS": (40, 0.1), "J": (14, 0.3), "Y": (14, 0.3), "H": (14, 0.3)}.items():
        (root / f"EUC_{b}").mkdir(parents=True, exist_ok=True)
        hdr = fits.Header()
        hdr.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=150.0, CRVAL2=2.0,
                   CRPIX1=(n + 1) / 2, CRPIX2=(n + 1) / 2, CDELT1=-s / 3600, CDELT2=s / 3600,
                   CUNIT1="deg", CUNIT2="deg", BUNIT="adu")
        for i in ids:
            data = rng.normal(1.0, 0.1, (n, n)).astype(np.float32)
            fits.PrimaryHDU(data, header=hdr).writeto(root / f"EUC_{b}" / f"imageEUC_{b}-{i}.fits")
    rows = ["ID,is_lens,n_img"] + [f"{i},{k % 2},{k}" for k, i in enumerate(ids[:-2])]
    (root / "classifications.csv").write_text("\n".join(rows) + "\n")
    return root


def _band_files(root: Path) -> Path:
    """One file per band per object (obj<k>_<band>.fits): obj3 lacks r, obj1's g file is
    not FITS."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
    from test_ingest_stamps import _per_band_files

    _per_band_files(root, objs=(1, 2, 3, 4, 5, 6))
    (root / "obj3_r.fits").unlink()
    (root / "obj1_g.fits").write_bytes(b"junk")
    return root


# ------------------------------------------------------------------ stamps
def test_stamps_cluster_equals_serial(client, tmp_path):
    src = _space_stamps(tmp_path / "S", list(range(200010, 200023)))
    ser = ingest_stamps([src], tmp_path / "s", resample=True)
    par = ingest_stamps([src], tmp_path / "p", resample=True, client=client, task_size=4)
    assert ser.n_items == 13 and ser.notes["objects without a classifications row"] == 2
    same_report(ser, par)
    assert_same(tmp_path / "s", tmp_path / "p", ["bands"])
    assert C.open(tmp_path / "p").catalog["is_lens"].notna().sum() == 11
    assert len(C.open(tmp_path / "p").manifest["segments"]) == 4  # 13 objects / 4 per task
    assert not StagingArea.beside(tmp_path / "p").root.exists()

    bad = _band_files(tmp_path / "B")  # bad file and object skipped, in the serial order
    ser = ingest_stamps([bad], tmp_path / "s2", errors="skip", task_size=2)
    par = ingest_stamps([bad], tmp_path / "p2", errors="skip", client=client, task_size=2)
    assert ser.n_items == 4 and [s[0] for s in ser.skipped] == [
        str(bad / "obj1_g.fits"), "obj1", "obj3"]
    same_report(ser, par)
    assert_same(tmp_path / "s2", tmp_path / "p2", ["bands"])
    with pytest.raises(WorkbenchError, match="obj1_g.fits") as e:  # raise: the serial error
        ingest_stamps([bad], tmp_path / "x", client=client)
    assert "truncated" in str(e.value) and not (tmp_path / "x").exists()


def test_cli_stamps_on_scheduler_equals_serial(cluster, client, tmp_path, capsys):
    src = _space_stamps(tmp_path / "S", list(range(100, 106)))
    a = cli_json(["ingest", "stamps", str(src), "--resample", "-o", str(tmp_path / "s"),
                  "--json"], capsys)
    b = cli_json(["ingest", "stamps", str(src), "--resample", "-o", str(tmp_path / "p"),
                  "--json", "--scheduler", str(cluster.file)], capsys)
    assert b["n_items"] == a["n_items"] == 6 and b["bands"] == a["bands"]
    assert_same(tmp_path / "s", tmp_path / "p", ["bands"])


# ------------------------------------------------------------------ filterbanks
def test_filterbank_cluster_equals_serial_and_rerun_reuses_staged(client, transients,
                                                                  tmp_path):
    fil, cands = str(transients / "obs" / "*.fil"), str(transients / "obs" / "*.csv")
    ser = ingest_filterbank(fil, cands, tmp_path / "s", **SIZE)
    assert ser.n_items == 18 and len(ser.skipped) == 1
    assert "o1.csv row 6" in ser.skipped[0][0]

    out = tmp_path / "p"  # an interrupted run: every task staged, nothing committed
    out.mkdir()
    (out / "in-the-way").write_text("")
    with pytest.raises(WorkbenchError):
        ingest_filterbank(fil, cands, out, client=client, **SIZE)
    area = StagingArea.beside(out)
    staged = area.complete_keys()
    assert len(staged) == 3  # one task per filterbank
    inodes = {os.stat(area.path(k) / "dm_time.zarr").st_ino for k in staged}
    shutil.rmtree(out)
    par = ingest_filterbank(fil, cands, out, client=client, **SIZE)
    same_report(ser, par)
    assert_same(tmp_path / "s", out, ["dm_time", "freq_time"])
    coll = C.open(out)
    assert {os.stat(out / "segments" / s["name"] / "dm_time.zarr").st_ino
            for s in coll.manifest["segments"]} == inodes  # the staged segments, not new ones
    assert not area.root.exists()

    other = dict(SIZE, n_time=32)  # other parameters: other keys, nothing reused
    par = ingest_filterbank(fil, cands, tmp_path / "q", client=client, **other)
    ser = ingest_filterbank(fil, cands, tmp_path / "r", **other)
    assert_same(tmp_path / "r", tmp_path / "q", ["dm_time", "freq_time"])


def test_filterbank_append_to_collection_on_cluster(client, transients, tmp_path):
    obs = transients / "obs"
    for name in ("s", "p"):
        ingest_filterbank(obs / "o0.fil", obs / "o0.csv", tmp_path / name, **SIZE)
    ser = ingest_filterbank(obs / "o2.fil", obs / "o2.csv", C.open(tmp_path / "s", "r+"),
                            **SIZE)
    par = ingest_filterbank(obs / "o2.fil", obs / "o2.csv", C.open(tmp_path / "p", "r+"),
                            client=client, **SIZE)
    assert par.n_items == ser.n_items == 6
    assert_same(tmp_path / "s", tmp_path / "p", ["dm_time", "freq_time"])
    assert not (tmp_path / "p" / ".staging").exists() or not any(
        (tmp_path / "p" / ".staging").iterdir())


def test_real_filterbanks_on_cluster(client, filterbank_dir, tmp_path):
    """Real Parkes Crab files read in place (1, 2 and 8 bits), one list naming them by a
    file column."""
    names = ["parkes_1bit.fil", "parkes_2bit.fil", "parkes_8bit_1.fil"]
    rows = [{"file": f"/data/{n}", "time_s": t, "dm": 56.8, "width_s": 0.002, "snr": 9.0}
            for n in names for t in (0.3, 0.6)]
    (tmp_path / "cand.csv").write_text(pd.DataFrame(rows).to_csv(index=False))
    fils = [str(filterbank_dir / n) for n in names]
    ser = ingest_filterbank(fils, tmp_path / "cand.csv", tmp_path / "s", **SIZE)
    par = ingest_filterbank(fils, tmp_path / "cand.csv", tmp_path / "p", client=client, **SIZE)
    assert ser.n_items == 6
    same_report(ser, par)
    assert_same(tmp_path / "s", tmp_path / "p", ["dm_time", "freq_time"])


def test_cli_filterbank_globs_on_scheduler_equals_serial(cluster, client, transients,
                                                         tmp_path, capsys):
    fil, cands = str(transients / "obs" / "*.fil"), str(transients / "obs" / "*.csv")
    size = ["--size", "32"]
    a = cli_json(["ingest", "filterbank", fil, "--candidates", cands, "-o",
                  str(tmp_path / "s"), "--json", *size], capsys)
    b = cli_json(["ingest", "filterbank", fil, "--candidates", cands, "-o",
                  str(tmp_path / "p"), "--json", *size, "--scheduler", str(cluster.file)],
                 capsys)
    assert b["n_items"] == a["n_items"] == 18 and b["skipped"] == a["skipped"]
    assert_same(tmp_path / "s", tmp_path / "p", ["dm_time", "freq_time"])


# ------------------------------------------------------------------ candidate files
def test_candidates_cluster_equals_serial(client, h5_files, tmp_path):
    pat, res = str(h5_files / "*" / "*.h5"), h5_files / "results_a.csv"
    ser = ingest_candidates(pat, tmp_path / "s", fetch_results=res)
    par = ingest_candidates(pat, tmp_path / "p", fetch_results=res, client=client,
                            task_size=4)
    assert ser.n_items == 19 and [Path(s[0]).name for s in ser.skipped] == ["bad.h5"]
    same_report(ser, par)
    assert_same(tmp_path / "s", tmp_path / "p", ["dm_time", "freq_time"])
    coll = C.open(tmp_path / "p")
    # the three simulations (and the copy) share 6 ids: the repeats get ~2, ~3, ~4
    assert len(set(coll.ids)) == 19 and len({i.split("~")[0] for i in coll.ids}) == 6
    predicted = set(pd.read_csv(res)["candidate"].map(lambda v: Path(v).name)) - {"bad.h5"}
    assert coll.catalog["fetch_a_probability"].notna().sum() == len(predicted) > 0
    assert len(coll.manifest["segments"]) == 5  # 20 files, 4 per task
    with pytest.raises(WorkbenchError, match="bad.h5"):
        ingest_candidates(pat, tmp_path / "x", errors="raise", client=client)
    assert not (tmp_path / "x").exists()


def test_cli_candidates_on_scheduler_equals_serial(cluster, client, h5_files, tmp_path,
                                                   capsys):
    pat = str(h5_files / "*" / "*.h5")
    res = ["--fetch-results", str(h5_files / "results_a.csv")]
    a = cli_json(["ingest", "candidates", pat, *res, "-o", str(tmp_path / "s"), "--json"],
                 capsys)
    b = cli_json(["ingest", "candidates", pat, *res, "-o", str(tmp_path / "p"), "--json",
                  "--scheduler", str(cluster.file)], capsys)
    assert b == {**a, "path": str(tmp_path / "p")} and a["n_items"] == 19
    assert_same(tmp_path / "s", tmp_path / "p", ["dm_time", "freq_time"])
