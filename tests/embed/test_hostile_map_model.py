"""Issue 11: nothing in a Collection is ever unpickled. A Collection copied to another folder
with its saved map model replaced by a pickle that runs a command (and the manifest's hashes
updated to match, as an attacker would) must not run it: new items are placed from arrays,
and the exact transform refuses any model that is not in the user's own trust list."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import shutil
import stat
import subprocess
import sys
from hashlib import sha256
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.core.errors import CollectionError, ModelError
from workbench.embed import records, trust
from workbench.io.collection import ProductSpec

ROOT = Path(__file__).resolve().parents[2]
N_OLD, N_NEW = 90, 30


class _RunsACommand:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """User A's Collection: a UMAP map saved with --save-model (trusted in A's home),
    clusters, then 30 new items with embeddings but no map position yet."""
    base = tmp_path_factory.mktemp("hostile")
    home_a = base / "home-a"
    home_a.mkdir(mode=0o700)
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (3, 16))
    Z = np.concatenate([c + rng.normal(0, 1, (40, 16)) for c in centres]).astype(np.float32)
    perm = rng.permutation(len(Z))
    old, new = Z[perm[:N_OLD]], Z[perm[N_OLD:]]
    coll = workbench.create(base / "orig", {"img": ProductSpec(("x",), (2, 2))})
    coll.append(pd.DataFrame({"id": [f"o{i}" for i in range(N_OLD)]}),
                {"img": np.zeros((N_OLD, 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", old, tool="test")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(trust.ENV, str(home_a))
        records.map_and_store(coll, method="umap", n_neighbors=10, n_epochs=30, save_model=True)
        records.cluster_and_store(coll, space="embedding", map_method="umap", min_cluster_size=15)
    coll.append(pd.DataFrame({"id": [f"n{i}" for i in range(N_NEW)]}),
                {"img": np.zeros((N_NEW, 1, 2, 2))}, kind="image")
    coll.add_array("embedding-test", np.concatenate([old, new]), tool="test")
    return {"path": coll.path, "home_a": home_a}


def _copy(made, dest) -> Path:
    shutil.copytree(made["path"], dest)
    return dest


def _doctor(path: Path, marker: Path) -> bytes:
    """Replace the saved model by a pickle that runs `touch marker` when unpickled and make
    every hash in the manifest agree with it; returns the pickle."""
    evil = pickle.dumps(_RunsACommand(marker))
    mpath = path / "collection.json"
    manifest = json.loads(mpath.read_text())
    params = manifest["derived"]["map-umap"]["made_by"]["params"]
    rec = manifest["derived"][params["model"]]
    (path / "derived" / rec["file"]).write_bytes(evil)
    rec["sha256"] = params["model_sha256"] = sha256(evil).hexdigest()
    rec["size"] = len(evil)
    mpath.write_text(json.dumps(manifest, indent=1))
    return evil


def _payload_is_live(evil: bytes, marker: Path) -> None:
    """The doctored model really runs a command when unpickled (so 'no marker' means
    something): unpickle it here, on purpose, once."""
    pickle.loads(evil)
    assert marker.exists()
    marker.unlink()


def _cli(*args, home):
    env = {**os.environ, "PYTHONPATH": str(ROOT), trust.ENV: str(home)}
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def _xy(path):
    return workbench.open(path).catalog[["umap_x", "umap_y"]].to_numpy()


def test_hostile_pickle_in_a_copied_collection_does_not_run_from_the_cli(made, tmp_path):
    marker = tmp_path / "pwned"
    copy = _copy(made, tmp_path / "copy")
    _payload_is_live(_doctor(copy, marker), marker)
    refused = Path(shutil.copytree(copy, tmp_path / "copy2"))  # doctored too, for --exact

    # the victim is user A, whose trust list holds the genuine model's hash, not this one
    r = _cli("map", copy, "--method", "umap", "--transform-new", home=made["home_a"])
    assert r.returncode == 0, r.stderr
    assert f"placed {N_NEW} new items on map-umap from stored arrays" in r.stdout
    assert not marker.exists()
    xy = _xy(copy)
    assert np.isfinite(xy).all() and np.array_equal(xy[:N_OLD], _xy(made["path"])[:N_OLD])
    assert (workbench.open(copy).catalog["cluster"].to_numpy()[N_OLD:] >= -1).all()

    before = (refused / "collection.json").read_bytes()
    r = _cli("map", refused, "--method", "umap", "--transform-new", "--exact",
             home=made["home_a"])
    assert r.returncode == 2 and not marker.exists()
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "trust list" in lines[0]
    assert "Traceback" not in r.stderr
    assert (refused / "collection.json").read_bytes() == before  # nothing was placed
    assert np.isnan(_xy(refused)[N_OLD:]).all()

    # the graph reuse of `workbench anomalies` reads arrays, never the model
    r = _cli("anomalies", copy, "--method", "knn", "--top", "1", home=made["home_a"])
    assert r.returncode == 0, r.stderr
    assert not marker.exists()


def test_hostile_pickle_is_not_run_from_python(made, tmp_path, monkeypatch):
    monkeypatch.setenv(trust.ENV, str(made["home_a"]))
    marker = tmp_path / "pwned"
    copy = _copy(made, tmp_path / "copy")
    _payload_is_live(_doctor(copy, marker), marker)

    with pytest.raises(ModelError, match="not in your trust list"):
        records.load_map(workbench.open(copy), "umap")
    with pytest.raises(ModelError, match="trust list"):
        records.place_new_items(workbench.open(copy, "r+"), method="umap", exact=True)
    assert not marker.exists() and np.isnan(_xy(copy)[N_OLD:]).all()

    coll = workbench.open(copy, "r+")
    name, placed = records.place_new_items(coll, method="umap")
    assert name == "map-umap" and len(placed) == N_NEW and np.isfinite(_xy(copy)).all()
    records.cluster_and_store(coll, space="embedding", map_method="umap", min_cluster_size=15)
    records.anomalies_and_store(coll, method="knn")
    assert not marker.exists()


def test_hostile_genuine_model_is_refused_for_another_user_and_works_for_its_author(
        made, tmp_path, monkeypatch, workbench_home):
    """An untouched copy: user B (empty trust list) cannot unpickle A's model; A can."""
    copy = _copy(made, tmp_path / "copy")
    with pytest.raises(ModelError, match="not written by your own"):
        records.place_new_items(workbench.open(copy, "r+"), method="umap", exact=True)
    assert np.isnan(_xy(copy)[N_OLD:]).all()

    monkeypatch.setenv(trust.ENV, str(made["home_a"]))
    coll = workbench.open(copy, "r+")
    expect = records.load_map(coll, "umap").transform(coll.derived_array("embedding-test")[N_OLD:])
    _, placed = records.place_new_items(coll, method="umap", exact=True)
    assert len(placed) == N_NEW
    assert np.allclose(_xy(copy)[N_OLD:], expect, atol=1e-4)
    assert "trusted" in workbench.open(copy).derived["map-umap"]["made_by"]["params"][
        "placed_by"]["rule"]


def test_hostile_trust_lists_are_refused_unless_private_and_well_formed(made, tmp_path,
                                                                       monkeypatch):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copy(made["home_a"] / trust.FILENAME, home / trust.FILENAME)
    monkeypatch.setenv(trust.ENV, str(home))
    coll = workbench.open(made["path"])
    sha = coll.derived["map-umap"]["made_by"]["params"]["model_sha256"]
    listed = home / trust.FILENAME
    assert trust.is_trusted(sha) and stat.S_IMODE(listed.stat().st_mode) == 0o600

    listed.chmod(0o666)  # anyone could add a hash: it decides nothing
    with pytest.raises(ModelError, match="writable by another user"):
        records.load_map(coll, "umap")
    listed.chmod(0o600)
    home.chmod(0o777)
    with pytest.raises(ModelError, match="writable by another user"):
        trust.is_trusted(sha)
    home.chmod(0o700)

    listed.write_text("{not json")
    with pytest.raises(ModelError, match="not readable JSON") as err:
        records.load_map(coll, "umap")
    assert "\n" not in str(err.value) and str(listed) in str(err.value)
    listed.write_text(json.dumps({"models": {sha: {}}}))  # no format key: not ours
    with pytest.raises(ModelError, match="not a workbench trust list"):
        trust.is_trusted(sha)
    with pytest.raises(ModelError, match="not a SHA-256"):
        trust.trust("../../x", name="m", collection=tmp_path)


def test_hostile_map_records_are_refused_before_anything_is_read(made, tmp_path):
    """A doctored map record cannot point the array placement at other data, a wrong
    shape or a bad neighbour count."""
    marker = tmp_path / "pwned"

    def doctored(name, change):
        copy = _copy(made, tmp_path / name)
        mpath = copy / "collection.json"
        manifest = json.loads(mpath.read_text())
        change(manifest["derived"])
        mpath.write_text(json.dumps(manifest, indent=1))
        return workbench.open(copy, "r+")

    def point_linear_at_the_model(d):
        d["map-umap"]["made_by"]["params"]["linear"] = d["map-umap"]["made_by"]["params"][
            "model"]

    def bad_k(d):
        d["map-umap"]["made_by"]["params"]["n_neighbors"] = "15; rm -rf /"

    def bad_counts(d):
        d["map-umap"]["made_by"]["params"]["n_fitted"] = 10**12

    for name, change, match in [("a", point_linear_at_the_model, "as its linear part"),
                                ("b", bad_k, "n_neighbors"),
                                ("c", bad_counts, "bad counts")]:
        with pytest.raises(CollectionError, match=match):
            records.place_new_items(doctored(name, change), method="umap")
        assert not marker.exists()
