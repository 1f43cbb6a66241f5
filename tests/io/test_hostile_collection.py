"""Doctored Collections: every file a manifest names must stay inside the Collection, the
manifest is checked before anything is allocated, and damaged files are one-line
CollectionErrors naming them. Nothing outside the folder is read, written or deleted."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import workbench
from workbench.errors import CollectionError, WorkbenchError
from workbench.io import _manifest
from workbench.io.components import compute_components
from workbench.sims.radio import simulate_radio


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("base") / "coll"
    c = simulate_radio(p, n=6, seed=1, size=16, infrared=False)
    c.add_columns("scores", {"score": np.arange(6.0)})
    c.add_file("model", b"not a pickle", suffix=".bin")
    return p


@pytest.fixture
def coll(base, tmp_path) -> Path:
    """A fresh copy of the small real Collection, with a sentinel file beside it."""
    p = tmp_path / "box" / "coll"
    shutil.copytree(base, p)
    (tmp_path / "box" / "sentinel.txt").write_text("precious")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("also precious")
    return p


def manifest(p: Path) -> dict:
    return json.loads((p / "collection.json").read_text())


def doctor(p: Path, change) -> None:
    m = manifest(p)
    change(m)
    (p / "collection.json").write_text(json.dumps(m))


def sentinels_intact(p: Path) -> bool:
    root = p.parent.parent
    return ((root / "box" / "sentinel.txt").read_text() == "precious"
            and (root / "outside" / "keep.txt").read_text() == "also precious")


def open_fails(p: Path, *match: str, mode: str = "r") -> CollectionError:
    with pytest.raises(CollectionError) as e:
        c = workbench.open(p, mode=mode)
        c.catalog, c.read(range(len(c)))
    text = str(e.value)
    assert "\n" not in text
    for m in match:
        assert m in text, text
    return e.value


def _array_name(m: dict) -> str:
    return next(k for k, v in m["derived"].items() if v["type"] == "array")


@pytest.mark.parametrize("bad", ["../../../etc/passwd", "/etc/passwd", "..", "a/b.parquet", ""])
def test_hostile_catalog_path_is_refused(coll, bad):
    doctor(coll, lambda m: m.update(catalog=bad))
    open_fails(coll, "collection.json", "catalog")


def test_hostile_catalog_symlink_pointing_out_is_refused(coll, tmp_path):
    m = manifest(coll)
    outside = tmp_path / "outside" / "cat.parquet"
    shutil.copy(coll / m["catalog"], outside)
    (coll / "evil.parquet").symlink_to(outside)
    doctor(coll, lambda m: m.update(catalog="evil.parquet"))
    open_fails(coll, "resolves outside")


@pytest.mark.parametrize("bad", ["../../outside", "/tmp", "seg/../../x", "."])
def test_hostile_segment_path_is_refused(coll, bad):
    doctor(coll, lambda m: m["segments"][0].update(name=bad))
    open_fails(coll, "segment")


def test_hostile_segment_symlink_pointing_out_is_refused(coll, tmp_path):
    seg = manifest(coll)["segments"][0]["name"]
    moved = tmp_path / "outside" / "seg"
    shutil.move(str(coll / "segments" / seg), moved)
    (coll / "segments" / seg).symlink_to(moved)
    open_fails(coll, "resolves outside")
    assert moved.is_dir() and sentinels_intact(coll)


def test_hostile_symlink_inside_a_zarr_store_is_refused(coll, tmp_path):
    seg = manifest(coll)["segments"][0]["name"]
    store = coll / "segments" / seg / "radio.zarr"
    chunk = next(p for p in store.rglob("*") if p.is_file() and p.name != "zarr.json")
    shutil.move(str(chunk), tmp_path / "outside" / "chunk")
    chunk.symlink_to(tmp_path / "outside" / "chunk")
    with pytest.raises(CollectionError, match="symbolic link"):
        c = workbench.open(coll)
        c.read([0])


@pytest.mark.parametrize("bad", ["../../sentinel.txt", "../../outside", "/etc/passwd"])
def test_hostile_derived_path_is_refused_and_nothing_is_deleted(coll, bad):
    name = _array_name(manifest(coll))
    doctor(coll, lambda m: m["derived"][name].update(file=bad))
    open_fails(coll, "not a plain file name")
    open_fails(coll, "not a plain file name", mode="r+")  # would clean up orphans
    r = subprocess.run([sys.executable, "-m", "workbench.cli", "components", str(coll)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert sentinels_intact(coll)


def test_hostile_manifest_changed_under_an_open_collection_deletes_nothing(coll):
    """A writer that already holds the Collection re-reads the manifest under its lock."""
    c = workbench.open(coll, mode="r+")
    name = _array_name(manifest(coll))
    doctor(coll, lambda m: m["derived"][name].update(file="../../sentinel.txt"))
    with pytest.raises(CollectionError):
        c.remove_derived(name)
    with pytest.raises(CollectionError):
        compute_components(c)  # replaces the derived array "components"... after a reload
    doctor(coll, lambda m: m["derived"]["scores"].update(file="../../sentinel.txt"))
    with pytest.raises(CollectionError):
        c.add_columns("scores", {"score": np.zeros(6)})
    assert sentinels_intact(coll)


def test_hostile_derived_folder_symlinked_out_is_not_cleaned(coll, tmp_path):
    target = tmp_path / "outside"
    shutil.rmtree(coll / "derived")
    (coll / "derived").symlink_to(target)
    doctor(coll, lambda m: m.update(derived={}))
    open_fails(coll, "derived", mode="r+")
    assert sentinels_intact(coll) and sorted(os.listdir(target)) == ["keep.txt"]


def test_hostile_segments_folder_symlinked_out_is_not_cleaned(coll, tmp_path):
    target = tmp_path / "outside"
    seg = manifest(coll)["segments"][0]["name"]
    shutil.move(str(coll / "segments" / seg), target / seg)
    shutil.rmtree(coll / "segments")
    (coll / "segments").symlink_to(target)
    with pytest.raises(CollectionError):
        workbench.open(coll, mode="r+")
    assert sentinels_intact(coll) and (target / seg).is_dir()


def test_hostile_derived_file_symlinked_out_is_refused(coll, tmp_path):
    m = manifest(coll)
    f = m["derived"]["model"]["file"]
    shutil.move(str(coll / "derived" / f), tmp_path / "outside" / f)
    (coll / "derived" / f).symlink_to(tmp_path / "outside" / f)
    open_fails(coll, "resolves outside")


@pytest.mark.parametrize("change, words", [
    (lambda m: m.update(n_items=10**12), ["n_items"]),
    (lambda m: m.update(n_items=1e12), ["n_items"]),
    (lambda m: (m.update(n_items=10**12), m["segments"][0].update(n=10**12)), ["n_items"]),
    (lambda m: m.update(format_version="1"), ["format_version"]),
    (lambda m: m.pop("segments"), ["segments"]),
    (lambda m: m.update(segments={"a": 1}), ["segments"]),
    (lambda m: m["segments"][0].update(n="6"), ["segment"]),
    (lambda m: m.pop("products"), ["products"]),
    (lambda m: m["products"]["radio"].update(shape=[100000, 100000]), ["pixels per item"]),
    (lambda m: m["products"]["radio"].update(shape=[16]), ["shape"]),
    (lambda m: m["products"]["radio"].update(channels="I"), ["channels"]),
    (lambda m: m.update(products={"../x": m["products"]["radio"]}), ["product name"]),
    (lambda m: m["derived"]["model"].pop("file"), ["derived"]),
    (lambda m: m["derived"]["model"].update(type=["file"]), ["derived"]),
    (lambda m: m["derived"]["scores"].update(made_by="me"), ["made_by"]),
    (lambda m: m.update(description=7), ["description"]),
    (lambda m: m.update(format_version=99), ["newer workbench"]),
    (lambda m: m.update(catalog=None), ["no 'catalog'"]),
], ids=["n_items_1e12", "n_items_float", "n_items_consistent_huge", "format_version_str",
        "no_segments", "segments_dict", "segment_n_str", "no_products", "huge_shape",
        "short_shape", "channels_str", "product_traversal", "derived_no_file",
        "derived_type_list", "made_by_str", "description_int", "newer_version", "no_catalog"])
def test_hostile_manifest_values_are_refused_on_open(coll, change, words):
    doctor(coll, change)
    open_fails(coll, "collection.json", *words)


def test_hostile_shape_mismatch_is_refused_before_allocating(coll):
    doctor(coll, lambda m: m["products"]["radio"].update(shape=[8000, 8000]))
    c = workbench.open(coll)  # the manifest alone is consistent ...
    assert len(c) == 6
    with pytest.raises(CollectionError, match="radio.*shape"):
        c.read(range(6))  # ... but it would allocate 1.5 GB for arrays of 16 x 16
    with pytest.raises(CollectionError, match="shape"):
        c[0]


def test_hostile_item_counts_must_match_the_files(coll):
    doctor(coll, lambda m: (m.update(n_items=7), m["segments"][0].update(n=7)))
    open_fails(coll, "6 rows", "7 items")


@pytest.mark.parametrize("how", ["zeroed", "truncated", "garbage"])
def test_hostile_damaged_catalog_parquet_is_named(coll, how):
    p = coll / manifest(coll)["catalog"]
    data = p.read_bytes()
    p.write_bytes({"zeroed": b"\0" * len(data), "truncated": data[: len(data) // 2],
                   "garbage": b"PAR1" + os.urandom(200) + b"PAR1"}[how])
    e = open_fails(coll, "catalog")
    assert p.name in str(e)


def test_hostile_damaged_derived_parquet_and_zarr_are_named(coll):
    m = manifest(coll)
    cols = coll / "derived" / m["derived"]["scores"]["file"]
    cols.write_bytes(b"\0" * 64)
    with pytest.raises(CollectionError, match=cols.name):
        _ = workbench.open(coll).catalog
    arr = m["derived"][_array_name(m)]["file"]
    (coll / "derived" / f"{arr}.ids.parquet").write_bytes(b"junk")
    with pytest.raises(CollectionError, match="ids"):
        workbench.open(coll).derived_array(_array_name(m))


def test_hostile_corrupt_zarr_chunk_is_named(coll):
    seg = manifest(coll)["segments"][0]["name"]
    store = coll / "segments" / seg / "radio.zarr"
    for chunk in (p for p in store.rglob("*") if p.is_file() and p.name != "zarr.json"):
        chunk.write_bytes(b"\x01" * 40)
    with pytest.raises(CollectionError, match="radio.zarr"):
        workbench.open(coll).read([0])
    (store / "zarr.json").write_text("{not json")
    with pytest.raises(CollectionError, match="zarr.json is corrupt"):
        workbench.open(coll)[0]


class _Boom:
    def __reduce__(self):
        return (os.system, (f"touch {_Boom.flag}",))


def test_hostile_zarr_with_a_pickle_codec_never_runs_it(coll, tmp_path):
    _Boom.flag = tmp_path / "pwned"
    seg = manifest(coll)["segments"][0]["name"]
    store = coll / "segments" / seg / "radio.zarr"
    meta = json.loads((store / "zarr.json").read_text())
    # Zarr v3 with a codec that is not on the allow-list
    meta["codecs"] = [{"name": "numcodecs.pickle"}]
    (store / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(CollectionError, match="not allowed"):
        workbench.open(coll).read([0])
    # Zarr v2 (.zarray) with a pickle filter and a pickled chunk
    shutil.rmtree(store)
    store.mkdir()
    (store / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [6, 1, 16, 16], "chunks": [6, 1, 16, 16], "dtype": "|O",
        "compressor": None, "fill_value": None, "order": "C", "filters": [{"id": "pickle"}]}))
    (store / "0.0.0.0").write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(CollectionError, match="format 2"):
        workbench.open(coll).read([0])
    assert not _Boom.flag.exists()


def test_hostile_manifest_symlink_and_oversized_manifest(coll, tmp_path):
    real = tmp_path / "outside" / "collection.json"
    shutil.move(str(coll / "collection.json"), real)
    (coll / "collection.json").symlink_to(real)
    open_fails(coll, "resolves outside")
    (coll / "collection.json").unlink()
    (coll / "collection.json").write_text("[" * 100000 + "]" * 100000)
    open_fails(coll, "corrupt")


def test_hostile_info_cli_is_one_line_exit_2(coll):
    doctor(coll, lambda m: m.update(catalog="../../../etc/passwd"))
    r = subprocess.run([sys.executable, "-m", "workbench.cli", "info", str(coll)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error:")
    assert "collection.json" in r.stderr and "catalog" in r.stderr


def test_hostile_lock_file_symlink_is_not_followed(coll, tmp_path):
    target = tmp_path / "outside" / "created-by-lock"
    (coll / ".lock").unlink()
    (coll / ".lock").symlink_to(target)
    with pytest.raises(CollectionError, match="symbolic link"):
        workbench.open(coll, mode="r+")
    assert not target.exists()


def test_hostile_orphan_cleanup_removes_links_not_their_targets(coll, tmp_path):
    keep = tmp_path / "outside" / "keep.txt"
    (coll / "segments" / "seg-dead").symlink_to(tmp_path / "outside")
    (coll / "derived" / "old.zarr").symlink_to(tmp_path / "outside")
    (coll / "catalog-999999.parquet").symlink_to(keep)
    (coll / ".tmp-x").symlink_to(keep)
    c = workbench.open(coll, mode="r+")
    assert len(c) == 6
    for p in ("segments/seg-dead", "derived/old.zarr", "catalog-999999.parquet", ".tmp-x"):
        assert not os.path.lexists(coll / p)
    assert sentinels_intact(coll)


def test_hostile_good_collection_still_opens_and_reads(coll):
    c = workbench.open(coll, mode="r+")
    assert len(c) == 6 and c.read(range(6))["radio"].shape == (6, 1, 16, 16)
    assert c.derived_array("truth_components").shape == (6, 16, 16)
    assert list(c.catalog["score"]) == list(np.arange(6.0))
    assert c.derived_file("model") == b"not a pickle"
    c.remove_derived("scores")
    assert "score" not in workbench.open(coll).catalog.columns
    assert issubclass(CollectionError, WorkbenchError) and _manifest.MAX_ITEM_PIXELS == 64 * 2**20
