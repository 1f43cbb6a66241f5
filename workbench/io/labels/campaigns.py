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
seconds expire (the annotator walked away) and the item goes back into the pool.

Retirement
----------
An item retires when its live (not retracted) annotations reach its ``retire_at``: the
campaign's ``retire``, or the count of the early-retirement rule. ``early_retire`` is a
dict ``{"max_components": 1, "retire": 5}`` (RGZ: single-component images retire after 5
classifications instead of 20), applied with the ``n_components`` of each item.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping

import numpy as np
import sqlalchemy as sa

from workbench.core.errors import StoreError
from workbench.core.schemes import get_scheme
from workbench.io.labels import schema as S

__all__ = ["Campaign", "create_campaign", "ORDERS"]

ORDERS = ("random", "priority")
#: Seconds after which an open claim expires and the item returns to the pool.
CLAIM_TTL = 3600.0


def _now():
    from workbench.io.labels.store import utcnow

    return utcnow()


def _chunks(seq, n=500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _retire_at(n_components, retire: int, early_retire: dict | None) -> int:
    """An item's retirement count: ``early_retire["retire"]`` for items with at most
    ``early_retire["max_components"]`` components (the RGZ rule), else ``retire``. An item
    whose component count is unknown (None or NaN) keeps ``retire``."""
    if not early_retire or n_components is None or not np.isfinite(float(n_components)):
        return int(retire)
    if int(n_components) <= int(early_retire["max_components"]):
        return int(early_retire["retire"])
    return int(retire)


def _items_rows(conn, campaign_id, item_ids) -> dict:
    """item_id -> campaign_items row, for the given ids of one campaign."""
    ci = S.campaign_items
    out = {}
    for part in _chunks([str(i) for i in item_ids]):
        for r in conn.execute(sa.select(ci).where(ci.c.campaign_id == campaign_id,
                                                  ci.c.item_id.in_(part))):
            out[r.item_id] = r
    return out


def _record_done(conn, crow, item_ids, annotator, when) -> None:
    """Inside an annotate transaction: close claims, count, retire."""
    ci, cl = S.campaign_items, S.claims
    for iid in item_ids:
        claim = conn.execute(sa.select(cl.c.state).where(
            cl.c.campaign_id == crow.id, cl.c.item_id == iid, cl.c.annotator == annotator)
        ).first()
        if claim is None:
            conn.execute(cl.insert().values(campaign_id=crow.id, item_id=iid,
                                            annotator=annotator, state="done", claimed=when))
            open_delta = 0
        else:
            open_delta = -1 if claim.state == "open" else 0
            conn.execute(cl.update().where(cl.c.campaign_id == crow.id, cl.c.item_id == iid,
                                           cl.c.annotator == annotator).values(state="done"))
        conn.execute(ci.update().where(ci.c.campaign_id == crow.id, ci.c.item_id == iid).values(
            n_done=ci.c.n_done + 1, n_open=ci.c.n_open + open_delta,
            retired=(ci.c.n_done + 1) >= ci.c.retire_at))


def _record_retraction(conn, campaign_name, item_id) -> None:
    ci = S.campaign_items
    cid = conn.execute(sa.select(S.campaigns.c.id).where(
        S.campaigns.c.name == campaign_name)).scalar()
    if cid is None:
        return
    conn.execute(ci.update().where(ci.c.campaign_id == cid, ci.c.item_id == item_id).values(
        n_done=ci.c.n_done - 1, retired=(ci.c.n_done - 1) >= ci.c.retire_at))


def create_campaign(store, name: str, scheme, item_ids: Iterable, *, retire: int = 3,
                    order: str = "random", early_retire: Mapping | None = None,
                    n_components: Mapping | None = None, priorities: Mapping | None = None,
                    seed: int = 0, description: str = "", created_by: str | None = None):
    """Make a campaign in ``store``.

    Parameters
    ----------
    name : str
        Unique campaign name.
    scheme : str or Scheme
        The label scheme (newest version when given by name).
    item_ids : iterable of str
        The items to label (Collection ids).
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
        Seed of the random order.
    """
    from workbench.io.labels.store import default_annotator

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

    def work(conn):
        if conn.execute(sa.select(S.campaigns.c.id).where(S.campaigns.c.name == name)).first():
            raise StoreError(f"a campaign named {name!r} already exists", path=store._where,
                             hint="choose another name")
        cid = conn.execute(S.campaigns.insert().values(
            name=name, scheme=sch.name, scheme_version=sch.version, retire=retire,
            item_order=order, early_retire=None if not early_retire else dict(early_retire),
            seed=int(seed), description=description,
            created_by=created_by or default_annotator(), created=_now())).inserted_primary_key[0]
        rows = [{"campaign_id": cid, "item_id": i, "position": int(position[k]),
                 "priority": None if prio.get(i) is None else float(prio[i]),
                 "round": None, "strategy": None, "retire_at": retire_at[i], "n_done": 0,
                 "n_open": 0, "retired": False} for k, i in enumerate(ids)]
        for part in _chunks(rows, 5000):
            conn.execute(S.campaign_items.insert(), part)

    store._tx(work)
    return Campaign(store, name)


class Campaign:
    """A labelling campaign in a :class:`~workbench.io.labels.store.LabelStore`.

    Attributes
    ----------
    name, scheme_name : str
    scheme : Scheme
    retire : int
    order : str
    early_retire : dict or None
    claim_ttl : float
        Seconds after which an open claim expires.
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

    @property
    def scheme(self):
        return get_scheme(self.scheme_name, self.scheme_version)

    def __repr__(self) -> str:
        return (f"<Campaign {self.name!r}: scheme {self.scheme_name} v{self.scheme_version}, "
                f"retire {self.retire}, order {self.order}>")

    @property
    def item_ids(self) -> list[str]:
        """The campaign's items in presentation order (ignoring priorities)."""
        ci = S.campaign_items
        with self.store._read() as conn:
            return list(conn.execute(sa.select(ci.c.item_id).where(ci.c.campaign_id == self.id)
                                     .order_by(ci.c.position)).scalars())

    # ------------------------------------------------------------------ assignment
    def next_item(self, annotator: str | None = None) -> str | None:
        """The next item for ``annotator`` (None when nothing is left for them).

        See the module docstring for the guarantees under concurrency.
        """
        from workbench.io.labels.store import default_annotator

        annotator = str(annotator or default_annotator())
        ci, cl = S.campaign_items, S.claims
        pg = self.store.dialect == "postgresql"

        def work(conn):
            now = _now()
            mine = conn.execute(sa.select(cl.c.item_id).where(
                cl.c.campaign_id == self.id, cl.c.annotator == annotator,
                cl.c.state == "open")).first()
            if mine is not None:
                return mine.item_id
            self._expire(conn, now)
            seen = sa.select(cl.c.item_id).where(cl.c.campaign_id == self.id,
                                                 cl.c.annotator == annotator)
            q = sa.select(ci.c.item_id).where(
                ci.c.campaign_id == self.id, ci.c.retired == sa.false(),
                ci.c.n_done + ci.c.n_open < ci.c.retire_at, ci.c.item_id.not_in(seen))
            if self.order == "priority":
                q = q.order_by(ci.c.priority.desc().nulls_last(), ci.c.position)
            else:
                q = q.order_by(ci.c.position)
            q = q.limit(1)
            if pg:
                q = q.with_for_update(skip_locked=True, of=ci)
            item = conn.execute(q).scalar()
            if item is None:
                return None
            conn.execute(cl.insert().values(campaign_id=self.id, item_id=item,
                                            annotator=annotator, state="open", claimed=now))
            conn.execute(ci.update().where(ci.c.campaign_id == self.id, ci.c.item_id == item)
                         .values(n_open=ci.c.n_open + 1))
            return item

        return self.store._tx(work)

    def _expire(self, conn, now) -> None:
        if not np.isfinite(self.claim_ttl):
            return
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

    def release(self, annotator: str | None, item_id: str) -> bool:
        """Give back an item shown to ``annotator`` without answering (skip).

        The item returns to the pool for others; ``annotator`` will not be given it again.
        Returns False if they held no open claim on it.
        """
        from workbench.io.labels.store import default_annotator

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
            known = _items_rows(conn, self.id, [r["b_item"] for r in rows])
            missing = [r["b_item"] for r in rows if r["b_item"] not in known]
            if missing:
                raise StoreError(f"item(s) {missing[:5]} are not in campaign {self.name!r}")
            for part in _chunks(rows, 5000):
                conn.execute(stmt, part)
            return len(rows)

        return self.store._tx(work)

    def add_items(self, item_ids: Iterable, *, n_components: Mapping | None = None) -> int:
        """Add items to the campaign (after the existing ones); returns how many were new."""
        ci = S.campaign_items
        ids = list(dict.fromkeys(str(i) for i in item_ids))

        def work(conn):
            have = _items_rows(conn, self.id, ids)
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
                             "retired": False})
            for part in _chunks(rows, 5000):
                conn.execute(ci.insert(), part)
            return len(rows)

        return self.store._tx(work)

    # ------------------------------------------------------------------ reading
    def items(self):
        """Per item: position, priority, round, strategy, retire_at, n_done, n_open, retired
        (a DataFrame indexed by nothing, in presentation order)."""
        import pandas as pd

        ci = S.campaign_items
        cols = ["item_id", "position", "priority", "round", "strategy", "retire_at", "n_done",
                "n_open", "retired"]
        with self.store._read() as conn:
            rows = conn.execute(sa.select(*[ci.c[c] for c in cols]).where(
                ci.c.campaign_id == self.id).order_by(ci.c.position)).all()
        df = pd.DataFrame(rows, columns=cols)
        return df.astype({"item_id": "string", "position": "int64", "priority": "float64",
                          "round": "Int64", "strategy": "string", "retire_at": "int64",
                          "n_done": "int64", "n_open": "int64", "retired": "bool"})

    def annotations(self, **kwargs):
        """This campaign's annotations (see :meth:`LabelStore.annotations`)."""
        return self.store.annotations(campaign=self.name, **kwargs)

    def status(self) -> dict:
        """A JSON-safe summary of progress.

        Keys: name, scheme, scheme_version, retire, order, early_retire, n_items, n_retired,
        n_remaining, n_annotations, n_retracted, n_open, fraction_retired, annotators
        (name -> live annotations), rounds (round -> items queued by it), created, created_by.
        """
        ci, a, r, cl = S.campaign_items, S.annotations, S.retractions, S.claims
        with self.store._read() as conn:
            n_items, n_retired, n_open = conn.execute(sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((ci.c.retired, 1),
                                                                      else_=0)), 0),
                sa.func.coalesce(sa.func.sum(ci.c.n_open), 0)).where(
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
        return {
            "name": self.name, "scheme": self.scheme_name, "scheme_version": self.scheme_version,
            "retire": self.retire, "order": self.order, "early_retire": self.early_retire,
            "n_items": int(n_items), "n_retired": int(n_retired),
            "n_remaining": int(n_items) - int(n_retired), "n_annotations": n_ann,
            "n_retracted": int(n_retracted), "n_open": int(n_open), "n_skipped": int(n_skipped),
            "fraction_retired": float(n_retired) / n_items if n_items else 0.0,
            "annotators": annotators, "rounds": {str(k): int(v) for k, v in rounds},
            "created": None if self.created is None else self.created.isoformat() + "Z",
            "created_by": self.created_by,
        }

    def consensus(self, method: str | None = None, **kwargs):
        """Consensus labels of this campaign's live annotations.

        ``method``: ``"majority"`` (per question), ``"dawid-skene"`` (annotator-skill
        weighting, ``gold={item_id: value}`` optional) or ``"rgz"`` (source identification;
        the default for schemes with a components question). See
        :mod:`workbench.io.labels.consensus`.
        """
        from workbench.io.labels import consensus as C

        scheme = self.scheme
        if method is None:
            method = "rgz" if any(q.type == "components" for q in scheme.questions) \
                else "majority"
        ann = self.annotations()
        item_ids = self.item_ids
        if method == "majority":
            return C.majority(ann, scheme, item_ids=item_ids, **kwargs)
        if method in ("dawid-skene", "dawid_skene", "ds"):
            return C.dawid_skene(ann, scheme, item_ids=item_ids, **kwargs)
        if method == "rgz":
            return C.rgz_consensus(ann, scheme, item_ids=item_ids, **kwargs)
        raise StoreError(f"unknown consensus method {method!r}; use majority, dawid-skene or rgz")
