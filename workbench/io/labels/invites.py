"""Invites: personal tokens that let people without a notebook label a campaign.

>>> token = store.invite("fr", "alice")            # doctest: +SKIP
>>> store.annotator_for_token(token)               # doctest: +SKIP
('alice', 'fr')
>>> store.revoke_invite("fr", "alice")              # doctest: +SKIP

A token is 256 random bits from :mod:`secrets` (43 URL-safe characters). The store keeps
only its SHA-256 (``wb_invites.token_hash``; a hash suffices because tokens are random, so
there is nothing to guess), with who it is for, when it was made and when it was revoked:
a copy of the store never lets anyone label as someone else, and a lost token cannot be
shown again, only replaced. Each annotator has at most one valid token per campaign:
:func:`invite` revokes the earlier one. Tokens are never logged or written anywhere else.
"""

from __future__ import annotations

import hashlib
import secrets

import pandas as pd
import sqlalchemy as sa

from workbench.io.labels import schema as S
from workbench.io.labels._db import check_annotator, default_annotator, utcnow

__all__ = ["invite", "revoke_invite", "annotator_for_token", "read_invites", "hash_token",
           "TOKEN_BYTES", "INVITE_COLUMNS"]

#: Random bytes in a token (256 bits).
TOKEN_BYTES = 32
#: Tokens longer than this are not looked up (a real one has 43 characters).
_MAX_TOKEN = 256
#: Columns of :func:`read_invites`.
INVITE_COLUMNS = ("campaign", "annotator", "created", "created_by", "revoked", "valid")


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token, as stored."""
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest()


def _campaign_id(store, conn, campaign) -> int:
    return int(store._campaign_row(conn, str(campaign)).id)


def invite(store, campaign: str, annotator: str, *, created_by: str | None = None) -> str:
    """Make a personal token for ``annotator`` to label ``campaign``; returns the token.

    An earlier valid token of theirs for this campaign is revoked in the same transaction.
    StoreError if there is no such campaign.
    """
    annotator = check_annotator(annotator)
    creator = check_annotator(created_by or default_annotator())
    token = secrets.token_urlsafe(TOKEN_BYTES)
    iv = S.invites

    def work(conn):
        cid = _campaign_id(store, conn, campaign)
        now = utcnow()
        conn.execute(iv.update().where(iv.c.campaign_id == cid, iv.c.annotator == annotator,
                                       iv.c.revoked.is_(None)).values(revoked=now))
        conn.execute(iv.insert().values(campaign_id=cid, annotator=annotator,
                                        token_hash=hash_token(token), created=now,
                                        created_by=creator, revoked=None))

    store._tx(work)
    return token


def revoke_invite(store, campaign: str, annotator: str) -> int:
    """Revoke ``annotator``'s valid token(s) for ``campaign``; returns how many (0 if none).

    Their annotations stay; only the token stops working.
    """
    iv = S.invites

    def work(conn):
        cid = _campaign_id(store, conn, campaign)
        return int(conn.execute(iv.update().where(
            iv.c.campaign_id == cid, iv.c.annotator == str(annotator),
            iv.c.revoked.is_(None)).values(revoked=utcnow())).rowcount)

    return store._tx(work)


def annotator_for_token(store, token, campaign: str | None = None) -> tuple[str, str] | None:
    """``(annotator, campaign)`` of a valid token, or None (unknown, revoked, malformed, or
    for another campaign than ``campaign`` when that is given)."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
        return None
    iv, c = S.invites, S.campaigns
    q = sa.select(iv.c.annotator, c.c.name).select_from(iv.join(c, c.c.id == iv.c.campaign_id)) \
        .where(iv.c.token_hash == hash_token(token), iv.c.revoked.is_(None))
    if campaign is not None:
        q = q.where(c.c.name == str(campaign))
    with store._read() as conn:
        row = conn.execute(q).first()
    return None if row is None else (str(row[0]), str(row[1]))


def read_invites(store, campaign: str | None = None) -> pd.DataFrame:
    """Invites (never the tokens or their hashes) as a DataFrame (columns
    :data:`INVITE_COLUMNS`), oldest first; ``valid`` is True where not revoked."""
    iv, c = S.invites, S.campaigns
    q = sa.select(c.c.name, iv.c.annotator, iv.c.created, iv.c.created_by, iv.c.revoked) \
        .select_from(iv.join(c, c.c.id == iv.c.campaign_id)).order_by(iv.c.id)
    if campaign is not None:
        with store._read() as conn:
            store._campaign_row(conn, str(campaign))
        q = q.where(c.c.name == str(campaign))
    with store._read() as conn:
        rows = [tuple(r) for r in conn.execute(q)]
    df = pd.DataFrame(rows, columns=list(INVITE_COLUMNS[:-1]))
    df["created"] = pd.to_datetime(df["created"], utc=True)
    df["revoked"] = pd.to_datetime(df["revoked"], utc=True)
    df["valid"] = df["revoked"].isna()
    return df
