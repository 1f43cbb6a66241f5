"""The labelling hot path of a campaign: an answer and the annotator's next claim in one
transaction (``Campaign.annotate_and_claim``), its guarantees under concurrency, cached
progress counts kept exact by the writes made through the same object, and the light
readers a labeling session and a server start from (``live_answers``, ``valid_invites``)."""

from __future__ import annotations

import threading

import pytest
from write_counter import count_write_transactions

from workbench.core.errors import SchemeError, StoreError
from workbench.io.labels import LabelStore

FR = {"morphology": "FRI", "confidence": "confident"}


def _ids(n):
    return [f"it{k:03d}" for k in range(n)]


def test_answer_and_next_claim_in_one_transaction(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("c", "fr-morphology", _ids(3), retire=1, order="priority",
                             priorities={"it002": 3.0, "it000": 2.0, "it001": 1.0})
    first = camp.next_item("ada")
    assert first == "it002"
    with count_write_transactions(s.engine) as commits:
        aid, nxt = camp.annotate_and_claim(first, FR, annotator="ada")
    assert commits == [1]  # one write transaction for the answer and the claim
    assert nxt == "it000" and camp.next_item("ada") == "it000"  # ada's open claim
    row = s.annotations(campaign="c").set_index("id").loc[aid]
    assert (row["item_id"], row["annotator"], row["source"]) == ("it002", "ada", "priority")
    assert row["source_detail"]["order"] == "priority" and row["source_detail"]["priority"] == 3.0
    items = camp.items().set_index("item_id")
    assert bool(items.loc["it002", "retired"]) and items.loc["it002", "n_done"] == 1
    assert items.loc["it002", "n_open"] == 0 and items.loc["it000", "n_open"] == 1
    # the last items: it001 for bo, then nothing is left for anybody
    assert camp.next_item("bo") == "it001"
    aid2, nxt2 = camp.annotate_and_claim("it000", FR, annotator="ada")
    assert nxt2 is None and camp.status()["n_open"] == 1  # bo's


def test_statements_per_answer_and_counts_with_and_without_a_claim(store_url):
    import sqlalchemy as sa

    s = LabelStore(store_url)
    camp = s.create_campaign("c", "fr-morphology", _ids(4), retire=2)
    first = camp.next_item("ada")
    seen = []

    def count(conn, cursor, statement, *args):
        if not statement.upper().startswith("BEGIN"):
            seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(s.engine, "before_cursor_execute", count)
    try:
        _, nxt = camp.annotate_and_claim(first, FR, annotator="ada")
    finally:
        sa.event.remove(s.engine, "before_cursor_execute", count)
    # PostgreSQL: close the claim + count the answer, the annotation, pick + claim + count
    # the next item (which picks nothing while a claim of ada's is open); SQLite: two
    # statements each for the first and last, and "is a claim open"
    assert len(seen) <= (3 if s.dialect == "postgresql" else 7), seen
    items = camp.items().set_index("item_id")
    assert (items.loc[first, "n_done"], items.loc[first, "n_open"]) == (1, 0)
    assert items.loc[nxt, "n_open"] == 1 and nxt != first
    # an answer to an item ada holds no claim on: counted, no open claim to close
    other = next(i for i in _ids(4) if i not in (first, nxt))
    camp.annotate(other, FR, annotator="ada")
    items = camp.items().set_index("item_id")
    assert (items.loc[other, "n_done"], items.loc[other, "n_open"]) == (1, 0)
    assert items.loc[nxt, "n_open"] == 1  # ada's open claim on nxt is untouched
    assert camp.next_item("ada") == nxt
    assert camp.status()["n_open"] == 1


def test_an_answer_while_another_claim_is_open_returns_that_claim(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("c", "fr-morphology", _ids(5), retire=1)
    held = camp.next_item("ada")  # ada's open claim
    other = next(i for i in _ids(5) if i != held)
    aid, nxt = camp.annotate_and_claim(other, FR, annotator="ada")  # not the item held
    assert nxt == held  # her open claim, not a new one
    items = camp.items().set_index("item_id")
    assert int(items["n_open"].sum()) == 1 and items.loc[held, "n_open"] == 1
    assert bool(items.loc[other, "retired"])
    # answering the held item then claims a new one
    _, nxt2 = camp.annotate_and_claim(held, FR, annotator="ada")
    assert nxt2 not in (None, held, other)
    assert int(camp.items()["n_open"].sum()) == 1


def test_a_new_campaign_has_planner_statistics_on_postgresql(store_url):
    s = LabelStore(store_url)
    if s.dialect != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    camp = s.create_campaign("c", "fr-morphology", _ids(300), retire=2)
    with s.engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT reltuples FROM pg_class "
                                 "WHERE relname = 'wb_campaign_items'").scalar()
    assert n == 300  # analysed: not taken for an empty table until autovacuum comes
    camp.add_items([f"new{k}" for k in range(100)])
    with s.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(
            "EXPLAIN SELECT * FROM wb_campaign_items WHERE campaign_id = %(c)s "
            "AND item_id = %(i)s", {"c": camp.id, "i": "it007"}))
        n = conn.exec_driver_sql("SELECT reltuples FROM pg_class "
                                 "WHERE relname = 'wb_campaign_items'").scalar()
    assert n == 400 and "wb_campaign_items_pkey" in plan, plan


def test_a_refused_answer_changes_nothing(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("c", "fr-morphology", _ids(2), retire=2)
    item = camp.next_item("ada")
    before = camp.items()
    with pytest.raises(SchemeError):
        camp.annotate_and_claim(item, {"morphology": "nope"}, annotator="ada")
    with pytest.raises(StoreError, match="not in campaign"):
        camp.annotate_and_claim("zzz", FR, annotator="ada")
    assert len(s.annotations()) == 0
    assert camp.items().equals(before)  # claims and counts rolled back with the answer
    assert camp.next_item("ada") == item


def test_concurrent_annotators_never_get_an_item_twice_or_overshoot(store_url):
    s = LabelStore(store_url)
    n_items, retire, people = 12, 2, 4
    s.create_campaign("c", "fr-morphology", _ids(n_items), retire=retire)
    got: dict[str, list] = {}
    errors = []

    def label(who):
        camp = s.campaign("c")  # one Campaign object per thread, one store (its pool)
        mine, item = [], camp.next_item(who)
        try:
            while item is not None:
                aid, nxt = camp.annotate_and_claim(item, FR, annotator=who)
                mine.append((aid, item))
                item = nxt
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        got[who] = mine

    threads = [threading.Thread(target=label, args=(f"p{k}",)) for k in range(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    rows = s.annotations(campaign="c")
    sent = {aid: (who, item) for who, mine in got.items() for aid, item in mine}
    assert {int(i): (a, it) for i, a, it in zip(rows["id"], rows["annotator"],
                                                rows["item_id"])} == sent
    for mine in got.values():
        items = [it for _, it in mine]
        assert len(items) == len(set(items))
    per_item = rows.groupby("item_id").size()
    assert len(per_item) == n_items and (per_item == retire).all()  # all done, none over
    st = s.campaign("c").status()
    assert st["n_retired"] == n_items and st["n_open"] == 0


def test_progress_counts_reused_for_their_ttl_and_kept_exact_by_own_writes(store_url):
    s = LabelStore(store_url)
    s.create_campaign("c", "fr-morphology", _ids(4), retire=1)
    camp = s.campaign("c")
    camp.progress_ttl = 3600.0
    assert camp.progress() == {"done": 0, "total": 4}
    other = LabelStore(store_url)  # another process, say
    other.annotate("it003", FR, annotator="zed", campaign="c")
    assert camp.progress()["done"] == 0  # the counts are reused...
    item = camp.next_item("ada")
    camp.annotate_and_claim(item, FR, annotator="ada")
    assert camp.progress()["done"] == 1  # ...and this object's own write counted exactly
    camp.progress_ttl = 0.0  # the default: counted every time
    assert camp.progress("ada") == {"done": 2, "total": 4, "mine": 1}
    other.close()


def test_live_answers_and_valid_invites(store_url):
    s = LabelStore(store_url)
    s.create_campaign("c", "fr-morphology", _ids(3), retire=3)
    a1 = s.annotate("it000", FR, annotator="ada", campaign="c")
    a2 = s.annotate("it000", {**FR, "confidence": "uncertain"}, annotator="ada", campaign="c")
    a3 = s.annotate("it001", FR, annotator="ada", campaign="c")
    s.annotate("it002", FR, annotator="bo", campaign="c")
    s.retract(a3, annotator="ada")
    live = s.live_answers(annotator="ada", scheme="fr-morphology")
    assert live == {"it000": (a2, {**FR, "confidence": "uncertain"})} and a1 < a2
    assert s.live_answers(annotator="ada", scheme="transient") == {}
    from workbench.io.labels.invites import hash_token

    ta, tb = s.invite("c", "ada"), s.invite("c", "bo")
    assert s.valid_invites("c") == {hash_token(ta): "ada", hash_token(tb): "bo"}
    s.revoke_invite("c", "bo")
    assert s.valid_invites("c") == {hash_token(ta): "ada"}
    assert s.valid_invites("c", token_hash=hash_token(tb)) == {}
    assert s.valid_invites("nope") == {}
