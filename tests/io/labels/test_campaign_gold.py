"""Gold items: mixed into every queue at the campaign's rate, never retired, out of progress,
and their known answers win the consensus."""

from __future__ import annotations

import pytest

from workbench.core.errors import StoreError
from workbench.io.labels import LabelStore
from workbench.io.labels.campaigns import check_gold, gold_answer, gold_question, gold_turn
from workbench.labeling.consensus import campaign_consensus
from workbench.labeling.report import campaign_report


def fr(m):
    return {"morphology": m, "confidence": "confident"}


IDS = [f"i{k:02d}" for k in range(40)]
GOLD = {i: ("FRI" if k % 2 else "FRII") for k, i in enumerate(IDS[:8])}


def _drain(camp, who):
    got = []
    while (item := camp.next_item(who)) is not None:
        got.append(item)
        camp.annotate(item, fr("FRI"), annotator=who)
    return got


def test_gold_is_mixed_in_at_the_rate_and_never_retires(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("g", "fr-morphology", IDS, retire=1, gold=GOLD, gold_rate=0.25,
                             seed=3)
    assert camp.gold == GOLD and camp.gold_rate == 0.25
    got = _drain(camp, "ada")
    assert len(got) == len(set(got))
    ordinary = [i for i in got if i not in GOLD]
    assert sorted(ordinary) == sorted(set(IDS) - set(GOLD))  # she labels every ordinary item
    # replaying the documented draw gives exactly the positions of her gold items
    expect_gold, gold_left = [], len(GOLD)
    for n in range(len(got)):
        turn = gold_turn("g", 3, "ada", n, 0.25) and gold_left > 0
        expect_gold.append(turn)
        gold_left -= turn
    assert [i in GOLD for i in got] == expect_gold
    n_gold = sum(expect_gold)
    assert 3 <= n_gold <= 8
    st = camp.status()
    assert st["n_items"] == 32 and st["n_gold"] == 8
    assert st["n_retired"] == 32 and st["fraction_retired"] == 1.0
    assert st["annotators"] == {"ada": len(got)}
    # retire=1 retired every ordinary item, yet bo still gets gold items? No: gold comes
    # only while ordinary items remain for him, and none do
    assert camp.next_item("bo") is None
    items = camp.items().set_index("item_id")
    assert not items.loc[list(GOLD), "retired"].any() and items.loc[list(GOLD), "gold"].all()
    assert camp.progress("ada") == {"done": 32, "total": 32, "mine": len(got)}


def test_every_annotator_may_get_each_gold_item(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("g", "fr-morphology", IDS, retire=3, gold=GOLD, gold_rate=0.5)
    seen = {who: _drain(camp, who) for who in ("ada", "bo", "cy")}
    for who, got in seen.items():
        assert set(GOLD) <= set(got), who  # at rate 0.5 each one meets all 8 gold items
    items = camp.items().set_index("item_id")
    assert (items.loc[list(GOLD), "n_done"] == 3).all()
    assert not items.loc[list(GOLD), "retired"].any()
    assert items.loc[[i for i in IDS if i not in GOLD], "retired"].all()


def test_gold_answer_wins_the_consensus(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("g", "fr-morphology", ["a", "b", "c"], retire=3,
                             gold={"a": "FRII"}, gold_rate=0.1)
    for who in ("u1", "u2"):
        camp.annotate("a", fr("FRI"), annotator=who)  # both wrong on the gold item
        camp.annotate("b", fr("FRI"), annotator=who)
    maj = campaign_consensus(camp, "majority").set_index("item_id")
    assert maj.loc["a", "label"] == "FRII" and maj.loc["a", "morphology"] == "FRII"
    assert maj.loc["a", "gold"] and not maj.loc["b", "gold"]
    assert maj.loc["b", "label"] == "FRI"
    ds = campaign_consensus(camp, "dawid-skene").set_index("item_id")
    assert ds.loc["a", "label"] == "FRII" and ds.loc["a", "gold"]
    assert ds.attrs["gold_accuracy"] == {"u1": 0.0, "u2": 0.0}


@pytest.mark.parametrize("kwargs, match", [
    ({"gold": {"i00": "FRIII"}, "gold_rate": 0.1}, "not among the 'morphology' values"),
    ({"gold": {"zz": "FRI"}, "gold_rate": 0.1}, "not among the campaign's items"),
    ({"gold": {"i00": "FRI"}}, "gold rate between 0 and 1"),
    ({"gold": {"i00": "FRI"}, "gold_rate": 1.0}, "gold rate between 0 and 1"),
    ({"gold_rate": 0.1}, "needs gold items"),
    ({"gold": {i: "FRI" for i in IDS}, "gold_rate": 0.1}, "every item is a gold item"),
])
def test_bad_gold_is_refused_and_nothing_is_made(tmp_path, kwargs, match):
    s = LabelStore(tmp_path / "l.sqlite")
    with pytest.raises(StoreError, match=match):
        s.create_campaign("g", "fr-morphology", IDS, **kwargs)
    assert s.campaigns() == []


def test_gold_needs_a_class_question(tmp_path):
    s = LabelStore(tmp_path / "l.sqlite")
    with pytest.raises(StoreError, match="item-level class question"):
        s.create_campaign("r", "rgz", IDS, gold={"i00": "FRI"}, gold_rate=0.1)
    # answers given in another spelling of the same value are stored as the scheme's
    camp = s.create_campaign("t", "lens-grade", ["a", "b"], gold={"a": "A"}, gold_rate=0.2)
    assert camp.gold == {"a": "A"}


def test_one_rule_finds_the_gold_question_and_spells_answers():
    """gold_question/gold_answer: used by check_gold (the store) and by
    ``campaign create --gold-column`` (the CLI), so both accept the same answers."""
    import numpy as np

    from workbench.core.schemes import Scheme, get_scheme

    assert gold_question(get_scheme("fr-morphology")).id == "morphology"
    assert gold_question(get_scheme("rgz")) is None
    stars = Scheme.from_dict({"name": "stars", "version": 1, "title": "Stars", "questions": [
        {"id": "n", "type": "choice", "text": "How many?",
         "answers": [{"value": 1, "label": "one", "key": "1"},
                     {"value": 2, "label": "two", "key": "2"}]}]})
    q = gold_question(stars)
    got = [gold_answer(q, v) for v in (1, np.int64(2), "1", 2.0, np.float64(1.0))]
    assert got == [1, 2, 1, 2, 1] and all(type(v) is int for v in got)
    for v in (3, "one", None, float("nan"), np.array([1, 2])):
        assert gold_answer(q, v) is None
    assert check_gold(stars, {"a": "1", "b": np.int64(2)}) == {"a": 1, "b": 2}
    with pytest.raises(StoreError, match=r"gold answers \['3'\] are not among the 'n' values"):
        check_gold(stars, {"a": 3})


def test_gold_turn_is_deterministic_and_near_the_rate():
    draws = [gold_turn("c", 0, "ada", n, 0.05) for n in range(4000)]
    assert draws == [gold_turn("c", 0, "ada", n, 0.05) for n in range(4000)]
    assert 0.035 < sum(draws) / 4000 < 0.065
    assert draws != [gold_turn("c", 0, "bo", n, 0.05) for n in range(4000)]
    assert not any(gold_turn("c", 0, "ada", n, 0.0) for n in range(100))


def test_campaign_gold_downweights_colluding_spammers(tmp_path):
    """Five people drain a campaign with gold mixed in; three of them collude on random
    answers. Majority follows them; the campaign's Dawid-Skene, fed its own gold, does not."""
    import numpy as np

    rng = np.random.default_rng(0)
    classes = ["FRI", "FRII", "hybrid"]
    ids = [f"i{k:03d}" for k in range(69)]
    truth = {i: classes[k % 3] for k, i in enumerate(ids)}
    gold = {i: truth[i] for i in ids[:9]}
    s = LabelStore(tmp_path / "l.sqlite", synchronous="NORMAL")
    camp = s.create_campaign("g", "fr-morphology", ids, retire=5, gold=gold, gold_rate=0.15)
    spam = {i: str(rng.choice(classes)) for i in ids}  # the colluders' shared answers
    for who in ("ann", "ben", "spam1", "spam2", "spam3"):
        while (item := camp.next_item(who)) is not None:
            if who.startswith("spam"):
                ans = spam[item]
            else:
                t = truth[item]
                ans = t if rng.random() < 0.85 else str(rng.choice([c for c in classes
                                                                     if c != t]))
            camp.annotate(item, fr(ans), annotator=who)
    rep = campaign_report(camp)["per_annotator"]
    assert all(rep[w]["n_gold"] >= 5 for w in rep)

    def acc(df):
        df = df[~df["gold"]]
        return np.mean([truth[i] == lab for i, lab in zip(df["item_id"], df["label"])])

    maj, ds = campaign_consensus(camp, "majority"), campaign_consensus(camp, "dawid-skene")
    assert ds.attrs["model"] == "one-coin" and len(ds.attrs["clamped"]) == 5
    assert acc(maj) < 0.5 and acc(ds) >= 0.75
    sk = ds.attrs["skill"]
    assert max(sk[w] for w in ("spam1", "spam2", "spam3")) < min(sk["ann"], sk["ben"]) - 0.2
    assert max(rep[w]["gold_accuracy"] for w in ("spam1", "spam2", "spam3")) < \
        min(rep["ann"]["gold_accuracy"], rep["ben"]["gold_accuracy"])
