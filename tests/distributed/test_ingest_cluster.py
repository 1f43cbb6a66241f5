"""FITS ingest through a real Dask cluster (scheduler + 2 worker processes on loopback):
the same Collection as the serial ingest, a killed worker, half-written segments, reruns."""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time

import numpy as np
import pytest

import workbench.io.collection as C
from workbench.core.errors import FITSError
from workbench.io._staging import DONE, StagingArea
from workbench.io.ingest_fits import ingest_fits


def _pixels(coll) -> bytes:
    return coll.read(np.arange(len(coll)))["radio"].tobytes()


def _same_as(serial, par) -> None:
    assert par.ids == serial.ids
    assert len(set(par.ids)) == len(par)
    assert _pixels(par) == _pixels(serial)
    a, b = serial.catalog, par.catalog
    assert list(a.columns) == list(b.columns)
    for col in ("ra", "dec", "pixscale_arcsec", "bmaj", "source_file", "orig_ny", "resize"):
        assert a[col].equals(b[col]), col


@pytest.fixture(scope="module")
def serial(fits_inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "coll"
    rep = ingest_fits(fits_inputs, out, errors="skip")
    return C.open(out), rep


def test_cluster_ingest_equals_serial(client, fits_inputs, serial, tmp_path):
    ser, rep_s = serial
    out = tmp_path / "par"
    rep = ingest_fits(fits_inputs, out, errors="skip", client=client, task_size=16)
    par = C.open(out)
    assert len(par) == len(fits_inputs) - len(rep_s.skipped) > 250
    _same_as(ser, par)
    assert rep.to_json() == {**rep_s.to_json(), "path": str(out)}
    # tasks ran on both workers, each wrote its own segment; nothing staged is left behind
    assert len(par.manifest["segments"]) == -(-len(fits_inputs) // 16)
    assert not StagingArea.beside(out).root.exists()


@pytest.mark.slow
def test_killed_worker_mid_ingest_still_complete(cluster, client, fits_inputs, serial, tmp_path):
    ser, _ = serial
    out = tmp_path / "killed"
    area = StagingArea.beside(out)
    result: dict = {}

    def run():
        try:
            result["report"] = ingest_fits(fits_inputs, out, errors="skip", client=client,
                                           task_size=4)
        except BaseException as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    th = threading.Thread(target=run)
    th.start()
    n_tasks = -(-len(fits_inputs) // 4)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = len(area.complete_keys()) if area.root.exists() else 0
        if done >= 3:
            break
        time.sleep(0.01)
    victim = cluster.live_workers()[0]
    os.kill(victim.pid, signal.SIGKILL)
    staged_at_kill = len(area.complete_keys())
    th.join(180)
    assert not th.is_alive()
    assert victim.poll() is not None
    assert staged_at_kill < n_tasks  # the kill happened while the ingest was running
    assert "error" not in result, result.get("error")
    par = C.open(out)
    _same_as(ser, par)  # complete, no duplicates, same ids and pixels
    assert result["report"].n_items == len(ser)


def test_half_written_segments_are_not_committed_and_rerun_skips_staged(
        client, fits_inputs, serial, tmp_path):
    ser, _ = serial
    src = tmp_path / "in"
    src.mkdir()
    files = []
    for f in fits_inputs[:60]:
        files.append(src / f.name)
        shutil.copy(f, files[-1])
    good = files[-1].read_bytes()
    files[-1].write_bytes(b"SIMPLE  = not a FITS file")  # the last task fails
    out = tmp_path / "coll"
    with pytest.raises(FITSError, match=re.escape(files[-1].name)):
        ingest_fits(files, out, client=client, task_size=10)
    assert not out.exists()  # nothing committed
    area = StagingArea.beside(out)
    staged = area.complete_keys()
    assert len(staged) == 5  # the five good tasks finished and stay staged
    inode = {k: os.stat(area.path(k) / "radio.zarr").st_ino for k in staged}
    # a worker killed while writing leaves a .tmp- folder; a key folder without its done
    # marker is just as partial
    some = next(iter(staged))
    shutil.copytree(area.path(some), area.root / f".tmp-{some}-deadbeef")
    partial = area.root / "fits-00000000000000000000000000000000"
    shutil.copytree(area.path(some), partial)
    (partial / DONE).unlink()
    files[-1].write_bytes(good)
    rep = ingest_fits(files, out, client=client, task_size=10)
    par = C.open(out)
    assert rep.n_items == len(par) == 60
    assert par.ids == ser.ids[:60]
    assert _pixels(par) == ser.read(np.arange(60))["radio"].tobytes()
    # the staged segments were committed as they were (same files), not recomputed
    committed = {os.stat(out / "segments" / s["name"] / "radio.zarr").st_ino
                 for s in par.manifest["segments"]}
    assert set(inode.values()) <= committed
    assert len(par.manifest["segments"]) == 6
    assert not area.root.exists()  # partial segments were removed, never committed
