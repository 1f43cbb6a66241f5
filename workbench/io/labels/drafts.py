"""Drafts: an annotator's unfinished work on an item, kept in the store until it is done.

>>> store.save_draft("rg007", {"selected": [2, 5]}, annotator="ada", scheme="rgz")  # doctest: +SKIP
>>> store.drafts(annotator="ada", scheme="rgz")       # doctest: +SKIP

An annotation is written only when an answer is complete (an RGZ source needs its
components, host and morphology). Everything before that (components clicked so far, a host
placed, answers given before the end of the question path) is a *draft*: one row per
annotator, scheme, item and campaign in ``wb_drafts``, replaced on every change, deleted
when the item is finished, skipped or undone. A Labeler killed mid-item leaves its draft,
and a new Labeler for the same annotator reopens the item in that state.

Drafts are not annotations: :meth:`LabelStore.annotations`, consensus, export and campaign
counters and retirement never read them, and annotations stay append-only. The draft
``state`` is opaque JSON owned by the widget that wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import sqlalchemy as sa

from workbench.core.schemes import Scheme, get_scheme
from workbench.io.labels import schema as S
from workbench.io.labels._db import jsonable, loads, utcnow

__all__ = ["save_draft", "discard_draft", "read_drafts", "DRAFT_COLUMNS"]

#: Columns of :func:`read_drafts`.
DRAFT_COLUMNS = ("item_id", "annotator", "scheme", "scheme_version", "campaign", "state",
                 "updated")


def _scheme(scheme) -> Scheme:
    if isinstance(scheme, Scheme):
        return scheme
    if isinstance(scheme, tuple):
        return get_scheme(*scheme)
    return get_scheme(str(scheme))


def _key(item_id, annotator, scheme_name, campaign) -> dict:
    return {"annotator": str(annotator), "scheme": scheme_name, "item_id": str(item_id),
            "campaign": "" if campaign is None else str(campaign)}


def save_draft(store, item_id, state: Mapping, *, annotator: str, scheme,
               campaign: str | None = None) -> None:
    """Record (or replace) ``annotator``'s draft of ``item_id``; returns once committed.

    Parameters
    ----------
    store : LabelStore
    item_id : str
        The Collection item id.
    state : dict
        JSON-safe description of the unfinished work (the widget's own format).
    annotator : str
        Who is labelling.
    scheme : str, Scheme or (name, version)
        The scheme being answered (newest version when given by name).
    campaign : str, optional
        The campaign the item comes from (None: a plain selection).
    """
    sch = _scheme(scheme)
    row = {**_key(item_id, annotator, sch.name, campaign), "scheme_version": sch.version,
           "state": jsonable(dict(state)), "updated": utcnow()}
    if store.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(S.drafts).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["annotator", "scheme", "item_id", "campaign"],
        set_={"scheme_version": stmt.excluded.scheme_version, "state": stmt.excluded.state,
              "updated": stmt.excluded.updated})
    store._tx(lambda conn: conn.execute(stmt))


def discard_draft(store, item_id, *, annotator: str, scheme,
                  campaign: str | None = None) -> bool:
    """Delete ``annotator``'s draft of ``item_id`` (finished, skipped or undone work).

    Returns whether there was one. Annotations are not touched.
    """
    key = _key(item_id, annotator, _scheme(scheme).name, campaign)
    d = S.drafts
    stmt = d.delete().where(*[d.c[k] == v for k, v in key.items()])
    return bool(store._tx(lambda conn: conn.execute(stmt).rowcount))


def read_drafts(store, *, annotator: str | None = None, scheme=None, campaign=...,
                item_id=None) -> pd.DataFrame:
    """Drafts as a DataFrame (columns :data:`DRAFT_COLUMNS`), newest first.

    ``campaign=None`` selects drafts made outside campaigns; leave it out for all.
    ``campaign`` is None in the result for drafts outside campaigns.
    """
    d = S.drafts
    q = sa.select(*[d.c[c] for c in DRAFT_COLUMNS]).order_by(d.c.updated.desc())
    if annotator is not None:
        q = q.where(d.c.annotator == str(annotator))
    if scheme is not None:
        q = q.where(d.c.scheme == _scheme(scheme).name)
    if campaign is not ...:
        q = q.where(d.c.campaign == ("" if campaign is None else str(campaign)))
    if item_id is not None:
        ids = [item_id] if isinstance(item_id, str) else list(item_id)
        q = q.where(d.c.item_id.in_([str(i) for i in ids]))
    with store._read() as conn:
        rows = conn.execute(q).fetchall()
    df = pd.DataFrame([tuple(r) for r in rows], columns=list(DRAFT_COLUMNS))
    df["campaign"] = [None if c == "" else c for c in df["campaign"]]
    df["state"] = [loads(s) for s in df["state"]]
    return df
