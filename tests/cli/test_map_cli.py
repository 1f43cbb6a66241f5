"""workbench map (issue 7): a 2-D map and clusters of the stored embedding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from _embedding_steps import embedded_collection, run  # noqa: E402

import workbench  # noqa: E402
from workbench.cli import main  # noqa: E402
from workbench.io.collection import ProductSpec  # noqa: E402


def test_map_with_clusters_stores_the_map_and_cluster_columns(tmp_path, capsys):
    coll = embedded_collection(tmp_path, capsys)
    run(["map", str(coll.path), "--method", "pca", "--cluster", "hdbscan",
         "--min-cluster-size", "5"], capsys)
    info = json.loads(run(["info", str(coll.path), "--json"], capsys).out)
    assert {"map-pca", "clusters"} <= set(info["derived"])
    assert info["derived"]["map-pca"]["made_by"]["params"]["embedding"].startswith("embedding-")
    cat = workbench.open(coll.path).catalog
    assert {"pca_x", "pca_y", "cluster", "outlier_glosh"} <= set(cat.columns)
    assert np.isfinite(cat[["pca_x", "pca_y"]].to_numpy()).all()


def test_map_without_embeddings_says_what_to_do(tmp_path, capsys):
    coll = workbench.create(tmp_path / "c", {"radio": ProductSpec(("1.4GHz",), (8, 8))})
    coll.append(pd.DataFrame({"id": ["a", "b", "c"]}), {"radio": np.zeros((3, 1, 8, 8))},
                kind="radio")
    with pytest.raises(SystemExit) as exc:
        main(["map", str(coll.path), "--method", "pca"])
    assert exc.value.code == 2
    assert "workbench embed" in capsys.readouterr().err
