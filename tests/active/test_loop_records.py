"""Round records are written by the package's one JSON rule (core.jsonable): byte for byte
what the loop's former converter wrote for numpy values, and a clear error (not a silent
``str()``) for a value with no JSON form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.active.loop import ActiveLoop, record_bytes


def _former(o):  # the loop's own converter before it used core.jsonable
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def test_numpy_values_are_written_as_before():
    rec = {"round": np.int64(3), "strategy": np.str_("margin"), "arch": "head",
           "metrics": {"accuracy": np.float32(0.8125), "f1": np.float64(0.75),
                       "confusion": np.array([[3, 1], [0, 4]]), "nan": float("nan"),
                       "per_class": {"bar": np.float32(0.1), "point": 0.9}},
           "history": [{"epoch": 1, "loss": np.float32(0.693)}], "ok": np.bool_(True),
           "saving_ci": (np.float64(-0.05), np.float64(0.2)), "n": np.uint8(7),
           "temperature": np.float16(1.5), "probs": np.linspace(0, 1, 3, dtype=np.float32),
           "classes": ["bar", "point"], "none": None, "path": Path("/data/survey")}
    assert record_bytes(rec) == json.dumps(rec, indent=1, default=_former).encode()


def test_a_value_with_no_json_form_is_an_error_naming_where():
    class Model:
        pass

    with pytest.raises(TypeError, match=r"al-round-0002\['metrics'\]\['model'\]: objects of "
                                        r"type Model have no JSON form"):
        record_bytes({"round": 2, "metrics": {"model": Model()}}, "al-round-0002")


def test_a_recorded_round_is_stored_by_record_bytes(tmp_path):
    pytest.importorskip("torch")
    from tests.active.conftest import make_blobs_collection

    coll = make_blobs_collection(tmp_path / "b", n=40)
    loop = ActiveLoop(coll, label_column="truth", queue_size=4, epochs=2)
    loop.run_round()
    rec = loop.record(1)
    stored = coll.derived_file(loop.round_name(1))
    assert stored == record_bytes(rec)  # same rule, and a float round-trips exactly
    assert json.loads(stored)["round"] == 1 and isinstance(rec["metrics"], dict)
