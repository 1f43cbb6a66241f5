"""A failed ingest or simulation removes the output folder it made, never one it was given."""

from __future__ import annotations

import pytest

import workbench
from workbench.io._atomic import new_folder
from workbench.sims import radio


def test_new_folder_removed_only_when_made_by_the_block(tmp_path):
    out = tmp_path / "new"
    with pytest.raises(RuntimeError), new_folder(out):
        (out / "half").mkdir(parents=True)
        raise RuntimeError("disk full")
    assert not out.exists()

    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "old.txt").write_text("precious")
    with pytest.raises(KeyboardInterrupt), new_folder(kept):
        raise KeyboardInterrupt
    assert (kept / "old.txt").read_text() == "precious"

    with new_folder(tmp_path / "ok"):
        (tmp_path / "ok").mkdir()
    assert (tmp_path / "ok").is_dir()


def test_simulation_failing_midway_leaves_no_folder(tmp_path, monkeypatch):
    real = radio.simulate_radio_arrays
    calls = []

    def fail_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the second batch
        return real(*args, **kwargs)

    monkeypatch.setattr(radio, "simulate_radio_arrays", fail_second_batch)
    out = tmp_path / "sim"
    with pytest.raises(KeyboardInterrupt):
        radio.simulate_radio(out, n=6, seed=1, size=32, batch_size=3, infrared=False)
    assert len(calls) == 2 and not out.exists()

    monkeypatch.setattr(radio, "simulate_radio_arrays", real)
    coll = radio.simulate_radio(out, n=6, seed=1, size=32, batch_size=3, infrared=False)
    assert len(workbench.open(coll.path)) == 6  # the same folder is free for a re-run
