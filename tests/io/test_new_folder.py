"""A failed ingest or simulation leaves no output folder it made and never touches one it was
given; a Collection made inside ``new_folder`` is built beside its target and put in place
when the block succeeds."""

from __future__ import annotations

import pytest

import workbench
from workbench.errors import InputError
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


def test_collection_made_inside_new_folder_appears_only_when_the_block_ends(tmp_path):
    out = tmp_path / "c"
    spec = {"radio": workbench.ProductSpec(("I",), (4, 4))}
    with new_folder(out):
        coll = workbench.create(out, spec)
        assert not out.exists() and coll.path.parent == tmp_path
        assert coll.path.name.startswith(".c.wb-build-")
        build = coll.path
    assert coll.path == out and (out / "collection.json").is_file() and not build.exists()
    assert workbench.open(out).products == coll.products

    with pytest.raises(RuntimeError), new_folder(tmp_path / "d"):
        c2 = workbench.create(tmp_path / "d", spec)
        raise RuntimeError("boom")
    assert not (tmp_path / "d").exists() and not c2.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_new_folder_refuses_inputs_inside_an_existing_output(tmp_path):
    out = tmp_path / "o"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "in.fits").write_bytes(b"x")
    with pytest.raises(InputError, match="in.fits"), \
            new_folder(out, inputs=[tmp_path / "elsewhere.fits", out / "sub" / "in.fits"]):
        raise AssertionError("the block must not run")
    with new_folder(tmp_path / "new", inputs=[out / "sub" / "in.fits"]):
        pass  # a missing output cannot contain the inputs
    assert (out / "sub" / "in.fits").read_bytes() == b"x"
