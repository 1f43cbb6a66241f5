"""`workbench al simulate --features morphology`: per-side morphology as the features, and
its label-free hybrid score as the outlier score of the rare-class search."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from workbench.cli import cli
from workbench.io.collection import Collection, ProductSpec

S = 48
C = (S - 1) / 2


def _blob(yy, xx, x0, y0, amp, s=1.5):
    return amp * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * s * s))


def _side(kind, sign, angle, yy, xx, length=14):
    img = np.zeros((S, S))
    for d in np.arange(2, length, 1.2):
        amp = 20 * (1 - d / length) + 3 if kind == "jet" else 3.0
        img += _blob(yy, xx, C + sign * d * np.cos(angle), C + sign * d * np.sin(angle), amp)
    if kind == "lobe":
        d = length - 2
        img += _blob(yy, xx, C + sign * d * np.cos(angle), C + sign * d * np.sin(angle), 40.0)
    return img


def _radio_galaxies(path, n_each=30, n_hybrid=10, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:S, :S]
    truth = ["FRI"] * n_each + ["FRII"] * n_each + ["hybrid"] * n_hybrid
    sides = {"FRI": ("jet", "jet"), "FRII": ("lobe", "lobe"), "hybrid": ("lobe", "jet")}
    imgs = np.empty((len(truth), 1, S, S), np.float32)
    for i, t in enumerate(truth):
        a = rng.uniform(0, np.pi)
        imgs[i, 0] = (rng.normal(0, 1, (S, S)) + _blob(yy, xx, C, C, 25.0)
                      + _side(sides[t][0], 1, a, yy, xx) + _side(sides[t][1], -1, a, yy, xx))
    m = len(truth)
    cat = pd.DataFrame({"id": [f"g{i:03d}" for i in range(m)], "ra": rng.uniform(0, 10, m),
                        "dec": rng.uniform(0, 10, m), "pixscale_arcsec": 2.0,
                        "source_file": "synthetic", "source_hdu": 0, "truth": truth,
                        "size_arcsec": 60.0})
    coll = Collection.create(path, {"img": ProductSpec(channels=("I",), shape=(S, S))})
    coll.append(cat, {"img": imgs}, kind="image")
    return coll


def _simulate(coll, out, features):
    return CliRunner().invoke(cli, ["al", "simulate", str(coll.path), "--label-column", "truth",
                                    "--strategies", "random", "--budget", "20", "--step", "5",
                                    "--seeds", "2", "--head", "logistic", "--features",
                                    features, "--rare", "hybrid", "--rare-k", "5",
                                    "-o", str(out)])


def test_morphology_features_rank_hybrids_first(tmp_path):
    coll = _radio_galaxies(tmp_path / "c")
    for features in ("morphology", "morphology:size_arcsec"):
        out = tmp_path / f"{features.replace(':', '_')}.json"
        r = _simulate(coll, out, features)
        assert r.exit_code == 0, r.output
        res = json.loads(out.read_text())
        assert res["features"] == features
        rare = res["rare"]
        assert rare["settings"]["anomaly_method"] == "given"
        spent = rare["labels_spent"]
        # 10 random labels, then the hybrid score: the 5th hybrid within the next 10
        assert all(v <= 20 for v in spent["anomaly_first"].values()), spent
        assert np.mean(list(spent["random"].values())) > 20


def test_morphology_size_column_must_exist(tmp_path):
    coll = _radio_galaxies(tmp_path / "c", n_each=6, n_hybrid=6)
    r = _simulate(coll, tmp_path / "x.json", "morphology:nope")
    assert r.exit_code != 0
    msg = str(r.exception)
    assert "needs the catalog columns 'nope' (arcsec) and 'pixscale_arcsec'" in msg
    assert str(coll.path) in msg  # names the collection
