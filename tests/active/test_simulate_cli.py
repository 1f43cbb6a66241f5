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
                                 "--strategies", "random,margin,badge,margin+typical",
                                 "--budget", "40",
                                 "--step", "10", "--seeds", "3", "--head", "logistic",
                                 "--rare", "ring", "--rare-k", "5", "-o", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    # the fields it had
    assert {"settings", "curves", "mean", "labels_needed", "seconds", "collection",
            "label_column", "features"} <= set(res)
    assert set(res["curves"]) == {"random", "margin", "badge", "margin+typical"}
    assert set(res["curves"]["margin"]) == {"0", "1", "2"}
    table = res["labels_needed"]["table"]
    for s in ("random", "margin", "badge", "margin+typical"):
        row = table[s]
        assert {"labels", "saving", "final_accuracy", "saving_ci", "area", "area_ci",
                "saving_tail", "saving_tail_ci"} <= set(row)
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
    # the console prints the second reading beside the first, as the JSON holds it
    line = next(ln for ln in r.output.splitlines() if ln.strip().startswith("margin+typical"))
    tail = table["margin+typical"]
    assert f"last-points target {tail['saving_tail']} (95% CI {tail['saving_tail_ci']})" in line
    assert f"random's last points' mean {res['labels_needed']['target_tail']}" in r.output


def test_rare_class_must_exist(tmp_path):
    coll = _three_classes(tmp_path / "c")
    r = CliRunner().invoke(cli, ["al", "simulate", str(coll.path), "--label-column", "truth",
                                 "--rare", "hybrid", "-o", str(tmp_path / "x.json")])
    assert r.exit_code != 0 and "hybrid" in str(r.exception) + r.output
    assert not (tmp_path / "x.json").exists()


def test_labels_until_matches_a_hand_count():
    seq = np.array(["point", "ring", "bar", "ring", "ring"])
    assert labels_until(seq, "ring", 2) == 4


@pytest.mark.slow
def test_rotation_average_features_do_not_change_when_every_image_is_turned(tmp_path):
    """--rotation-average: the same curves on a copy of the collection with every image
    turned by 90 degrees (a plain embedding would give other features, so other picks)."""
    from workbench.learn.train import train_ssl

    coll = _three_classes(tmp_path / "c", n=40, n_ring=6)
    ck = tmp_path / "enc.safetensors"
    train_ssl(coll, out=ck, product="img", device="cpu", epochs=1, size=16, batch_size=32,
              seed=0, encoder={"width": 4, "depth": [1, 1], "out_dim": 8})
    imgs = coll.read(np.arange(len(coll)), products=["img"])["img"]
    turned = Collection.create(tmp_path / "t", {"img": ProductSpec(channels=("I",),
                                                                   shape=(16, 16))})
    turned.append(coll.catalog, {"img": np.rot90(imgs, 1, axes=(-2, -1)).copy()}, kind="image")
    outs = []
    for c in (coll, turned):
        out = tmp_path / f"{c.path.name}.json"
        r = CliRunner().invoke(cli, ["al", "simulate", str(c.path), "--label-column", "truth",
                                     "--strategies", "random,margin", "--budget", "20",
                                     "--step", "5", "--seeds", "1", "--head", "logistic",
                                     "--rotation-average", str(ck), "-o", str(out)])
        assert r.exit_code == 0, r.output
        outs.append(json.loads(out.read_text()))
    assert outs[0]["features"].startswith("dihedral-pooled")
    for s in ("random", "margin"):
        np.testing.assert_allclose(outs[0]["curves"][s]["0"]["accuracy"],
                                   outs[1]["curves"][s]["0"]["accuracy"])
