"""``--overwrite`` builds the new Collection beside the old one and swaps it in only when it
is complete: a failed or killed run leaves the old Collection byte for byte as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

import workbench
from workbench.errors import FilterbankError, FITSError, InputError, OutputError
from workbench.io import _replace
from workbench.io.ingest_filterbank import ingest_filterbank
from workbench.io.ingest_fits import ingest_fits
from workbench.sims import radio
from workbench.sims.transients import simulate_transients


def snapshot(folder: Path) -> dict:
    """Relative path -> SHA-256 (files) or 'dir' / 'link:target', for every entry."""
    out = {}
    for top, dirs, files in os.walk(folder):
        for d in dirs:
            p = Path(top, d)
            out[str(p.relative_to(folder))] = f"link:{os.readlink(p)}" if p.is_symlink() else "dir"
        for f in files:
            p = Path(top, f)
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def siblings(target: Path) -> list[str]:
    """Build or aside folders of ``target`` left beside it."""
    return sorted(p.name for p in target.parent.iterdir()
                  if p.name.startswith(f".{target.name}.wb-"))


def _fits(path: Path, seed: int, n: int = 12) -> Path:
    rng = np.random.default_rng(seed)
    fits.PrimaryHDU(rng.normal(size=(n, n)).astype(np.float32)).writeto(path)
    return path


def _items(path) -> tuple[list, np.ndarray]:
    c = workbench.open(path)
    return c.ids, c.read(range(len(c)))[next(iter(c.products))]


def test_overwrite_failing_fits_ingest_leaves_old_collection_byte_identical(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    good = [_fits(src / f"g{k}.fits", k) for k in range(3)]
    out = tmp_path / "coll"
    assert ingest_fits(good, out).n_items == 3
    before = snapshot(out)
    bad = src / "zbad.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)  # not a FITS file
    with pytest.raises(FITSError):
        ingest_fits([*good, bad], out, overwrite=True, errors="raise")
    assert snapshot(out) == before
    assert siblings(out) == []
    assert _items(out)[0] == ["g0", "g1", "g2"]
    # the same command without the bad file replaces it
    assert ingest_fits(good[:2], out, overwrite=True).n_items == 2
    assert len(workbench.open(out)) == 2 and siblings(out) == []


def test_overwrite_with_an_infinite_dm_candidate_leaves_old_collection(tmp_path):
    first = tmp_path / "first"
    simulate_transients(first, n=4, seed=1)
    srcs = tmp_path / "sources"
    shutil.copytree(first / "sources", srcs)
    out = tmp_path / "coll"
    simulate_transients(out, n=5, seed=2)
    before = snapshot(out)
    cands = pd.read_csv(srcs / "candidates.csv")
    cands.loc[0, "dm"] = np.inf
    cands.to_csv(srcs / "bad.csv", index=False)
    with pytest.raises(FilterbankError):
        ingest_filterbank(srcs / "transients.fil", srcs / "bad.csv", out, width_unit="s",
                          errors="raise", overwrite=True)
    assert snapshot(out) == before and siblings(out) == []
    assert len(workbench.open(out)) == 5


def test_overwrite_interrupted_simulation_leaves_old_collection(tmp_path, monkeypatch):
    out = tmp_path / "sim"
    radio.simulate_radio(out, n=5, seed=1, size=16, infrared=False)
    before = snapshot(out)
    real = radio.simulate_radio_arrays
    calls = []

    def fail_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(radio, "simulate_radio_arrays", fail_second_batch)
    with pytest.raises(KeyboardInterrupt):
        radio.simulate_radio(out, n=6, seed=2, size=16, batch_size=3, infrared=False,
                             overwrite=True)
    assert len(calls) == 2
    assert snapshot(out) == before and siblings(out) == []


def test_overwrite_success_swaps_in_and_the_returned_collection_points_at_target(tmp_path):
    out = tmp_path / "sim"
    radio.simulate_radio(out, n=5, seed=1, size=16, infrared=False)
    coll = radio.simulate_radio(out, n=3, seed=9, size=16, infrared=False, overwrite=True)
    assert coll.path == out and len(coll) == 3 and siblings(out) == []
    assert coll.derived_array("truth_components").shape == (3, 16, 16)
    assert workbench.open(out).ids == coll.ids


def test_overwrite_without_atomic_exchange_uses_two_renames(tmp_path, monkeypatch):
    monkeypatch.setattr(_replace, "exchange", lambda a, b: False)
    out = tmp_path / "sim"
    radio.simulate_radio(out, n=4, seed=1, size=16, infrared=False)
    coll = radio.simulate_radio(out, n=2, seed=3, size=16, infrared=False, overwrite=True)
    assert len(workbench.open(out)) == 2 and coll.path == out and siblings(out) == []


def test_open_recovers_from_a_crash_between_the_two_renames(tmp_path):
    out = tmp_path / "c"
    radio.simulate_radio(out, n=4, seed=1, size=16, infrared=False)
    ids, imgs = _items(out)
    before = snapshot(out)
    new = tmp_path / "new"
    radio.simulate_radio(new, n=2, seed=2, size=16, infrared=False)
    # the fallback swap died after "old -> aside" and before "build -> target"
    os.rename(out, tmp_path / ".c.wb-old-0123456789ab")
    os.rename(new, tmp_path / ".c.wb-build-0123456789ab")
    got = _items(out)
    assert got[0] == ids
    np.testing.assert_array_equal(got[1], imgs)
    assert snapshot(out) == before
    # the next run clears the dead build folder (and only that)
    (tmp_path / "unrelated").mkdir()
    radio.simulate_radio(out, n=3, seed=3, size=16, infrared=False, overwrite=True)
    assert siblings(out) == [] and (tmp_path / "unrelated").is_dir()
    assert len(workbench.open(out)) == 3


def test_create_overwrite_outside_an_ingest_replaces_atomically(tmp_path):
    out = tmp_path / "c"
    radio.simulate_radio(out, n=4, seed=1, size=16, infrared=False)
    spec = {"radio": workbench.ProductSpec(("I",), (8, 8))}
    c = workbench.create(out, spec, overwrite=True)
    assert c.path == out and len(c) == 0 and siblings(out) == []
    assert not list((out / "segments").iterdir())
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a Collection"):
        workbench.create(tmp_path / "plain", spec, overwrite=True)
    assert (tmp_path / "plain" / "notes.txt").read_text() == "mine"
    (tmp_path / "link").symlink_to(out)
    with pytest.raises(OutputError, match="symbolic link"):
        workbench.create(tmp_path / "link", spec, overwrite=True)
    assert len(workbench.open(out)) == 0


def test_overwrite_refuses_inputs_inside_the_target_before_touching_anything(tmp_path):
    out = tmp_path / "t"
    simulate_transients(out, n=4, seed=1)
    before = snapshot(out)
    src = out / "sources"
    with pytest.raises(InputError, match="inside the output folder"):
        ingest_filterbank(src / "transients.fil", src / "candidates.csv", out, width_unit="s",
                          overwrite=True)
    assert snapshot(out) == before and siblings(out) == []
    fits_in = out / "sources" / "x.fits"
    _fits(fits_in, 0)
    before = snapshot(out)
    with pytest.raises(InputError, match="x.fits"):
        ingest_fits([fits_in], out, overwrite=True)
    assert snapshot(out) == before and siblings(out) == []


def test_overwrite_input_inside_target_is_one_line_exit_2(tmp_path):
    out = tmp_path / "t"
    simulate_transients(out, n=3, seed=1)
    before = snapshot(out)
    src = out / "sources"
    r = subprocess.run([sys.executable, "-m", "workbench.cli", "ingest", "filterbank",
                        str(src / "transients.fil"), "-c", str(src / "candidates.csv"),
                        "-o", str(out), "--overwrite", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "inside the output folder" in lines[0]
    assert "Traceback" not in r.stderr
    assert snapshot(out) == before


def test_overwrite_simulation_killed_midway_leaves_old_collection(tmp_path):
    out = tmp_path / "s"
    radio.simulate_radio(out, n=6, seed=1, size=32)
    ids, imgs = _items(out)
    before = snapshot(out)
    cmd = [sys.executable, "-m", "workbench.cli", "simulate", "radio", "--n", "5000",
           "--seed", "2", "--size", "32", "-o", str(out), "--overwrite", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        # wait until the new Collection has committed a segment in its build folder
        while not list(tmp_path.glob(".s.wb-build-*/segments/seg-*")):
            assert proc.poll() is None, "the simulation ended before it could be killed"
            assert time.time() < deadline, "no build folder appeared"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert snapshot(out) == before
    got = _items(out)
    assert got[0] == ids
    np.testing.assert_array_equal(got[1], imgs)
    assert siblings(out)  # the dead run's build folder is still there ...
    r = subprocess.run([*cmd[:6], "4", *cmd[7:]], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert siblings(out) == []  # ... and the re-run removed it
    assert len(workbench.open(out)) == 4


def test_overwrite_exchange_and_leftover_cleaning_spare_live_builds(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if sys.platform.startswith("linux"):
        assert _replace.exchange(a, b)  # one atomic renameat2(RENAME_EXCHANGE)
        assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"
    target = tmp_path / "t"
    live = _replace.Build(target)  # a run in progress holds its build folder's lock
    dead = tmp_path / ".t.wb-build-deadbeef0000"
    dead.mkdir()
    other = tmp_path / ".t.other"
    other.mkdir()
    _replace.clean_leftovers(target)
    assert live.path.is_dir() and not dead.exists() and other.is_dir()
    live.discard()
    assert not live.path.exists()
