"""Consensus on hand-worked cases: majority with ties, Dawid-Skene with gold, RGZ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.core.errors import SchemeError
from workbench.io.labels import LabelStore
from workbench.labeling.consensus import (
    campaign_consensus,
    dawid_skene,
    kde_peak,
    majority,
    rgz_consensus,
)


def _ann(rows):
    """rows: (item, annotator, answers) -> annotations DataFrame as the store gives."""
    return pd.DataFrame({"id": np.arange(1, len(rows) + 1), "item_id": [r[0] for r in rows],
                         "annotator": [r[1] for r in rows], "answers": [r[2] for r in rows]})


def fr(m, c="confident"):
    return {"morphology": m, "confidence": c}


def test_majority_with_agreement_and_ties():
    ann = _ann([("A", "u1", fr("FRI")), ("A", "u2", fr("FRI", "uncertain")),
                ("A", "u3", fr("FRII", "uncertain")),
                ("B", "u1", fr("FRI")), ("B", "u2", fr("FRII")),
                ("C", "u1", fr("FRII")), ("C", "u2", fr("FRI"))])
    df = majority(ann, "fr-morphology", item_ids=["C", "B", "A", "D"]).set_index("item_id")
    assert list(df.index) == ["C", "B", "A"]  # D has no annotations
    assert df.loc["A", "morphology"] == "FRI" and df.loc["A", "morphology_agreement"] == 2 / 3
    assert df.loc["A", "confidence"] == "uncertain" and not df.loc["A", "morphology_tie"]
    assert df.loc["A", "n_annotations"] == 3 and df.loc["A", "morphology_votes"] == 3
    # ties are flagged and go to the answer listed first in the scheme (FRI before FRII),
    # whichever was voted first
    for item in ("B", "C"):
        assert df.loc[item, "morphology_tie"] and df.loc[item, "morphology"] == "FRI"
        assert df.loc[item, "morphology_agreement"] == 0.5
    assert (df["label"] == df["morphology"]).all()


def test_majority_of_nothing_is_empty_and_typed():
    df = majority(_ann([]), "transient")
    assert len(df) == 0 and df["class_agreement"].dtype == np.float64
    assert str(df["item_id"].dtype) == "string"


def _skill_case():
    rng = np.random.default_rng(0)
    truth = {f"i{k}": ("pulsar" if k % 3 else "noise") for k in range(60)}
    rows = []
    for it, t in truth.items():
        rows.append((it, "expert", {"class": t}))
        # two careless annotators who answer 'noise' 90% of the time
        for who in ("lazy1", "lazy2"):
            rows.append((it, who, {"class": "noise" if rng.random() < 0.9 else t}))
    return truth, _ann(rows)


def test_dawid_skene_finds_the_skilled_annotator_with_gold():
    truth, ann = _skill_case()
    maj = majority(ann, "transient").set_index("item_id")
    wrong_majority = sum(maj.loc[i, "label"] != t for i, t in truth.items())
    assert wrong_majority >= 20  # the lazy pair outvote the expert on most pulsars
    gold = {i: truth[i] for i in list(truth)[:10]}
    ds = dawid_skene(ann, "transient", gold=gold).set_index("item_id")
    assert all(ds.loc[i, "label"] == t for i, t in truth.items())
    assert ds.loc[list(gold), "gold"].all() and not ds["gold"].iloc[10:].any()
    sk = ds.attrs["skill"]
    assert sk["expert"] > 0.95 and sk["expert"] > sk["lazy1"] + 0.3
    assert ds.attrs["gold_accuracy"]["expert"] == 1.0
    assert ds.attrs["gold_accuracy"]["lazy1"] < 0.8
    probs = ds[[c for c in ds.columns if c.startswith("p_")]].to_numpy()
    assert np.allclose(probs.sum(1), 1.0)


def test_one_coin_dawid_skene_beats_majority_against_random_spammers():
    rng = np.random.default_rng(1)
    classes = ["pulsar", "frb", "noise", "unsure"]
    truth = {f"i{k}": classes[k % 4] for k in range(80)}
    rows = []
    for it, t in truth.items():
        rows.append((it, "expert", {"class": t if rng.random() < 0.9 else classes[0]}))
        for who in ("spam1", "spam2"):
            rows.append((it, who, {"class": str(rng.choice(classes))}))
    ann = _ann(rows)

    def acc(df):
        return np.mean([truth[i] == lab for i, lab in zip(df["item_id"], df["label"])])

    # agreement alone cannot tell one expert from two random spammers: gold items can
    gold = {i: truth[i] for i in list(truth)[:8]}
    one = dawid_skene(ann, "transient", model="one-coin", gold=gold)
    assert acc(one) >= 0.9 > acc(majority(ann, "transient")) + 0.2
    assert one.attrs["skill"]["expert"] > one.attrs["skill"]["spam1"] + 0.4
    assert one.attrs["model"] == "one-coin"


def test_dawid_skene_refuses_non_choice_questions():
    with pytest.raises(SchemeError, match="item-level choice"):
        dawid_skene(_ann([]), "rgz")


def src(comps, host, morph):
    return {"components": comps, "host": None if host is None else {"x": host[0], "y": host[1]},
            "morphology": morph}


def test_rgz_consensus_hand_worked():
    ann = _ann([
        ("X", "a1", {"sources": [src([1, 2], (10, 10), "FRII"), src([3], None, "compact")]}),
        ("X", "a2", {"sources": [src([3], None, "compact"), src([2, 1], (10.5, 10), "FRII")]}),
        ("X", "a3", {"sources": [src([1], None, "compact"), src([2], None, "compact"),
                                 src([3], None, "compact")]}),
        ("X", "a4", {"sources": [src([1, 2], (11, 10.2), "FRI"), src([3], (40, 40), "compact")]}),
        ("Y", "a1", {"no_contours": True}), ("Y", "a2", {"no_contours": True}),
        ("Y", "a3", {"sources": [src([1], None, "compact")]}), ("Y", "a4", {"no_contours": True}),
        ("Z", "a1", {"sources": [src([1], (5, 5), "compact")]}),
        ("Z", "a2", {"sources": [src([1, 2], (6, 6), "FRII")]}),
    ])
    # the store normalises component order; do the same here
    for a in ann["answers"]:
        for s in a.get("sources", []):
            s["components"] = sorted(s["components"])
    df = rgz_consensus(ann, "rgz")
    x = df[df["item_id"] == "X"].set_index("source")
    assert list(x["components"]) == ["1,2", "3"]
    assert (x["consensus_level"] == 0.75).all() and (x["n_winning"] == 3).all()
    assert not x["tie"].any()
    # host: KDE peak of the three clicks of the winners, near their centre
    assert x.loc[0, "host_x"] == pytest.approx(10.5, abs=0.05)
    assert x.loc[0, "host_y"] == pytest.approx(10.0667, abs=0.05)
    assert x.loc[0, "n_host_clicks"] == 3 and x.loc[0, "host_level"] == 1.0
    assert x.loc[0, "morphology"] == "FRII" and x.loc[0, "morphology_agreement"] == 2 / 3
    # source 3: two of three winners said "no host" -> no host
    assert np.isnan(x.loc[1, "host_x"]) and x.loc[1, "no_host_fraction"] == pytest.approx(2 / 3)
    y = df[df["item_id"] == "Y"]
    assert len(y) == 1 and y["no_contours"].iloc[0] and y["consensus_level"].iloc[0] == 0.75
    assert y["source"].isna().all()
    z = df[df["item_id"] == "Z"]
    assert len(z) == 1 and z["tie"].iloc[0] and z["consensus_level"].iloc[0] == 0.5
    assert z["components"].iloc[0] == "1"  # the combination voted first wins a tie


def test_kde_peak_prefers_the_dense_cluster():
    pts = [(0, 0), (0.5, 0), (0, 0.5), (20, 20), (20.2, 20)]
    x, y = kde_peak(pts, bandwidth=2.0)
    assert abs(x - 0.1667) < 0.05 and abs(y - 0.1667) < 0.05


def test_campaign_consensus_through_the_store(tmp_path):
    s = LabelStore(tmp_path / "l.sqlite")
    camp = s.create_campaign("c", "rgz", ["X", "Y"], retire=3)
    camp.annotate("X", {"sources": [src([2, 1], (3, 4), "FRII")]}, annotator="a")
    camp.annotate("X", {"sources": [src([1, 2], (3.2, 4), "FRII")]}, annotator="b")
    bad = camp.annotate("X", {"no_contours": True}, annotator="c")
    camp.annotate("X", {"sources": [src([1], None, "compact")]}, annotator="d")
    s.retract(bad, annotator="c")
    df = campaign_consensus(camp)
    assert list(df["item_id"]) == ["X"]
    assert df["components"].iloc[0] == "1,2" and df["consensus_level"].iloc[0] == 2 / 3
    with pytest.raises(SchemeError, match="component id"):
        camp.annotate("Y", {"sources": [src([0], None, "compact")]}, annotator="a")


def _colluders(seed=0, n=90):
    """Two honest annotators (85% right) and three spammers who always give the same random
    answer as each other: they outvote the honest pair and agree perfectly."""
    rng = np.random.default_rng(seed)
    classes = ["FRI", "FRII", "hybrid"]
    truth = {f"i{k:03d}": classes[k % 3] for k in range(n)}
    rows = []
    for it, t in truth.items():
        for who in ("ann", "ben"):
            ok = rng.random() < 0.85
            rows.append((it, who, fr(t if ok else str(rng.choice([c for c in classes
                                                                     if c != t])))))
        spam = str(rng.choice(classes))
        rows += [(it, who, fr(spam)) for who in ("spam1", "spam2", "spam3")]
    return truth, _ann(rows)


def test_gold_unmasks_colluding_spammers():
    truth, ann = _colluders()

    def acc(df):
        return np.mean([truth[i] == lab for i, lab in zip(df["item_id"], df["label"])])

    blind = dawid_skene(ann, "fr-morphology", model="one-coin")
    # without gold, perfect agreement makes the spammers look better than the honest pair
    sk = blind.attrs["skill"]
    assert sk["spam1"] > max(sk["ann"], sk["ben"]) and acc(blind) < 0.45
    assert acc(majority(ann, "fr-morphology")) < 0.45
    gold = {i: truth[i] for i in list(truth)[:9]}  # 10% of the items, answered by everyone
    ds = dawid_skene(ann, "fr-morphology", model="one-coin", gold=gold)
    sk = ds.attrs["skill"]
    assert acc(ds) >= 0.8
    assert max(sk["spam1"], sk["spam2"], sk["spam3"]) < min(sk["ann"], sk["ben"]) - 0.3
    assert sorted(ds.attrs["clamped"]) == ["ann", "ben", "spam1", "spam2", "spam3"]
    # the gold answers only starting the fit is not enough against this majority
    loose = dawid_skene(ann, "fr-morphology", model="one-coin", gold=gold, gold_min=None)
    assert loose.attrs["clamped"] == [] and acc(loose) < acc(ds) - 0.1
    # every gold item keeps its known class
    assert (ds.set_index("item_id").loc[list(gold), "label"] == pd.Series(gold)).all()
