"""Labelling campaigns: a scheme, a set of items, a retirement rule and an order.

>>> camp = store.create_campaign("fr-round1", "fr-morphology", coll.ids, retire=3)  # doctest: +SKIP
>>> item = camp.next_item("ada")                 # an item ada has not seen, not retired
>>> store.annotate(item, {...}, annotator="ada", campaign="fr-round1")

Assignment
----------
:meth:`Campaign.next_item` hands out *claims*. In one write transaction it picks the first
item (in random or priority order) that the annotator has never been given, that is not
retired, and whose live annotations plus open claims are below its retirement count; it
records an ``open`` claim and counts it. So concurrent annotators never receive the same
item twice and never push an item past its retirement count (an item stops being handed
out once ``n_done + n_open`` reaches it; the only excess comes from claims that expired,
at most one per annotator labelling at that moment). On SQLite the transaction holds the
write lock (``BEGIN IMMEDIATE``); on PostgreSQL the chosen row is locked with
``SELECT ... FOR UPDATE SKIP LOCKED``, so annotators do not queue behind each other.

Calling ``next_item`` again while holding an open claim returns the same item (a widget
that was rebuilt resumes where it was). :meth:`Campaign.release` gives an item back
(skip): it will not be shown to that annotator again. Claims older than ``claim_ttl``
seconds expire (the annotator walked away) and the item goes back into the pool (looked
for at most every tenth of the TTL, and at least every 10 s).

:meth:`Campaign.annotate_and_claim` is what a labeling view calls when an answer finishes
the item shown: the annotation, its claim's closing, the item's count and retirement, and
the claim of the annotator's next item, in one transaction (one commit per item labelled,
with the same guarantees as :meth:`LabelStore.annotate` followed by :meth:`next_item`).
The statements of this path are built once with bound parameters (SQLAlchemy compiles
each once) and read back what they change with ``RETURNING``; on PostgreSQL, closing the
claim and counting the answer are one statement, and so are picking, claiming and
counting the next item (without gold items), through data-modifying CTEs; that pick
finds nothing while the annotator holds an open claim, and only then is the claim read
(three statements per answer). Making a campaign or adding items refreshes PostgreSQL's
statistics of the campaign tables (:func:`analyze`), so that its planner does not take
them for empty ones until autovacuum gets to them.

Retirement
----------
An item retires when its live (not retracted) annotations reach its ``retire_at``: the
campaign's ``retire``, or the count of the early-retirement rule. ``early_retire`` is a
dict ``{"max_components": 1, "retire": 5}`` (RGZ: single-component images retire after 5
classifications instead of 20), applied with the ``n_components`` of each item.

What the annotator sees
-----------------------
``show_columns`` lists the catalog columns shown beside the images (the id always);
``None`` (the default) means :data:`workbench.core.blind.CAMPAIGN_DEFAULT`: the id and,
where present, RA/Dec. :meth:`Campaign.shown_columns` applies the rule to a catalog's
columns; every view of the campaign (notebook Labeler, served page) goes through it.

Gold items
----------
``gold={item_id: answer}`` marks campaign items whose answer to the scheme's class question
is known, and ``gold_rate`` is the fraction of each annotator's items drawn from them. Each
time :meth:`Campaign.next_item` picks a new item it makes a deterministic pseudo-random
draw (SHA-256 of the campaign, its seed, the annotator and how many items they were given
so far): below ``gold_rate``, and if a gold item they have not seen is left, they get that
(in the campaign's random order); otherwise an ordinary item. Gold items are handed out
only while ordinary items remain for the annotator. Nothing the annotator is shown tells
them apart: a gold item is an ordinary item id with the same catalog columns.

Gold items never retire and are left out of the campaign's progress (``n_items``,
``n_retired``, ``fraction_retired`` count ordinary items only; ``n_gold`` counts gold
ones); every annotator may be given each of them once. Their annotations are kept like
any other and measure the annotator: accuracy on gold in
:func:`workbench.labeling.report.campaign_report`, and Dawid-Skene consensus (one-coin by
default in a campaign with gold) weights each annotator by their accuracy on gold and clamps
gold items to their known class (:func:`workbench.labeling.consensus.campaign_consensus`;
consensus and reports live beside the labeling logic, not in the store). The consensus of a gold item is always its gold
answer.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import threading
import time
from collections.abc import Iterable, Mapping
from types import SimpleNamespace

import numpy as np
import pandas as pd
import sqlalchemy as sa

from workbench.core.blind import shown_columns as _shown_columns
from workbench.core.errors import StoreError
from workbench.core.schemes import Scheme, get_scheme
from workbench.io.labels import schema as S
from workbench.io.labels._db import check_annotator, chunks, default_annotator, jsonable, utcnow

__all__ = ["Campaign", "create_campaign", "analyze", "ORDERS", "CLAIM_TTL", "gold_turn",
           "check_gold", "gold_question", "gold_answer"]

ORDERS = ("random", "priority")
#: Seconds after which an open claim expires and the item returns to the pool.
CLAIM_TTL = 3600.0

_now = utcnow
_chunks = chunks


def gold_turn(campaign: str, seed, annotator: str, n_given: int, rate: float) -> bool:
    """Whether the ``n_given``-th item handed to ``annotator`` should be a gold item.

    A deterministic draw, uniform in [0, 1), from SHA-256 of the campaign name, its seed,
    the annotator and ``n_given``, compared with ``rate``.
    """
    if not rate or rate <= 0:
        return False
    text = f"{campaign}\x00{seed}\x00{annotator}\x00{int(n_given)}".encode()
    u = int.from_bytes(hashlib.sha256(text).digest()[:8], "big") / 2.0 ** 64
    return u < float(rate)


def gold_question(scheme: Scheme):
    """The question gold answers answer: the scheme's item-level class question, a choice
    (a :class:`~workbench.core.schemes.Question`), or None when the scheme has none."""
    qid = scheme.class_question
    q = None if qid is None else scheme.question(qid)
    if q is None or q.type != "choice" or q.scope != "item":
        return None
    return q


def gold_answer(question, value):
    """``value`` as one of ``question``'s answer values, spelled as the scheme spells it
    (equal to one, or equal as text: ``"FRI"``, ``np.str_("FRI")``, ``1`` for ``"1"``), or
    None when it is none of them (None, NaN, an unknown class)."""
    if value is None:
        return None
    values = list(question.values)
    try:
        if value in values:
            return values[values.index(value)]
    except (TypeError, ValueError):  # e.g. an array in a catalog cell
        pass
    return {str(v): v for v in values}.get(str(value))


def check_gold(scheme: Scheme, gold: Mapping) -> dict:
    """``{item_id: answer}`` checked against the scheme's class question (a choice, see
    :func:`gold_question`); answers are returned as the scheme spells them
    (:func:`gold_answer`; StoreError otherwise)."""
    q = gold_question(scheme)
    if q is None:
        raise StoreError(f"gold items need an item-level class question; scheme "
                         f"{scheme.name!r} has none")
    out, bad = {}, []
    for iid, v in dict(gold).items():
        answer = gold_answer(q, v)
        if answer is None:
            bad.append(v)
        else:
            out[str(iid)] = jsonable(answer)
    if bad:
        raise StoreError(f"gold answers {sorted({repr(b) for b in bad})[:5]} are not among the "
                         f"{q.id!r} values {list(q.values)} of scheme {scheme.name!r}")
    return out


def _check_show(show_columns) -> list[str] | None:
    if show_columns is None:
        return None
    if isinstance(show_columns, str):
        show_columns = [c for c in show_columns.split(",")]
    cols = [str(c).strip() for c in show_columns]
    bad = [c for c in cols if not c or len(c) > 255 or not c.isprintable()]
    if bad:
        raise StoreError(f"show_columns has unusable column names {bad[:5]!r}")
    return list(dict.fromkeys(cols))


def _retire_at(n_components, retire: int, early_retire: dict | None) -> int:
    """An item's retirement count: ``early_retire["retire"]`` for items with at most
    ``early_retire["max_components"]`` components (the RGZ rule), else ``retire``. An item
    whose component count is unknown (None or NaN) keeps ``retire``."""
    if not early_retire or n_components is None or not np.isfinite(float(n_components)):
        return int(retire)
    if int(n_components) <= int(early_retire["max_components"]):
        return int(early_retire["retire"])
    return int(retire)


def items_rows(conn, campaign_id, item_ids) -> dict:
    """item_id -> campaign_items row, for the given ids of one campaign."""
    ci = S.campaign_items
    out = {}
    for part in _chunks([str(i) for i in item_ids]):
        for r in conn.execute(sa.select(ci).where(ci.c.campaign_id == campaign_id,
                                                  ci.c.item_id.in_(part))):
            out[r.item_id] = r
    return out


@functools.cache
def _sql() -> SimpleNamespace:
    """The statements of the labelling hot path (annotate, claim), built once with bound
    parameters so that SQLAlchemy compiles each once (its compiled cache) instead of
    building expressions on every call."""
    ci, cl, b = S.campaign_items, S.claims, sa.bindparam
    claim_of = (cl.c.campaign_id == b("b_cid"), cl.c.item_id == b("b_item"),
                cl.c.annotator == b("b_who"))
    item_of = (ci.c.campaign_id == b("b_cid"), ci.c.item_id == b("b_item"))
    seen = sa.select(cl.c.item_id).where(cl.c.campaign_id == b("b_cid"),
                                         cl.c.annotator == b("b_who"))
    pick = sa.select(ci.c.item_id).where(
        ci.c.campaign_id == b("b_cid"), ci.c.retired == sa.false(), ci.c.gold == sa.false(),
        ci.c.n_done + ci.c.n_open < ci.c.retire_at, ci.c.item_id.not_in(seen))
    picks = {}
    for order in ORDERS:
        q = pick.order_by(ci.c.priority.desc().nulls_last(), ci.c.position) \
            if order == "priority" else pick.order_by(ci.c.position)
        picks[order, False] = q.limit(1)
        picks[order, True] = q.limit(1).with_for_update(skip_locked=True, of=ci)
        # PostgreSQL, when every item left is locked by another writer for a moment:
        # wait for them (a locked item is not a finished one)
        picks[order, "wait"] = q.limit(1).with_for_update(of=ci)
    # PostgreSQL: fewer round trips (each one, in a server, is a wait for the database and
    # then for the interpreter, with row locks held) through data-modifying CTEs.
    # done_closing: close the open claim and count the answer in one statement (``closed``
    # says whether there was an open claim); pick_claim: pick the next item, claim it and
    # count the claim in one statement (the picked item id, or nothing)
    closed = cl.update().where(*claim_of, cl.c.state == "open").values(state="done") \
        .returning(cl.c.item_id).cte("wb_closed")
    n_closed = sa.select(sa.func.count()).select_from(closed).scalar_subquery()
    done_closing = ci.update().where(*item_of).values(
        n_done=ci.c.n_done + 1, n_open=ci.c.n_open - n_closed,
        retired=sa.and_(ci.c.gold == sa.false(), (ci.c.n_done + 1) >= ci.c.retire_at)) \
        .returning(ci.c.round, ci.c.strategy, ci.c.priority, ci.c.n_done, ci.c.retire_at,
                   ci.c.gold, n_closed.label("closed")).add_cte(closed)
    # the pick of pick_claim finds nothing while the annotator holds an open claim (the
    # caller then reads that claim, as next_item returns it): one statement fewer, with
    # the answered item's row lock held, on the usual path
    none_open = ~sa.exists().where(cl.c.campaign_id == b("b_cid"), cl.c.annotator == b("b_who"),
                                   cl.c.state == "open")
    pick_claim = {}
    for order in ORDERS:
        chosen = picks[order, True].where(none_open).cte("wb_pick")
        claimed = cl.insert().from_select(
            ["campaign_id", "item_id", "annotator", "state", "claimed"],
            sa.select(b("b_cid", type_=cl.c.campaign_id.type), chosen.c.item_id,
                      b("b_who", type_=cl.c.annotator.type), sa.literal("open"),
                      b("b_now", type_=cl.c.claimed.type))) \
            .returning(cl.c.item_id).cte("wb_claimed")
        # item_id = (scalar subquery), not IN: an index condition on the primary key
        # whatever the table's statistics say (IN was planned as a scan of every item of
        # the campaign while the statistics were those of an empty table)
        pick_claim[order] = ci.update().where(
            ci.c.campaign_id == b("b_cid"),
            ci.c.item_id == sa.select(claimed.c.item_id).scalar_subquery()) \
            .values(n_open=ci.c.n_open + 1).returning(ci.c.item_id) \
            .add_cte(chosen).add_cte(claimed)
    return SimpleNamespace(
        done_closing=done_closing, pick_claim=pick_claim,
        mine=sa.select(cl.c.item_id).where(cl.c.campaign_id == b("b_cid"),
                                           cl.c.annotator == b("b_who"),
                                           cl.c.state == "open").limit(1),
        picks=picks,
        n_given=sa.select(sa.func.count()).where(cl.c.campaign_id == b("b_cid"),
                                                 cl.c.annotator == b("b_who")),
        gold_pick=sa.select(ci.c.item_id).where(
            ci.c.campaign_id == b("b_cid"), ci.c.gold == sa.true(),
            ci.c.item_id.not_in(seen)).order_by(ci.c.position).limit(1),
        claim=cl.insert().values(campaign_id=b("b_cid"), item_id=b("b_item"),
                                 annotator=b("b_who"), state=b("b_state"),
                                 claimed=b("b_now")),
        opened=ci.update().where(*item_of).values(n_open=ci.c.n_open + 1),
        close_open=cl.update().where(*claim_of, cl.c.state == "open").values(state="done"),
        close_any=cl.update().where(*claim_of).values(state="done"),
        done=ci.update().where(*item_of).values(
            n_done=ci.c.n_done + 1, n_open=ci.c.n_open - b("b_open"),
            retired=sa.and_(ci.c.gold == sa.false(), (ci.c.n_done + 1) >= ci.c.retire_at))
        .returning(ci.c.round, ci.c.strategy, ci.c.priority, ci.c.n_done, ci.c.retire_at,
                   ci.c.gold),
    )


def record_done(conn, crow, item_ids, annotator, when) -> dict:
    """Inside an annotate transaction, before the annotations are inserted: close the
    annotator's claims on ``item_ids`` (an open one stops counting), count the answers and
    retire the items that reach their count. Returns item_id -> the item's ``round``,
    ``strategy``, ``priority``, new ``n_done``, ``retire_at`` and ``gold`` (items not in
    the campaign are missing)."""
    q = _sql()
    pg = conn.dialect.name == "postgresql"
    out = {}
    for iid in item_ids:
        key = {"b_cid": crow.id, "b_item": iid, "b_who": annotator}
        if pg:  # one statement when the annotator held an open claim (the usual case)
            row = conn.execute(q.done_closing, key).first()
            closed = row is not None and bool(row.closed)
        else:
            closed = conn.execute(q.close_open, key).rowcount
        if not closed and not conn.execute(q.close_any, key).rowcount:
            conn.execute(q.claim, {**key, "b_state": "done", "b_now": when})
        if not pg:
            row = conn.execute(q.done, {"b_cid": crow.id, "b_item": iid,
                                        "b_open": 1 if closed else 0}).first()
        if row is not None:
            out[iid] = row
    return out


def record_retraction(conn, campaign_name, item_id) -> None:
    """Inside a retract transaction: the item's live count drops (it may un-retire)."""
    ci = S.campaign_items
    cid = conn.execute(sa.select(S.campaigns.c.id).where(
        S.campaigns.c.name == campaign_name)).scalar()
    if cid is None:
        return
    conn.execute(ci.update().where(ci.c.campaign_id == cid, ci.c.item_id == item_id).values(
        n_done=ci.c.n_done - 1,
        retired=sa.and_(ci.c.gold == sa.false(), (ci.c.n_done - 1) >= ci.c.retire_at)))


def create_campaign(store, name: str, scheme, item_ids: Iterable, *, retire: int = 3,
                    order: str = "random", early_retire: Mapping | None = None,
                    n_components: Mapping | None = None, priorities: Mapping | None = None,
                    seed: int = 0, description: str = "", created_by: str | None = None,
                    show_columns: Iterable[str] | None = None, gold: Mapping | None = None,
                    gold_rate: float | None = None):
    """Make a campaign in ``store``.

    Parameters
    ----------
    name : str
        Unique campaign name.
    scheme : str or Scheme
        The label scheme (newest version when given by name).
    item_ids : iterable of str
        The items to label (Collection ids), gold items included.
    retire : int
        Live annotations after which an item retires (RGZ used 20).
    order : {"random", "priority"}
        ``random``: a seeded random order; ``priority``: highest priority first (see
        :meth:`Campaign.set_priorities`), random order among equal or unset priorities.
    early_retire : dict, optional
        ``{"max_components": 1, "retire": 5}``: items with at most that many components
        (from ``n_components``) retire after ``retire`` annotations.
    n_components : dict of item_id -> int, optional
        Components per item (see :func:`workbench.io.components.compute_components`).
    priorities : dict of item_id -> float, optional
        Initial priorities.
    seed : int
        Seed of the random order (and of the gold draws).
    show_columns : list of str, optional
        Catalog columns annotators see beside the images (the id always); None: the id and
        RA/Dec (:data:`workbench.core.blind.CAMPAIGN_DEFAULT`). The store does not know the
        catalog: check the names against it first (the CLI does).
    gold : dict of item_id -> answer, optional
        Items of ``item_ids`` whose answer to the scheme's class question is known (see
        the module docstring).
    gold_rate : float, optional
        Fraction (0 < rate < 1) of each annotator's items drawn from the gold items;
        required with ``gold``.
    """
    sch = get_scheme(scheme)
    ids = [str(i) for i in item_ids]
    if not ids:
        raise StoreError(f"campaign {name!r} has no items")
    if len(set(ids)) != len(ids):
        raise StoreError(f"campaign {name!r}: item ids repeat")
    if order not in ORDERS:
        raise StoreError(f"order must be one of {ORDERS}, not {order!r}")
    retire = int(retire)
    if retire < 1:
        raise StoreError(f"retire must be at least 1, not {retire}")
    show = _check_show(show_columns)
    gold_map = check_gold(sch, gold) if gold else {}
    if gold_map:
        outside = [i for i in gold_map if i not in set(ids)]
        if outside:
            raise StoreError(f"gold item(s) {outside[:5]} are not among the campaign's items")
        if gold_rate is None or not 0.0 < float(gold_rate) < 1.0:
            raise StoreError(f"campaign {name!r}: gold items need a gold rate between 0 and 1 "
                             f"(exclusive), not {gold_rate!r}")
        if len(gold_map) == len(ids):
            raise StoreError(f"campaign {name!r}: every item is a gold item; nothing would be "
                             f"labelled", hint="use fewer gold items")
    elif gold_rate:
        raise StoreError(f"campaign {name!r}: a gold rate needs gold items")
    rate = float(gold_rate) if gold_map else None
    retire_at = {i: retire for i in ids}
    if early_retire:
        if not {"max_components", "retire"} <= set(early_retire):
            raise StoreError("early_retire must be a dict with 'max_components' and 'retire'")
        if n_components is None:
            raise StoreError("early_retire needs each item's n_components",
                             hint="compute components first (workbench components COLLECTION)")
        retire_at = {i: _retire_at(n_components.get(i), retire, early_retire) for i in ids}
    rng = np.random.default_rng(seed)
    position = np.empty(len(ids), dtype=np.int64)
    position[rng.permutation(len(ids))] = np.arange(len(ids))
    prio = dict(priorities or {})
    creator = check_annotator(created_by or default_annotator())

    def work(conn):
        if conn.execute(sa.select(S.campaigns.c.id).where(S.campaigns.c.name == name)).first():
            raise StoreError(f"a campaign named {name!r} already exists", path=store._where,
                             hint="choose another name")
        cid = conn.execute(S.campaigns.insert().values(
            name=name, scheme=sch.name, scheme_version=sch.version, retire=retire,
            item_order=order, early_retire=None if not early_retire else dict(early_retire),
            seed=int(seed), description=description, created_by=creator, created=_now(),
            show_columns=show, gold_rate=rate)).inserted_primary_key[0]
        rows = [{"campaign_id": cid, "item_id": i, "position": int(position[k]),
                 "priority": None if prio.get(i) is None else float(prio[i]),
                 "round": None, "strategy": None, "retire_at": retire_at[i], "n_done": 0,
                 "n_open": 0, "retired": False, "gold": i in gold_map,
                 "gold_answer": gold_map.get(i)} for k, i in enumerate(ids)]
        for part in _chunks(rows, 5000):
            conn.execute(S.campaign_items.insert(), part)

    store._tx(work)
    analyze(store)
    return Campaign(store, name)


def analyze(store) -> None:
    """On PostgreSQL, refresh the planner's statistics of the campaign tables after many
    rows were added (a campaign made, items added). Until autovacuum gets to it (a minute
    or more) the planner takes a fresh campaign's tables for empty ones and picks, for the
    answer's update by primary key, an index scan over every item of the campaign.
    Nothing on SQLite; best effort (a role that does not own the tables gets a warning
    from PostgreSQL, not an error)."""
    if store.dialect != "postgresql":
        return
    try:
        with store.engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("ANALYZE wb_campaign_items, wb_claims")
    except sa.exc.DBAPIError:
        pass


class Campaign:
    """A labelling campaign in a :class:`~workbench.io.labels.store.LabelStore`.

    Attributes
    ----------
    name, scheme_name : str
    scheme : Scheme
    retire : int
    order : str
    early_retire : dict or None
    show_columns : list of str or None
        The catalog columns annotators see (None: the default rule, see
        :meth:`shown_columns`).
    gold_rate : float
        Fraction of each annotator's items drawn from the gold items (0: no gold).
    claim_ttl : float
        Seconds after which an open claim expires.
    progress_ttl : float
        Seconds :meth:`progress` may reuse the campaign's counts (``done``, ``total``)
        instead of counting again (default 0: always count). Writes made through
        :meth:`annotate_and_claim` of this object keep them exact meanwhile; a server
        sharing one object between its annotators sets it, so that showing an item does
        not count the campaign's items.
    """

    def __init__(self, store, name: str, *, claim_ttl: float = CLAIM_TTL):
        self.store = store
        self.name = str(name)
        self.claim_ttl = float(claim_ttl)
        with store._read() as conn:
            row = store._campaign_row(conn, self.name)
        self.id = int(row.id)
        self.scheme_name = row.scheme
        self.scheme_version = int(row.scheme_version)
        self.retire = int(row.retire)
        self.order = row.item_order
        self.early_retire = row.early_retire
        self.seed = row.seed
        self.description = row.description or ""
        self.created = row.created
        self.created_by = row.created_by
        show = row.show_columns
        self.show_columns = None if show is None else [str(c) for c in show]
        self.gold_rate = float(row.gold_rate or 0.0)
        self._gold = None
        self._row = row  # what annotate_and_claim writes with (a campaign never changes)
        self.progress_ttl = 0.0
        self._counts = None  # (monotonic time, done, total) of the last progress read
        self._expired_at = -np.inf
        self._lock = threading.Lock()

    @property
    def scheme(self):
        return get_scheme(self.scheme_name, self.scheme_version)

    def __repr__(self) -> str:
        return (f"<Campaign {self.name!r}: scheme {self.scheme_name} v{self.scheme_version}, "
                f"retire {self.retire}, order {self.order}>")

    def shown_columns(self, columns: Iterable[str]) -> list[str]:
        """The columns of ``columns`` (a catalog's, in its order) annotators of this campaign
        see: its ``show_columns``, or the id and RA/Dec (see :mod:`workbench.core.blind`)."""
        return _shown_columns(columns, self.show_columns, campaign=True)

    @property
    def item_ids(self) -> list[str]:
        """The campaign's items (gold ones included) in presentation order (ignoring
        priorities)."""
        ci = S.campaign_items
        with self.store._read() as conn:
            return list(conn.execute(sa.select(ci.c.item_id).where(ci.c.campaign_id == self.id)
                                     .order_by(ci.c.position)).scalars())

    @property
    def gold(self) -> dict:
        """``{item_id: answer}`` of the gold items (the answer to the class question); for
        the campaign lead and consensus, never for what annotators are shown."""
        if self._gold is None:
            ci = S.campaign_items
            with self.store._read() as conn:
                rows = conn.execute(sa.select(ci.c.item_id, ci.c.gold_answer).where(
                    ci.c.campaign_id == self.id, ci.c.gold == sa.true())
                    .order_by(ci.c.position)).all()
            self._gold = {str(i): a for i, a in rows}
        return dict(self._gold)

    # ------------------------------------------------------------------ assignment
    def next_item(self, annotator: str | None = None) -> str | None:
        """The next item for ``annotator`` (None when nothing is left for them).

        See the module docstring for the guarantees under concurrency and for how gold
        items are mixed in.
        """
        annotator = check_annotator(annotator or default_annotator())
        return self.store._tx(lambda conn: self._claim(conn, annotator, wait=True))

    def _claim(self, conn, annotator: str, *, wait: bool) -> str | None:
        """Inside a write transaction: ``annotator``'s open claim, else a new claim on the
        next item for them (None when nothing is left); see :meth:`next_item`.

        On PostgreSQL the pick skips items other writers hold locked (annotators do not
        queue behind each other); when that finds nothing and ``wait`` is true, the pick
        is repeated waiting for those locks, so that an item locked for a moment is not
        taken for a finished one. (A deadlock this wait may meet is retried by
        ``LabelStore._tx``.)"""
        q = _sql()
        key = {"b_cid": self.id, "b_who": annotator}
        order = self.order if self.order in ORDERS else "random"
        pg = self.store.dialect == "postgresql"
        fused = pg and not self.gold_rate > 0  # pick, claim and count in one statement
        tried = False
        if fused and not self._expire_due():
            # first the pick, which finds nothing while they hold an open claim (that
            # claim is read below): one statement on the usual path
            item = conn.execute(q.pick_claim[order], {**key, "b_now": _now()}).scalar()
            if item is not None:
                return item
            tried = True
        mine = conn.execute(q.mine, key).scalar()
        if mine is not None:
            return mine
        now = _now()
        looked = self._expire(conn, now)
        if fused:
            item = None if tried and not looked else \
                conn.execute(q.pick_claim[order], {**key, "b_now": now}).scalar()
            if item is not None or not wait:
                return item
            item = conn.execute(q.picks[order, "wait"], key).scalar()
        else:
            item = conn.execute(q.picks[order, pg], key).scalar()
            if item is None and wait and pg:
                item = conn.execute(q.picks[order, "wait"], key).scalar()
        if item is None:
            return None
        if self.gold_rate > 0:
            n_given = conn.execute(q.n_given, key).scalar()
            if gold_turn(self.name, self.seed, annotator, n_given, self.gold_rate):
                g = conn.execute(q.gold_pick, key).scalar()
                if g is not None:
                    item = g
        conn.execute(q.claim, {**key, "b_item": item, "b_state": "open", "b_now": now})
        conn.execute(q.opened, {"b_cid": self.id, "b_item": item})
        return item

    def annotate_and_claim(self, item_id, answers, *, annotator: str, scheme=None,
                           started=None, ended=None, source: str | None = None,
                           source_detail: Mapping | None = None,
                           n_components: int | None = None) -> tuple[int, str | None]:
        """Record ``annotator``'s answers to ``item_id`` and claim their next item, in one
        transaction: ``(annotation id, next item or None)``.

        What :meth:`annotate` then :meth:`next_item` do, with one commit instead of two (a
        labeling view calls this when an answer finishes the item shown). The arguments
        are those of :meth:`LabelStore.annotate`.
        """
        who = check_annotator(annotator)
        ids, (done, item) = self.store._annotate(
            [str(item_id)], answers, annotator=who, scheme=scheme, campaign=self.name,
            started=started, ended=ended, source=source, source_detail=source_detail,
            bulk=False, n_components=n_components, uids=None, crow=self._row,
            then=lambda conn, done: (done, self._claim(conn, who, wait=False)))
        self._counted(done)
        if item is None and self.store.dialect == "postgresql":
            # nothing unlocked was left: ask again in a transaction that holds no lock of
            # its own, waiting for items other writers hold for a moment
            item = self.next_item(who)
        return ids[0], item

    def _counted(self, done: Mapping) -> None:
        """Keep the cached progress (see :attr:`progress_ttl`) exact after a write through
        this object: items whose new count reached their retirement count retired."""
        newly = sum(1 for r in done.values() if not r.gold and int(r.n_done) == int(r.retire_at))
        with self._lock:
            if newly and self._counts is not None:
                t, d, total = self._counts
                self._counts = (t, min(total, d + newly), total)

    def _expire_due(self) -> bool:
        """Whether :meth:`_expire` would look for expired claims now."""
        return bool(np.isfinite(self.claim_ttl)) and \
            time.monotonic() - self._expired_at >= min(self.claim_ttl / 10.0, 10.0)

    def _expire(self, conn, now) -> bool:
        """Open claims older than ``claim_ttl`` expire (looked for at most every tenth of
        the TTL, and at least every 10 s). Returns whether it looked."""
        if not self._expire_due():
            return False
        self._expired_at = time.monotonic()
        ci, cl = S.campaign_items, S.claims
        cutoff = now - _dt.timedelta(seconds=self.claim_ttl)
        stale = conn.execute(sa.select(cl.c.item_id, cl.c.annotator).where(
            cl.c.campaign_id == self.id, cl.c.state == "open", cl.c.claimed < cutoff)).all()
        for item, who in stale:
            n = conn.execute(cl.update().where(
                cl.c.campaign_id == self.id, cl.c.item_id == item, cl.c.annotator == who,
                cl.c.state == "open").values(state="expired")).rowcount
            if n:
                conn.execute(ci.update().where(ci.c.campaign_id == self.id, ci.c.item_id == item)
                             .values(n_open=ci.c.n_open - 1))
        return True

    def release(self, annotator: str | None, item_id: str) -> bool:
        """Give back an item shown to ``annotator`` without answering (skip).

        The item returns to the pool for others; ``annotator`` will not be given it again.
        Returns False if they held no open claim on it.
        """
        annotator = str(annotator or default_annotator())
        ci, cl = S.campaign_items, S.claims

        def work(conn):
            n = conn.execute(cl.update().where(
                cl.c.campaign_id == self.id, cl.c.item_id == str(item_id),
                cl.c.annotator == annotator, cl.c.state == "open").values(state="skipped")).rowcount
            if n:
                conn.execute(ci.update().where(ci.c.campaign_id == self.id,
                                               ci.c.item_id == str(item_id))
                             .values(n_open=ci.c.n_open - 1))
            return bool(n)

        return self.store._tx(work)

    def annotate(self, item_id, answers, **kwargs) -> int:
        """Record an annotation in this campaign (see :meth:`LabelStore.annotate`)."""
        return self.store.annotate(item_id, answers, campaign=self.name, **kwargs)

    # ------------------------------------------------------------------ queue
    def set_priorities(self, scores: Mapping, *, round: int | None = None,  # noqa: A002
                       strategy: str | None = None) -> int:
        """Set queue priorities (higher first in ``priority`` order); returns the count.

        Parameters
        ----------
        scores : dict of item_id -> float
            Items of this campaign; NaN or None clears an item's priority.
        round : int, optional
            The active-learning round that computed them (recorded per item and copied
            into the ``source_detail`` of annotations made on those items).
        strategy : str, optional
            The acquisition strategy (``"entropy"``, ``"random"``, ...).
        """
        ci = S.campaign_items
        rows = []
        for iid, v in dict(scores).items():
            v = None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
            rows.append({"b_item": str(iid), "priority": v,
                         "round": None if round is None else int(round), "strategy": strategy})
        if not rows:
            return 0
        stmt = ci.update().where(ci.c.campaign_id == self.id,
                                 ci.c.item_id == sa.bindparam("b_item")).values(
            priority=sa.bindparam("priority"), round=sa.bindparam("round"),
            strategy=sa.bindparam("strategy"))

        def work(conn):
            known = items_rows(conn, self.id, [r["b_item"] for r in rows])
            missing = [r["b_item"] for r in rows if r["b_item"] not in known]
            if missing:
                raise StoreError(f"item(s) {missing[:5]} are not in campaign {self.name!r}")
            for part in _chunks(rows, 5000):
                conn.execute(stmt, part)
            return len(rows)

        return self.store._tx(work)

    def add_items(self, item_ids: Iterable, *, n_components: Mapping | None = None) -> int:
        """Add (ordinary) items to the campaign (after the existing ones); returns how many
        were new."""
        ci = S.campaign_items
        ids = list(dict.fromkeys(str(i) for i in item_ids))

        def work(conn):
            have = items_rows(conn, self.id, ids)
            new = [i for i in ids if i not in have]
            start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(ci.c.position), -1))
                                 .where(ci.c.campaign_id == self.id)).scalar() + 1
            perm = np.random.default_rng((self.seed or 0) + start).permutation(len(new))
            rows = []
            for k, i in enumerate(new):
                at = _retire_at(None if n_components is None else n_components.get(i),
                                self.retire, self.early_retire)
                rows.append({"campaign_id": self.id, "item_id": i,
                             "position": int(start + perm[k]), "priority": None, "round": None,
                             "strategy": None, "retire_at": at, "n_done": 0, "n_open": 0,
                             "retired": False, "gold": False, "gold_answer": None})
            for part in _chunks(rows, 5000):
                conn.execute(ci.insert(), part)
            return len(rows)

        n = self.store._tx(work)
        if n:
            analyze(self.store)
        return n

    # ------------------------------------------------------------------ reading
    def items(self) -> pd.DataFrame:
        """Per item: position, priority, round, strategy, retire_at, n_done, n_open, retired,
        gold (a DataFrame indexed by nothing, in presentation order)."""
        ci = S.campaign_items
        cols = ["item_id", "position", "priority", "round", "strategy", "retire_at", "n_done",
                "n_open", "retired", "gold"]
        with self.store._read() as conn:
            rows = conn.execute(sa.select(*[ci.c[c] for c in cols]).where(
                ci.c.campaign_id == self.id).order_by(ci.c.position)).all()
        df = pd.DataFrame(rows, columns=cols)
        return df.astype({"item_id": "string", "position": "int64", "priority": "float64",
                          "round": "Int64", "strategy": "string", "retire_at": "int64",
                          "n_done": "int64", "n_open": "int64", "retired": "bool",
                          "gold": "bool"})

    def annotations(self, **kwargs) -> pd.DataFrame:
        """This campaign's annotations (see :meth:`LabelStore.annotations`)."""
        return self.store.annotations(campaign=self.name, **kwargs)

    def progress(self, annotator: str | None = None) -> dict:
        """Cheap progress figures for a labeling view (JSON-safe).

        ``done`` (retired ordinary items), ``total`` (ordinary items); with an
        ``annotator``, also ``mine`` (their live annotations in this campaign, gold ones
        included, so the figure does not reveal which were gold).
        """
        ci, a, r = S.campaign_items, S.annotations, S.retractions
        counts = self._counts
        if counts is None or time.monotonic() - counts[0] >= self.progress_ttl:
            tick = time.monotonic()
            with self.store._read() as conn:
                total, done = conn.execute(sa.select(
                    sa.func.count(), sa.func.coalesce(sa.func.sum(
                        sa.case((ci.c.retired, 1), else_=0)), 0)).where(
                    ci.c.campaign_id == self.id, ci.c.gold == sa.false())).one()
            counts = (tick, int(done), int(total))
            with self._lock:
                self._counts = counts
        out = {"done": counts[1], "total": counts[2]}
        if annotator is not None:
            with self.store._read() as conn:
                out["mine"] = int(conn.execute(sa.select(sa.func.count()).select_from(
                    a.outerjoin(r, r.c.annotation_id == a.c.id)).where(
                    a.c.campaign == self.name, a.c.annotator == str(annotator),
                    r.c.id.is_(None))).scalar())
        return out

    def status(self) -> dict:
        """A JSON-safe summary of progress (cheap; :meth:`report` adds per-annotator and
        per-day figures).

        Keys: name, scheme, scheme_version, retire, order, early_retire, show_columns,
        gold_rate, n_items, n_gold, n_retired, n_remaining, n_annotations, n_retracted,
        n_open, n_skipped, fraction_retired, annotators (name -> live annotations, gold
        included), rounds (round -> items queued by it), created, created_by. ``n_items``,
        ``n_retired``, ``n_remaining`` and ``fraction_retired`` count ordinary items only.
        """
        ci, a, r, cl = S.campaign_items, S.annotations, S.retractions, S.claims
        with self.store._read() as conn:
            n_items, n_retired, n_open, n_gold = conn.execute(sa.select(
                sa.func.coalesce(sa.func.sum(sa.case((ci.c.gold, 0), else_=1)), 0),
                sa.func.coalesce(sa.func.sum(sa.case((ci.c.retired, 1), else_=0)), 0),
                sa.func.coalesce(sa.func.sum(ci.c.n_open), 0),
                sa.func.coalesce(sa.func.sum(sa.case((ci.c.gold, 1), else_=0)), 0)).where(
                ci.c.campaign_id == self.id)).one()
            live = a.c.campaign == self.name
            joined = a.outerjoin(r, r.c.annotation_id == a.c.id)
            per = conn.execute(sa.select(a.c.annotator, sa.func.count()).select_from(joined)
                               .where(live, r.c.id.is_(None)).group_by(a.c.annotator)).all()
            n_retracted = conn.execute(sa.select(sa.func.count()).select_from(
                a.join(r, r.c.annotation_id == a.c.id)).where(live)).scalar()
            rounds = conn.execute(sa.select(ci.c.round, sa.func.count()).where(
                ci.c.campaign_id == self.id, ci.c.round.isnot(None)).group_by(ci.c.round)).all()
            n_skipped = conn.execute(sa.select(sa.func.count()).where(
                cl.c.campaign_id == self.id, cl.c.state == "skipped")).scalar()
        annotators = {str(k): int(v) for k, v in sorted(per)}
        n_ann = sum(annotators.values())
        n_items, n_retired = int(n_items), int(n_retired)
        return {
            "name": self.name, "scheme": self.scheme_name, "scheme_version": self.scheme_version,
            "retire": self.retire, "order": self.order, "early_retire": self.early_retire,
            "show_columns": self.show_columns, "gold_rate": self.gold_rate,
            "n_items": n_items, "n_gold": int(n_gold), "n_retired": n_retired,
            "n_remaining": n_items - n_retired, "n_annotations": n_ann,
            "n_retracted": int(n_retracted), "n_open": int(n_open), "n_skipped": int(n_skipped),
            "fraction_retired": float(n_retired) / n_items if n_items else 0.0,
            "annotators": annotators, "rounds": {str(k): int(v) for k, v in rounds},
            "created": None if self.created is None else self.created.isoformat() + "Z",
            "created_by": self.created_by,
        }
