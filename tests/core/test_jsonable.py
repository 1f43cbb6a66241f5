"""One JSON conversion for answers, drafts, source details and provenance records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from pathlib import Path

import numpy as np
import pytest

from workbench.core.errors import StoreError
from workbench.core.jsonable import jsonable
from workbench.core.provenance import made_by
from workbench.io.labels._db import jsonable as store_jsonable
from workbench.labeling.steps import jsonable as steps_jsonable


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Config:
    epochs: int
    path: Path


def test_jsonable_converts_numpy_paths_times_and_containers():
    value = {
        "f": np.float32(1.5), "i": np.int64(7), "b": np.bool_(True),
        "arr": np.arange(3, dtype=np.int16), "obj": np.array([Path("/a"), np.float64(2)]),
        "path": Path("/data/x.fits"), "when": dt.datetime(2026, 1, 2, 3, 4, 5),
        "day": dt.date(2026, 1, 2), "np_time": np.datetime64("2026-01-02T03:04"),
        "tuple": (1, "a"), "set": {3, 1, 2}, 5: "int key", None: "none key",
        "enum": Colour.RED, "config": Config(3, Path("m.pt")), "nan": float("nan"),
    }
    out = jsonable(value)
    assert out["f"] == 1.5 and type(out["f"]) is float
    assert out["i"] == 7 and type(out["i"]) is int
    assert out["b"] is True
    assert out["arr"] == [0, 1, 2] and out["obj"] == ["/a", 2.0]
    assert out["path"] == "/data/x.fits"
    assert out["when"] == "2026-01-02T03:04:05" and out["day"] == "2026-01-02"
    assert out["np_time"] == "2026-01-02T03:04"
    assert out["tuple"] == [1, "a"] and out["set"] == [1, 2, 3]
    assert out["5"] == "int key" and out["null"] == "none key"
    assert out["enum"] == "red" and out["config"] == {"epochs": 3, "path": "m.pt"}
    assert np.isnan(out["nan"])
    # plain JSON types only: a JSON round trip changes nothing
    assert json.loads(json.dumps(out))["config"] == out["config"]


def test_jsonable_refuses_unknown_objects_naming_where():
    class Model:
        pass

    with pytest.raises(TypeError, match=r"params\['model'\]\[1\]: objects of type Model"):
        jsonable({"model": [1, Model()]}, where="params")
    with pytest.raises(TypeError, match="key of type tuple"):
        jsonable({(1, 2): "x"})
    with pytest.raises(TypeError, match="bytes"):
        jsonable(b"raw")


def test_store_steps_and_provenance_share_the_conversion():
    value = {"x": np.float64(0.25), "p": Path("/a/b"), "n": [np.int32(1)]}
    want = {"x": 0.25, "p": "/a/b", "n": [1]}
    assert store_jsonable(value) == steps_jsonable(value) == jsonable(value) == want
    assert made_by("tool", "1", **value)["params"] == want
    # one fallback everywhere: no str()/repr() of unknown objects
    with pytest.raises(StoreError, match="no JSON form"):
        store_jsonable({"detail": object()})
    with pytest.raises(TypeError, match="parameters of tool"):
        made_by("tool", "1", model=object())
    with pytest.raises(TypeError):
        steps_jsonable({"pending": object()})
