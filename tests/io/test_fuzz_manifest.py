"""Fuzzing the manifest of a real small Collection: whatever the mutation (keys dropped,
types changed, values changed, path traversal inserted), opening and reading either works
or raises a workbench error, and the folder is byte-identical afterwards."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench
from workbench.errors import WorkbenchError
from workbench.sims.radio import simulate_radio

TRAVERSAL = ["../x", "../../sentinel.txt", "/etc/passwd", "..", ".", "", "a/b", "seg/../..",
             "..\\x", "x\x00y", "~/x", "catalog-000001.parquet", "segments"]

VALUES = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-2**63, max_value=2**63),
    st.sampled_from([0, 1, -1, 6, 7, 2**31, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(TRAVERSAL),
    st.lists(st.integers(min_value=-5, max_value=100000), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("fuzzbase") / "coll"
    c = simulate_radio(p, n=4, seed=3, size=16, infrared=False)
    c.add_columns("scores", {"score": np.arange(4.0)})
    c.add_file("model", b"bytes", suffix=".bin")
    return p


def _paths(node, prefix=()):
    """Every (path, value) in a JSON tree, the root included."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


def _snapshot(folder: Path) -> dict:
    out = {}
    for top, dirs, files in os.walk(folder.parent):
        for name in dirs + files:
            p = Path(top, name)
            out[str(p.relative_to(folder.parent))] = (
                "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def _exercise(path: Path) -> None:
    c = workbench.open(path)
    n = len(c)
    c.info()
    cat = c.catalog
    assert len(cat) == n
    if n:
        c.read(range(n))
        c[0]
        c[c.ids[-1]]
    for name, rec in c.derived.items():
        if rec["type"] == "array":
            c.derived_array(name)
        elif rec["type"] == "file":
            c.derived_file(name)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_manifest_mutations_end_in_success_or_a_workbench_error(base, data):
    m0 = json.loads((base / "collection.json").read_text())
    m = copy.deepcopy(m0)
    for _ in range(data.draw(st.integers(1, 3), label="n_mutations")):
        paths = [p for p, _ in _paths(m)]
        path = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(st.sampled_from(["drop", "set", "traverse"]), label="action")
        if not path:
            if action == "drop":
                m = {}
            continue
        parent, key = _get(m, path[:-1]), path[-1]
        if action == "drop":
            del parent[key]
        elif action == "set":
            parent[key] = data.draw(VALUES, label="value")
        else:
            parent[key] = data.draw(st.sampled_from(TRAVERSAL), label="traversal")
    with tempfile.TemporaryDirectory() as tmp:
        coll = Path(tmp) / "box" / "coll"
        shutil.copytree(base, coll)
        (coll.parent / "sentinel.txt").write_text("precious")
        (coll / "collection.json").write_text(json.dumps(m))
        before = _snapshot(coll)
        try:
            _exercise(coll)
        except WorkbenchError as exc:
            assert "\n" not in str(exc)
        assert _snapshot(coll) == before


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_fuzz_manifest_bytes_are_refused_as_workbench_errors(base, raw, tmp_path_factory):
    coll = tmp_path_factory.mktemp("raw") / "coll"
    shutil.copytree(base, coll)
    (coll / "collection.json").write_bytes(raw)
    before = _snapshot(coll)
    with pytest.raises(WorkbenchError):
        workbench.open(coll)
    assert _snapshot(coll) == before
