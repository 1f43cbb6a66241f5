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
