"""An old (schema v1) label store, written by raw SQL, opens and keeps working."""

from __future__ import annotations

import json
import sqlite3

import pytest

from workbench.core.errors import StoreError
from workbench.io.labels import LabelStore
from workbench.io.labels.schema import SCHEMA_VERSION

V1 = """
CREATE TABLE wb_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO wb_meta VALUES ('format', 'workbench-labels'), ('schema_version', '1');
CREATE TABLE wb_annotations (
  id INTEGER PRIMARY KEY AUTOINCREMENT, item_id VARCHAR(255) NOT NULL,
  annotator VARCHAR(255) NOT NULL, scheme VARCHAR(100) NOT NULL, scheme_version INTEGER NOT NULL,
  answers JSON NOT NULL, started DATETIME, ended DATETIME, created DATETIME NOT NULL,
  source VARCHAR(20) NOT NULL, campaign VARCHAR(255));
CREATE TABLE wb_retractions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, annotation_id INTEGER NOT NULL UNIQUE
  REFERENCES wb_annotations(id), annotator VARCHAR(255) NOT NULL, reason TEXT,
  created DATETIME NOT NULL);
CREATE TABLE wb_campaigns (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(255) NOT NULL UNIQUE,
  scheme VARCHAR(100) NOT NULL, scheme_version INTEGER NOT NULL, retire INTEGER NOT NULL,
  item_order VARCHAR(20) NOT NULL, created DATETIME NOT NULL);
CREATE TABLE wb_campaign_items (
  campaign_id INTEGER NOT NULL REFERENCES wb_campaigns(id), item_id VARCHAR(255) NOT NULL,
  position INTEGER NOT NULL, priority FLOAT, n_done INTEGER NOT NULL DEFAULT 0,
  retired BOOLEAN NOT NULL DEFAULT 0, PRIMARY KEY (campaign_id, item_id));
INSERT INTO wb_campaigns VALUES (1, 'old', 'transient', 1, 2, 'random', '2024-01-01 10:00:00');
INSERT INTO wb_campaign_items VALUES (1, 'a', 0, NULL, 2, 1), (1, 'b', 1, NULL, 1, 0),
  (1, 'c', 2, NULL, 0, 0);
"""


def _make_v1(path):
    con = sqlite3.connect(path)
    con.executescript(V1)
    rows = [("a", "ann", "frb"), ("a", "bob", "frb"), ("b", "ann", "noise")]
    for item, who, cls in rows:
        con.execute("INSERT INTO wb_annotations (item_id, annotator, scheme, scheme_version, "
                    "answers, ended, created, source, campaign) VALUES (?, ?, 'transient', 1, ?, "
                    "'2024-01-02 10:00:00', '2024-01-02 10:00:00', 'random', 'old')",
                    (item, who, json.dumps({"class": cls})))
    con.commit()
    con.close()


def test_v1_store_is_upgraded_and_keeps_its_records(tmp_path):
    p = tmp_path / "labels.sqlite"
    _make_v1(p)
    s = LabelStore(p)
    assert s.schema_version == SCHEMA_VERSION
    df = s.annotations()
    assert list(df["item_id"]) == ["a", "a", "b"]
    assert df["answers"].iloc[2] == {"class": "noise"}
    assert not df["bulk"].any() and df["source_detail"].isna().all()
    camp = s.campaign("old")
    items = camp.items().set_index("item_id")
    assert items.loc["a", "retired"] and items.loc["a", "retire_at"] == 2
    # who saw what was backfilled: ann saw a and b, so she gets c next; bob gets b
    assert camp.next_item("ann") == "c"
    assert camp.next_item("bob") == "b"
    camp.annotate("b", {"class": "pulsar"}, annotator="bob")
    assert camp.status()["n_retired"] == 2
    con = sqlite3.connect(p)
    assert con.execute("SELECT value FROM wb_meta WHERE key='schema_version'").fetchone()[0] \
        == str(SCHEMA_VERSION)
    con.close()
    # the v3 drafts table is there (and empty: nothing old becomes a draft)
    assert len(s.drafts()) == 0
    s.save_draft("c", {"path": {"class": "frb"}}, annotator="ann", scheme="transient",
                 campaign="old")
    # v4: the old campaign shows the default columns, has no gold, and takes invites
    assert camp.show_columns is None and camp.gold_rate == 0.0 and camp.gold == {}
    assert camp.shown_columns(["id", "ra", "dec", "truth"]) == ["id", "ra", "dec"]
    assert not camp.items()["gold"].any()
    tok = s.invite("old", "ann")
    assert s.annotator_for_token(tok) == ("ann", "old")
    # opening again does not migrate twice
    s2 = LabelStore(p)
    assert len(s2.annotations()) == 4
    assert s2.drafts(annotator="ann")["state"].tolist() == [{"path": {"class": "frb"}}]


def test_store_from_newer_workbench_is_refused(tmp_path):
    p = tmp_path / "labels.sqlite"
    _make_v1(p)
    con = sqlite3.connect(p)
    con.execute("UPDATE wb_meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer"):
        LabelStore(p)


def test_v3_store_upgrades_to_v4_on_sqlite_and_postgres(store_url):
    """A v3 store (made here by removing what v4 added) gains show_columns, gold and
    invites on open; its campaign and annotations are untouched."""
    import sqlalchemy as sa

    s = LabelStore(store_url)
    camp = s.create_campaign("c", "transient", ["a", "b"], retire=1)
    camp.annotate("a", {"class": "frb"}, annotator="ann")
    with s.engine.connect().execution_options(wb_write=True) as conn, conn.begin():
        conn.exec_driver_sql("DROP TABLE wb_invites")
        for table, col in (("wb_campaigns", "show_columns"), ("wb_campaigns", "gold_rate"),
                           ("wb_campaign_items", "gold"), ("wb_campaign_items", "gold_answer")):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {col}")
        conn.exec_driver_sql("UPDATE wb_meta SET value = '3' WHERE key = 'schema_version'")
    s.close()
    s = LabelStore(store_url)
    assert s.schema_version == SCHEMA_VERSION == 4
    camp = s.campaign("c")
    assert camp.show_columns is None and camp.gold == {}
    items = camp.items().set_index("item_id")
    assert items.loc["a", "retired"] and not items["gold"].any()
    assert camp.next_item("bo") == "b"
    assert s.annotator_for_token(s.invite("c", "bo")) == ("bo", "c")
    with s.engine.connect() as conn:
        cols = {c["name"] for c in sa.inspect(conn).get_columns("wb_campaign_items")}
    assert {"gold", "gold_answer"} <= cols
