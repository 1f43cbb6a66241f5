"""`workbench al simulate -o al.json`: the fields it keeps, the intervals and the rare part."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from workbench.active.evidence import labels_until
from workbench.cli import cli
from workbench.io.collection import Collection, ProductSpec


def _three_classes(path, n=90, n_ring=12, size=16, seed=0):
    """Point and bar images, and a few rings (the rare class)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - size / 2
    r = np.hypot(xx, yy)
    truth = np.array(["point", "bar"] * (n // 2) + ["ring"] * n_ring)
    imgs = rng.normal(0, 0.3, (len(truth), 1, size, size)).astype(np.float32)
    for i, t in enumerate(truth):
        imgs[i, 0] += {"point": np.exp(-r**2 / 6), "bar": np.exp(-yy**2 / 2) * (np.abs(xx) < 6),
                       "ring": 3 * np.exp(-(r - 5) ** 2 / 2)}[t]
    m = len(truth)
    cat = pd.DataFrame({"id": [f"s{i:03d}" for i in range(m)], "ra": rng.uniform(0, 10, m),
                        "dec": rng.uniform(0, 10, m), "pixscale_arcsec": 1.0,
                        "source_file": "synthetic", "source_hdu": 0, "truth": truth})
    coll = Collection.create(path, {"img": ProductSpec(channels=("I",), shape=(size, size))})
    coll.append(cat, {"img": imgs}, kind="image")
    return coll


@pytest.mark.slow
def test_al_json_keeps_its_fields_and_adds_intervals_and_rare(tmp_path):
    coll = _three_classes(tmp_path / "c")
    out = tmp_path / "al.json"
    r = CliRunner().invoke(cli, ["al", "simulate", str(coll.path), "--label-column", "truth",
                                 "--strategies", "random,margin,badge", "--budget", "40",
                                 "--step", "10", "--seeds", "3", "--head", "logistic",
                                 "--rare", "ring", "--rare-k", "5", "-o", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    # the fields it had
    assert {"settings", "curves", "mean", "labels_needed", "seconds", "collection",
            "label_column", "features"} <= set(res)
    assert set(res["curves"]) == {"random", "margin", "badge"}
    assert set(res["curves"]["margin"]) == {"0", "1", "2"}
    table = res["labels_needed"]["table"]
    for s in ("random", "margin", "badge"):
        row = table[s]
        assert {"labels", "saving", "final_accuracy", "saving_ci", "area", "area_ci"} <= set(row)
        lo, hi = row["saving_ci"]
        assert lo <= hi
    assert table["random"]["saving_ci"] == [0.0, 0.0]
    assert len(res["mean"]["margin"]["accuracy_ci"]) == 2
    # the rare section: counts per seed, and a summary against random
    rare = res["rare"]
    assert rare["rare_class"] == "ring" and rare["k"] == 5 and rare["n_rare"] == 12
    assert set(rare["labels_spent"]) == {"random", "anomaly_first", "active_anomaly",
                                         "cluster_balanced"}
    for s, per in rare["labels_spent"].items():
        assert all(v is None or 5 <= v <= rare["n_items"] for v in per.values())
        assert rare["summary"]["table"][s]["per_seed"] == [per[k] for k in ("0", "1", "2")]
    assert "ring" in r.output and "fewer than random" in r.output


def test_rare_class_must_exist(tmp_path):
    coll = _three_classes(tmp_path / "c")
    r = CliRunner().invoke(cli, ["al", "simulate", str(coll.path), "--label-column", "truth",
                                 "--rare", "hybrid", "-o", str(tmp_path / "x.json")])
    assert r.exit_code != 0 and "hybrid" in str(r.exception) + r.output
    assert not (tmp_path / "x.json").exists()


def test_labels_until_matches_a_hand_count():
    seq = np.array(["point", "ring", "bar", "ring", "ring"])
    assert labels_until(seq, "ring", 2) == 4
