"""The staging area (segments complete only when fully written) and the task runner,
in this process (the cluster tests are in tests/distributed/)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import workbench.io.collection as C
from workbench.core.errors import CollectionError
from workbench.io._appender import write_segment
from workbench.io._staging import DONE, StagingArea, file_identity, task_key
from workbench.io.distributed import Task, chunk_blocks, open_client, run_staged


def _task(root, key, value, fail=False):
    area = StagingArea(root)
    with area.writing(key) as seg:
        (seg.path / "data.txt").write_text(str(value))
        if fail:
            raise RuntimeError("worker died")
        seg.summary = {"value": value}
    return area.summary(key)


def test_segment_is_complete_only_after_the_block(tmp_path):
    area = StagingArea(tmp_path / "st")
    area.prepare()
    with pytest.raises(RuntimeError):
        _task(str(area.root), "k1", 1, fail=True)
    assert not area.is_complete("k1") and list(area.root.iterdir()) == []
    assert _task(str(area.root), "k1", 1) == {"value": 1}
    assert area.is_complete("k1") and (area.path("k1") / DONE).is_file()
    # a twin run of the same task keeps the first copy and leaves nothing else behind
    assert _task(str(area.root), "k1", 2) == {"value": 1}
    assert [p.name for p in area.root.iterdir()] == ["k1"]
    assert (area.path("k1") / "data.txt").read_text() == "1"


def test_partial_segments_are_cleared(tmp_path):
    area = StagingArea(tmp_path / "st")
    area.prepare()
    _task(str(area.root), "good", 1)
    (area.root / ".tmp-good-1234").mkdir()  # a worker killed while writing
    (area.root / "nodone").mkdir()  # a key folder without its marker
    (area.root / "nodone" / "data.txt").write_text("x")
    assert area.complete_keys() == {"good"}
    area.prepare()
    assert sorted(p.name for p in area.root.iterdir()) == ["good"]
    with pytest.raises(CollectionError):
        area.path("../escape")


def test_task_key_follows_inputs_and_parameters(tmp_path):
    f = tmp_path / "a.fits"
    f.write_bytes(b"1")
    k1 = task_key("fits", [file_identity(f)], [64, 64])
    assert k1 == task_key("fits", [file_identity(f)], [64, 64])
    assert k1 != task_key("fits", [file_identity(f)], [32, 32])
    f.write_bytes(b"22")  # a changed input is new work
    assert k1 != task_key("fits", [file_identity(f)], [64, 64])


def test_run_staged_skips_complete_tasks_and_counts_progress(tmp_path):
    area = StagingArea(tmp_path / "st")
    tasks = [Task(f"t{i}", _task, (i,), n=10) for i in range(4)]
    area.prepare()
    _task(str(area.root), "t2", "earlier")  # staged by an interrupted run
    steps = []
    out = run_staged(tasks, area, progress=steps.append)
    assert [s["value"] for s in out] == [0, 1, "earlier", 3]
    assert sum(steps) == 40
    with pytest.raises(ValueError, match="share a key"):
        run_staged([tasks[0], tasks[0]], area)


def test_open_client_without_options_is_none_and_refuses_both():
    with open_client() as c:
        assert c is None
    from workbench.core.errors import InputError

    with pytest.raises(InputError), open_client(scheduler="tcp://x:1", workers=2):
        pass


def test_add_staged_checks_the_segment_and_commits_with_the_rest(tmp_path):
    coll = C.create(tmp_path / "c", {"radio": C.ProductSpec(("radio",), (4, 4), "", "sky")})
    coll.append(pd.DataFrame({"id": ["a"]}), {"radio": np.zeros((1, 4, 4), np.float32)},
                kind="radio")
    area = StagingArea.of_collection(coll.path)
    area.prepare()
    seg = area.root / "s"
    seg.mkdir()
    imgs = np.arange(2 * 16, dtype=np.float32).reshape(2, 1, 4, 4)
    write_segment(seg, {"radio": imgs}, {"radio": [None, None]}, ["radio"], 2)
    with pytest.raises(CollectionError, match="shape"), coll.appender() as app:
        app.add_staged(seg, pd.DataFrame({"id": ["b", "c", "d"]}), kind="radio")
    assert len(C.open(coll.path)) == 1 and seg.is_dir()  # nothing moved, nothing committed
    with pytest.raises(CollectionError, match="already in the Collection"), \
            coll.appender() as app:
        app.add_staged(seg, pd.DataFrame({"id": ["a", "b"]}), kind="radio")
    ino = os.stat(seg / "radio.zarr").st_ino
    with coll.appender() as app:
        app.add_staged(seg, pd.DataFrame({"id": ["b", "c"]}), kind="radio")
        app.add(pd.DataFrame({"id": ["d"]}), {"radio": np.ones((1, 4, 4), np.float32)},
                kind="radio")
        assert len(C.open(coll.path)) == 1  # readers see nothing before the commit
    c = C.open(coll.path)
    assert c.ids == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(c.read([1, 2])["radio"], imgs)
    assert os.stat(c.path / "segments" / c.manifest["segments"][1]["name"] / "radio.zarr"
                   ).st_ino == ino  # moved, not copied


def test_chunk_blocks_cover_the_items_in_whole_chunks(tmp_path):
    coll = C.create(tmp_path / "c", {"radio": C.ProductSpec(("radio",), (200, 200), "", "sky")})
    for k in range(2):  # 160 kB per item: chunks of 13 items
        coll.append(pd.DataFrame({"id": [f"{k}-{i}" for i in range(30)]}),
                    {"radio": np.zeros((30, 200, 200), np.float32)}, kind="radio")
    blocks = chunk_blocks(coll, "radio", target=20)
    assert np.concatenate(blocks).tolist() == list(range(60))
    starts = [int(b[0]) for b in blocks]
    chunk_starts = {0, 13, 26, 30, 43, 56}
    assert set(starts) <= chunk_starts and all(len(b) >= 20 for b in blocks[:-1])
    view = coll.select(ids=["1-5", "0-2", "0-3"])
    assert [b.tolist() for b in chunk_blocks(view, "radio", target=1)] == [[35], [2, 3]]
