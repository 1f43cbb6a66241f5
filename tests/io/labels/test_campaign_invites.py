"""Invites: random personal tokens, stored only as hashes, revocable, per campaign."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from workbench.core.errors import StoreError
from workbench.io.labels import LabelStore


def _store(url):
    s = LabelStore(url)
    s.create_campaign("fr", "fr-morphology", ["a", "b", "c"], retire=2)
    s.create_campaign("other", "transient", ["x", "y"], retire=1)
    return s


def test_token_maps_to_its_annotator_and_campaign(store_url):
    s = _store(store_url)
    tok = s.invite("fr", "alice", created_by="lead")
    assert len(tok) >= 43 and tok.replace("-", "").replace("_", "").isalnum()
    assert s.annotator_for_token(tok) == ("alice", "fr")
    assert s.annotator_for_token(tok, campaign="fr") == ("alice", "fr")
    assert s.annotator_for_token(tok, campaign="other") is None  # not a key to other campaigns
    bob = s.invite("fr", "bob")
    assert bob != tok and s.annotator_for_token(bob) == ("bob", "fr")
    for junk in (None, "", "x" * 10_000, tok[:-1], tok + "x", 12345):
        assert s.annotator_for_token(junk) is None
    inv = s.invites("fr")
    assert list(inv["annotator"]) == ["alice", "bob"] and inv["valid"].all()
    assert list(inv["created_by"])[0] == "lead"
    assert not any(tok in str(v) for v in inv.to_numpy().ravel())


def test_revoke_and_reinvite(store_url):
    s = _store(store_url)
    old = s.invite("fr", "alice")
    new = s.invite("fr", "alice")  # a new invite replaces the old token
    assert s.annotator_for_token(old) is None and s.annotator_for_token(new) == ("alice", "fr")
    assert s.revoke_invite("fr", "alice") == 1
    assert s.annotator_for_token(new) is None
    assert s.revoke_invite("fr", "alice") == 0
    inv = s.invites()
    assert list(inv["valid"]) == [False, False] and inv["revoked"].notna().all()
    # an invite to one campaign is untouched by revoking another
    t2 = s.invite("other", "alice")
    s.invite("fr", "alice")
    s.revoke_invite("fr", "alice")
    assert s.annotator_for_token(t2) == ("alice", "other")


def test_unknown_campaign_and_bad_names_are_refused(store_url):
    s = _store(store_url)
    with pytest.raises(StoreError, match="no campaign named 'nope'"):
        s.invite("nope", "alice")
    with pytest.raises(StoreError, match="no campaign named 'nope'"):
        s.revoke_invite("nope", "alice")
    with pytest.raises(StoreError, match="annotator name"):
        s.invite("fr", "  ")
    with pytest.raises(StoreError, match="annotator name"):
        s.invite("fr", "a\nb")
    assert len(s.invites()) == 0


def test_only_the_hash_is_stored(tmp_path):
    p = tmp_path / "l.sqlite"
    s = _store(p)
    tok = s.invite("fr", "alice")
    s.close()
    raw = p.read_bytes() + (p.with_name(p.name + "-wal").read_bytes()
                            if p.with_name(p.name + "-wal").exists() else b"")
    assert tok.encode() not in raw
    con = sqlite3.connect(p)
    hashes = [r[0] for r in con.execute("SELECT token_hash FROM wb_invites")]
    con.close()
    assert hashes == [hashlib.sha256(tok.encode()).hexdigest()]
