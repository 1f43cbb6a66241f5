"""Collection storage: create, append, read back, select, derived data, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.errors import CollectionError, OutputError, ReadOnlyError
from workbench.io import _axes


def _batch(start, n, rng, shape=(8, 10)):
    cat = pd.DataFrame({"id": [f"s{i:04d}" for i in range(start, start + n)],
                        "snr": rng.uniform(5, 50, n), "truth": rng.choice(["FRI", "FRII"], n)})
    imgs = {"radio": rng.normal(size=(n, 1, *shape)).astype(np.float32),
            "ir": rng.normal(size=(n, 1, *shape)).astype(np.float32)}
    return cat, imgs


@pytest.fixture
def coll(tmp_path):
    return workbench.create(tmp_path / "c", {
        "radio": workbench.ProductSpec(("1.4GHz",), (8, 10), "Jy/beam", "sky"),
        "ir": workbench.ProductSpec(("W1",), (8, 10), "", "sky")})


def test_append_and_read_back(coll):
    rng = np.random.default_rng(0)
    cat1, im1 = _batch(0, 30, rng)
    cat2, im2 = _batch(30, 25, rng)
    coll.append(cat1, im1, kind="radio")
    coll.append(cat2, im2, kind="radio")
    c = workbench.open(coll.path)
    assert len(c) == 55
    np.testing.assert_array_equal(c[40].images["radio"], im2["radio"][10, 0])
    np.testing.assert_array_equal(c["s0007"].images["ir"], im1["ir"][7, 0])
    assert c[3].meta["truth"] == cat1["truth"][3]
    assert list(c.catalog["id"][:3]) == ["s0000", "s0001", "s0002"]
    assert (c.catalog["kind"] == "radio").all()
    got = c.read([54, 0, 31])["radio"]
    np.testing.assert_array_equal(got[0, 0], im2["radio"][24, 0])
    np.testing.assert_array_equal(got[1, 0], im1["radio"][0, 0])
    seen = []
    for b in c.batches(16):
        assert b.images["radio"].shape[1:] == (1, 8, 10)
        seen += b.ids
    assert seen == list(c.catalog["id"])
    assert c[-1].id == "s0054"
    with pytest.raises(IndexError):
        c[55]
    with pytest.raises(KeyError):
        c["nope"]


def test_select_and_derived(coll):
    rng = np.random.default_rng(1)
    cat, im = _batch(0, 40, rng)
    coll.append(cat, im, kind="radio")
    frii = coll.select("truth == 'FRII'")
    assert len(frii) == (cat["truth"] == "FRII").sum()
    assert set(frii.catalog["truth"]) == {"FRII"}
    first = frii[0]
    np.testing.assert_array_equal(first.images["radio"], coll[first.id].images["radio"])
    coll.add_columns("scores", {"score": np.arange(40.0)}, tool="test.scorer", version="9",
                     params={"k": 3})
    c = workbench.open(coll.path)
    assert c.derived["scores"]["made_by"] == {**c.derived["scores"]["made_by"],
                                             "name": "test.scorer", "version": "9",
                                             "params": {"k": 3}}
    assert list(c.select("score >= 38").catalog["id"]) == ["s0038", "s0039"]
    emb = rng.normal(size=(40, 5)).astype(np.float32)
    coll.add_array("emb", emb, tool="enc", params={"dim": 5})
    view = workbench.open(coll.path).select(ids=["s0003", "s0001"])
    np.testing.assert_array_equal(view.derived_array("emb"), emb[[3, 1]])
    info = workbench.open(coll.path).info()
    assert info["n_items"] == 40 and set(info["derived"]) == {"scores", "emb"}
    assert info["products"]["radio"]["shape"] == [1, 8, 10]
    json.dumps(info)


def test_axes_round_trip(coll):
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [5.5, 4.5]
    w.wcs.cdelt = [-1.8 / 3600, 1.8 / 3600]
    rng = np.random.default_rng(2)
    cat, im = _batch(0, 2, rng)
    lin = _axes.linear({"name": "dm", "unit": "pc cm^-3", "start": 0.0, "step": 2.0},
                       {"name": "time", "unit": "s", "start": 10.0, "step": 0.001})
    coll.append(cat, im, {"radio": [_axes.sky(w), None], "ir": [lin, None]}, kind="radio")
    it = coll[0]
    assert it.axes["radio"]["ra"][4, 4] == pytest.approx(150.0, abs=1e-3 / 3600 * 1000)
    assert it.axes["radio"]["pixscale_arcsec"] == pytest.approx(1.8)
    np.testing.assert_allclose(it.axes["ir"]["dm"], np.arange(8) * 2.0)
    np.testing.assert_allclose(it.axes["ir"]["time"], 10 + np.arange(10) * 0.001)
    assert it.axes["ir"]["units"]["dm"] == "pc cm^-3"
    assert coll[1].axes == {}


def test_bad_appends_change_nothing(coll):
    rng = np.random.default_rng(3)
    cat, im = _batch(0, 5, rng)
    coll.append(cat, im, kind="radio")
    before = workbench.open(coll.path).catalog
    with pytest.raises(CollectionError, match="already in the Collection"):
        coll.append(cat, im, kind="radio")
    cat2, im2 = _batch(5, 5, rng)
    im2["radio"] = im2["radio"][:, :, :4]
    with pytest.raises(CollectionError, match="shape"):
        coll.append(cat2, im2, kind="radio")
    with pytest.raises(CollectionError, match="kind"):
        coll.append(cat2, _batch(5, 5, rng)[1], kind="galaxy")
    pd.testing.assert_frame_equal(workbench.open(coll.path).catalog, before)
    assert len(os.listdir(coll.path / "segments")) == 1


def test_read_only(coll, tmp_path):
    ro = workbench.open(coll.path)
    cat, im = _batch(0, 2, np.random.default_rng(4))
    with pytest.raises(ReadOnlyError, match="mode='r\\+'"):
        ro.append(cat, im)
    with pytest.raises(CollectionError, match="no such Collection"):
        workbench.open(tmp_path / "missing")
    (tmp_path / "notours").mkdir()
    with pytest.raises(CollectionError, match="not a workbench Collection"):
        workbench.open(tmp_path / "notours")


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="a_file"):
        workbench.create(blocker / "sub" / "coll", {"radio": workbench.ProductSpec(("r",), (4, 4))})
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "precious.txt").write_text("keep")
    with pytest.raises(OutputError, match="not empty"):
        workbench.create(tmp_path / "full", {"radio": workbench.ProductSpec(("r",), (4, 4))})
    assert (tmp_path / "full" / "precious.txt").read_text() == "keep"


KILLER = textwrap.dedent("""
    import sys, time, numpy as np, pandas as pd, workbench
    c = workbench.open(sys.argv[1], mode="r+")
    rng = np.random.default_rng(7)
    with c.appender() as app:
        for k in range(1000):
            n = 20
            cat = pd.DataFrame({"id": [f"new{k}_{i}" for i in range(n)]})
            app.add(cat, {"radio": rng.normal(size=(n, 1, 8, 10)),
                          "ir": rng.normal(size=(n, 1, 8, 10))}, kind="radio")
            if k == 2:
                open(sys.argv[2], "w").write("go")
            time.sleep(0.01)
""")


def test_append_killed_half_way_leaves_collection_as_it_was(coll, tmp_path):
    rng = np.random.default_rng(5)
    cat, im = _batch(0, 12, rng)
    coll.append(cat, im, kind="radio")
    before_cat = workbench.open(coll.path).catalog
    before_img = workbench.open(coll.path).read(range(12))["radio"]
    before_manifest = (coll.path / "collection.json").read_bytes()
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(coll.path), str(marker)])
    deadline = time.time() + 60
    while not marker.exists():
        assert proc.poll() is None, "writer ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (coll.path / "collection.json").read_bytes() == before_manifest
    after = workbench.open(coll.path)
    pd.testing.assert_frame_equal(after.catalog, before_cat)
    np.testing.assert_array_equal(after.read(range(12))["radio"], before_img)
    assert len(os.listdir(coll.path / "segments")) > 1  # the dead writer's leftovers ...
    rw = workbench.open(coll.path, mode="r+")  # ... are removed when opened for writing
    assert len(os.listdir(coll.path / "segments")) == 1
    cat2, im2 = _batch(12, 3, rng)
    rw.append(cat2, im2, kind="radio")
    assert len(workbench.open(coll.path)) == 15


def test_exception_inside_appender_discards_everything(coll):
    rng = np.random.default_rng(6)
    with pytest.raises(RuntimeError):
        with coll.appender() as app:
            app.add(*_batch(0, 5, rng), kind="radio")
            raise RuntimeError("boom")
    assert len(workbench.open(coll.path)) == 0
    assert os.listdir(coll.path / "segments") == []


def test_public_face_of_a_collection_and_its_views(coll):
    """root/is_view/rows/manifest/view_of_rows: what other packages use instead of the
    Collection's private attributes (tests/test_private_access.py)."""
    rng = np.random.default_rng(7)
    coll.append(*_batch(0, 12, rng), kind="radio")
    c = workbench.open(coll.path)
    assert c.root is c and not c.is_view
    np.testing.assert_array_equal(c.rows, np.arange(12))
    view = c.select(ids=["s0009", "s0002", "s0005"])
    assert view.is_view and view.root is c
    np.testing.assert_array_equal(view.rows, [9, 2, 5])  # absolute rows, in view order
    with pytest.raises(ValueError):
        view.rows[0] = 0  # read-only: a caller cannot move the view's items
    sub = view.select(mask=[False, True, True])
    assert sub.root is c  # a view of a view is a view of the whole Collection
    assert sub.ids == ["s0002", "s0005"]
    np.testing.assert_array_equal(c.read(sub.rows)["radio"], c.read([2, 5])["radio"])
    again = c.view_of_rows(view.rows)
    assert again.root is c and again.ids == view.ids
    assert view.view_of_rows([0]).root is c
    with pytest.raises(IndexError, match="out of range"):
        c.view_of_rows([3, 12])
    # the manifest is a copy: changing it changes nothing
    m = c.manifest
    assert m["n_items"] == 12 and [s["n"] for s in m["segments"]] == [12]
    m["segments"].clear()
    assert len(c.manifest["segments"]) == 1 and len(c) == 12
    # derived records are the root's, read through a view too
    c2 = workbench.open(coll.path, mode="r+")
    c2.add_columns("flag", {"flag": np.arange(12.0)}, tool="t")
    v2 = c2.select(ids=["s0001"])
    assert set(v2.derived) == {"flag"} and v2.catalog["flag"].tolist() == [1.0]
    with pytest.raises(ReadOnlyError):
        v2.append(*_batch(100, 1, rng), kind="radio")


def test_appender_commits_and_discards_through_its_interface(coll):
    """The Appender only sees the AppendTarget the Collection gives it; commit() twice
    commits only what was staged since, discard() removes staged segments."""
    rng = np.random.default_rng(8)
    with coll.appender() as app:
        app.add(*_batch(0, 3, rng), kind="radio")
        app.commit()
        assert len(workbench.open(coll.path)) == 3  # visible once committed
        app.add(*_batch(3, 2, rng), kind="radio")
        staged = set(os.listdir(coll.path / "segments"))
        app.discard()
        assert len(set(os.listdir(coll.path / "segments"))) == len(staged) - 1
        app.add(*_batch(5, 4, rng), kind="radio")
    c = workbench.open(coll.path)
    assert len(c) == 7 and c.ids == [f"s{i:04d}" for i in (0, 1, 2, 5, 6, 7, 8)]
    assert [s["n"] for s in c.manifest["segments"]] == [3, 4]
    with pytest.raises(CollectionError, match="already in the Collection"), \
            coll.appender() as app:
        app.add(*_batch(2, 1, rng), kind="radio")  # existing_ids() of the target
