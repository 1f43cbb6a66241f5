"""workbench anomalies (issue 7): stores anomaly scores, prints the most unusual items."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from _embedding_steps import embedded_collection, run  # noqa: E402

import workbench  # noqa: E402


def test_anomalies_store_scores_and_print_the_top_items(tmp_path, capsys):
    coll = embedded_collection(tmp_path, capsys)
    out = run(["anomalies", str(coll.path), "--method", "knn", "--top", "3"], capsys)
    lines = out.out.strip().splitlines()
    assert lines[0] == "stored anomaly-knn" and len(lines) == 4
    ranks, scores, ids = zip(*(line.split() for line in lines[1:]))
    cat = workbench.open(coll.path).catalog
    assert "anomaly-knn" in workbench.open(coll.path).derived
    top = cat.sort_values("anomaly_knn", ascending=False, kind="stable").head(3)
    assert ranks == ("1", "2", "3") and list(ids) == list(top["id"])
    np.testing.assert_allclose([float(s) for s in scores], top["anomaly_knn"], atol=1e-4)
