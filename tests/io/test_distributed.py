"""open_rows: a task's view of a Collection, opened once per process and manifest in the
documented, bounded OPEN_COLLECTIONS cache; a commit gives the next task fresh data."""

from __future__ import annotations

import numpy as np
import pandas as pd

import workbench.io.collection as C
from workbench.io.distributed import OPEN_COLLECTIONS, open_rows


def _coll(path, n=4):
    coll = C.create(path, {"radio": C.ProductSpec(("radio",), (4, 4), "", "sky")})
    coll.append(pd.DataFrame({"id": [f"i{k}" for k in range(n)]}),
                {"radio": np.arange(n * 16, dtype=np.float32).reshape(n, 1, 4, 4)}, kind="radio")
    return coll


def test_open_rows_shares_one_root_until_the_manifest_changes(tmp_path):
    OPEN_COLLECTIONS.clear()
    try:
        coll = _coll(tmp_path / "a")
        v1 = open_rows(coll.path, [2, 0])
        v2 = open_rows(coll.path, [1])
        assert v1.root is v2.root and len(OPEN_COLLECTIONS) == 1
        assert v1.ids == ["i2", "i0"] and v2.ids == ["i1"]
        coll.add_columns("scores", {"score": [1.0, 2.0, 3.0, 4.0]})
        v3 = open_rows(coll.path, [3])
        assert v3.root is not v1.root and list(v3.catalog["score"]) == [4.0]
        other = _coll(tmp_path / "b", n=2)
        v4 = open_rows(other.path, [1])
        assert len(OPEN_COLLECTIONS) == OPEN_COLLECTIONS.max_entries == 1
        assert v4.ids == ["i1"] and open_rows(coll.path, [3]).root is not v3.root
        OPEN_COLLECTIONS.clear()
        assert len(OPEN_COLLECTIONS) == 0
    finally:
        OPEN_COLLECTIONS.clear()
