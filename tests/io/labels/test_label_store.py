"""The label store on SQLite and PostgreSQL: records, retractions, campaigns, concurrency."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time

import pytest

from workbench.core.errors import SchemeError, StoreError
from workbench.io.labels import LabelStore, default_annotator, open_store

FR = {"morphology": "FRII", "confidence": "confident"}


def _ids(n, prefix="it"):
    return [f"{prefix}{k:03d}" for k in range(n)]


def test_annotate_roundtrip_and_validation(store_url):
    s = LabelStore(store_url)
    aid = s.annotate("x1", FR, annotator="ada", scheme="fr-morphology", started=1_700_000_000,
                     source="model", source_detail={"round": 2, "score": 0.7})
    df = s.annotations()
    assert list(df["id"]) == [aid]
    row = df.iloc[0]
    assert row["answers"] == FR and row["annotator"] == "ada"
    assert row["scheme"] == "fr-morphology" and row["scheme_version"] == 1
    assert row["source"] == "model" and row["source_detail"] == {"round": 2, "score": 0.7}
    assert row["started"].year == 2023 and row["ended"] >= row["started"]
    with pytest.raises(SchemeError, match="fr-morphology.*'morphology'.*'FRIII'"):
        s.annotate("x2", {"morphology": "FRIII", "confidence": "confident"}, annotator="ada",
                   scheme="fr-morphology")
    with pytest.raises(StoreError, match="source"):
        s.annotate("x2", FR, annotator="ada", scheme="fr-morphology", source="guess")
    assert len(s.annotations()) == 1  # refused answers write nothing


def test_same_uid_is_written_once(store_url):
    s = LabelStore(store_url)
    a = s.annotate("x1", FR, annotator="ada", scheme="fr-morphology", uid="tok-1")
    b = s.annotate("x1", FR, annotator="ada", scheme="fr-morphology", uid="tok-1")
    assert a == b and len(s.annotations()) == 1


def test_retraction_is_a_record(store_url):
    s = LabelStore(store_url)
    a = s.annotate("x1", FR, annotator="ada", scheme="fr-morphology")
    b = s.annotate("x2", FR, annotator="ada", scheme="fr-morphology")
    s.retract(a, annotator="ada", reason="misclick")
    assert list(s.annotations()["id"]) == [b]
    full = s.annotations(include_retracted=True)
    assert list(full["id"]) == [a, b] and list(full["retracted"]) == [True, False]
    with pytest.raises(StoreError, match="already retracted"):
        s.retract(a, annotator="ada")
    with pytest.raises(StoreError, match="no annotation"):
        s.retract(999, annotator="ada")
    assert s.counts() == {"annotations": 2, "retractions": 1, "campaigns": 0}


def test_bulk_annotations(store_url):
    s = LabelStore(store_url)
    ids = s.annotate_many(["a", "b", "c"], {"class": "noise"}, annotator="bo", scheme="transient")
    df = s.annotations()
    assert list(df["id"]) == ids and list(df["item_id"]) == ["a", "b", "c"]
    assert df["bulk"].all() and (df["source"] == "bulk").all()


def test_campaign_assignment_and_retirement(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("c", "fr-morphology", _ids(6), retire=2)
    given = {"ada": [], "bo": [], "cy": []}
    for _ in range(10):
        for who in given:
            item = camp.next_item(who)
            if item is None:
                continue
            assert camp.next_item(who) == item  # an open claim is resumed, not doubled
            given[who].append(item)
            camp.annotate(item, FR, annotator=who)
    for who, items in given.items():
        assert len(items) == len(set(items)), who
    st = camp.status()
    assert st["n_items"] == 6 and st["n_retired"] == 6 and st["n_annotations"] == 12
    assert sum(st["annotators"].values()) == 12
    items = camp.items()
    assert (items["n_done"] == 2).all() and (items["n_open"] == 0).all()
    assert camp.next_item("dee") is None
    # a retraction brings an item back
    aid = int(camp.annotations()["id"].iloc[0])
    item = camp.annotations()["item_id"].iloc[0]
    s.retract(aid, annotator="ada")
    assert camp.status()["n_retired"] == 5
    assert camp.next_item("dee") == item


def test_campaign_random_order_is_seeded(store_url):
    s = LabelStore(store_url)
    a = s.create_campaign("a", "transient", _ids(30), seed=1)
    b = s.create_campaign("b", "transient", _ids(30), seed=1)
    c = s.create_campaign("c", "transient", _ids(30), seed=2)
    assert a.item_ids == b.item_ids != c.item_ids
    assert sorted(a.item_ids) == _ids(30)
    with pytest.raises(StoreError, match="already exists"):
        s.create_campaign("a", "transient", _ids(3))
    assert [x.name for x in s.campaigns()] == ["a", "b", "c"]


def test_priorities_and_release(store_url):
    s = LabelStore(store_url)
    camp = s.create_campaign("p", "transient", _ids(5), order="priority", retire=1)
    camp.set_priorities({"it003": 0.9, "it001": 0.5}, round=4, strategy="entropy")
    assert camp.next_item("ada") == "it003"
    assert camp.release("ada", "it003") is True
    assert camp.next_item("ada") == "it001"  # a skipped item is not shown again to ada
    assert camp.next_item("bo") == "it003"  # ... but goes back to the pool for others
    aid = camp.annotate("it003", {"class": "frb"}, annotator="bo")
    rec = s.annotations().set_index("id").loc[aid]
    assert rec["source"] == "priority"
    assert rec["source_detail"]["round"] == 4 and rec["source_detail"]["strategy"] == "entropy"
    st = camp.status()
    assert st["rounds"] == {"4": 2} and st["n_skipped"] == 1
    with pytest.raises(StoreError, match="not in campaign"):
        camp.set_priorities({"nope": 1.0})


def test_early_retirement_rule(store_url):
    s = LabelStore(store_url)
    ncomp = {"it000": 1, "it001": 3, "it002": 1}
    camp = s.create_campaign("rgz", "rgz", _ids(3), retire=4,
                             early_retire={"max_components": 1, "retire": 2}, n_components=ncomp)
    assert dict(zip(camp.items()["item_id"], camp.items()["retire_at"])) == \
        {"it000": 2, "it001": 4, "it002": 2}
    with pytest.raises(StoreError, match="n_components"):
        s.create_campaign("rgz2", "rgz", _ids(3), early_retire={"max_components": 1, "retire": 2})


def test_expired_claims_return_to_pool(store_url):
    s = LabelStore(store_url)
    s.create_campaign("t", "transient", _ids(1), retire=1)
    camp = s.campaign("t")
    assert camp.next_item("ada") == "it000"
    assert camp.next_item("bo") is None  # claimed by ada, retire=1
    camp.claim_ttl = 0.0
    time.sleep(0.01)
    assert camp.next_item("bo") == "it000"


def test_annotation_in_campaign_checks_scheme_and_item(store_url):
    s = LabelStore(store_url)
    s.create_campaign("t", "transient", _ids(2))
    with pytest.raises(StoreError, match="uses scheme"):
        s.annotate("it000", FR, annotator="a", scheme="fr-morphology", campaign="t")
    with pytest.raises(StoreError, match="not in campaign"):
        s.annotate("zzz", {"class": "frb"}, annotator="a", campaign="t")
    with pytest.raises(StoreError, match="no campaign"):
        s.campaign("nope")


def test_default_annotator(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "hub-user")
    monkeypatch.setenv("USER", "unix-user")
    assert default_annotator() == "hub-user"
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert default_annotator() == "unix-user"


# ---------------------------------------------------------------------- concurrency
def _writer(url, k, n):
    s = LabelStore(url, synchronous="NORMAL") if "://" not in url else LabelStore(url)
    for i in range(n):
        s.annotate(f"w{k}-{i}", {"class": "noise"}, annotator=f"a{k}", scheme="transient")


@pytest.mark.slow
def test_eight_processes_write_exactly_4000(store_url):
    LabelStore(store_url).close()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(store_url, k, 500)) for k in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    df = LabelStore(store_url).annotations()
    assert len(df) == 4000
    assert df["id"].is_unique
    assert not df.duplicated(["item_id", "annotator"]).any()
    assert df.groupby("annotator").size().to_dict() == {f"a{k}": 500 for k in range(8)}


def _labeller(url, who, out):
    s = LabelStore(url)
    camp = s.campaign("c")
    got = []
    while (item := camp.next_item(who)) is not None:
        got.append(item)
        camp.annotate(item, {"class": "noise"}, annotator=who)
    out.put((who, got))


@pytest.mark.slow
def test_concurrent_annotators_never_overshoot(store_url):
    s = LabelStore(store_url)
    s.create_campaign("c", "transient", _ids(40), retire=3)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_labeller, args=(store_url, f"p{k}", q)) for k in range(8)]
    for p in procs:
        p.start()
    results = dict(q.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(60)
    for who, got in results.items():
        assert len(got) == len(set(got)), f"{who} got an item twice"
    df = s.annotations(campaign="c")
    assert len(df) == 120
    assert (df.groupby("item_id").size() == 3).all()
    assert not df.duplicated(["item_id", "annotator"]).any()
    assert s.campaign("c").status()["n_retired"] == 40


def _killable(url, conn):
    s = LabelStore(url)
    i = 0
    while True:
        aid = s.annotate(f"k{i}", {"class": "frb"}, annotator="victim", scheme="transient")
        conn.send(aid)  # only after annotate() returned
        i += 1


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_annotation(store_url):
    LabelStore(store_url).close()
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_killable, args=(store_url, child))
    p.start()
    acked = []
    t0 = time.time()
    while len(acked) < 150 and time.time() - t0 < 60:
        if parent.poll(0.1):
            acked.append(parent.recv())
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    while parent.poll(0.05):
        acked.append(parent.recv())
    assert len(acked) >= 150
    stored = set(LabelStore(store_url).annotations()["id"])
    assert set(acked) <= stored


# ---------------------------------------------------------------------- refusing files
def _snapshot(p):
    return p.read_bytes(), p.stat().st_mtime_ns


def test_file_that_is_not_a_database_is_refused_untouched(tmp_path):
    p = tmp_path / "labels.sqlite"
    p.write_bytes(b"these are my notes, not a database\n" * 100)
    before = _snapshot(p)
    with pytest.raises(StoreError, match="not a SQLite database"):
        LabelStore(p)
    assert _snapshot(p) == before


def test_foreign_sqlite_database_is_refused_untouched(tmp_path):
    p = tmp_path / "other.sqlite"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE songs (title TEXT)")
    con.execute("INSERT INTO songs VALUES ('x')")
    con.commit()
    con.close()
    before = _snapshot(p)
    with pytest.raises(StoreError, match="not a workbench label store"):
        open_store(p)
    assert _snapshot(p) == before


def test_corrupt_store_is_refused_untouched(tmp_path):
    p = tmp_path / "labels.sqlite"
    s = LabelStore(p)
    for i in range(300):
        s.annotate(f"i{i}", {"class": "noise"}, annotator="a", scheme="transient",
                   source_detail={"pad": "x" * 200})
    s.close()
    data = bytearray(p.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[2 * page:5 * page] = os.urandom(3 * page)  # garbage over b-tree pages
    p.write_bytes(bytes(data))
    before = _snapshot(p)
    with pytest.raises(StoreError, match="corrupt"):
        LabelStore(p)
    assert _snapshot(p) == before


def test_open_store_beside_collection(tmp_path):
    s = open_store(tmp_path)
    assert s.path == tmp_path / "labels.sqlite"
    s.annotate("a", {"class": "noise"}, annotator="a", scheme="transient")
    assert len(open_store(str(tmp_path / "labels.sqlite")).annotations()) == 1
    assert (tmp_path / "labels.sqlite").read_bytes()[:16] == b"SQLite format 3\x00"
    con = sqlite3.connect(tmp_path / "labels.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_scheme_given_as_name_and_version_is_checked_against_the_campaign(tmp_path):
    store = LabelStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.create_campaign("c", "fr-morphology", ["a"], retire=1)
    with pytest.raises(StoreError, match="uses scheme 'fr-morphology'"):
        store.annotate("a", {"no_contours": True, "sources": []}, annotator="x",
                       scheme=("rgz", 1), campaign="c")
    assert len(store.annotations(include_retracted=True)) == 0


def test_items_added_later_follow_the_early_retirement_rule(tmp_path):
    store = LabelStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    camp = store.create_campaign("c", "rgz", ["a"], retire=5, n_components={"a": 1},
                                 early_retire={"max_components": 1, "retire": 2})
    camp.add_items(["b", "c", "d"], n_components={"b": 1, "c": 3, "d": float("nan")})
    rows = store.campaign("c").items().set_index("item_id")["retire_at"].to_dict()
    assert rows == {"a": 2, "b": 2, "c": 5, "d": 5}  # unknown count (NaN): the normal rule
