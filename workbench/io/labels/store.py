"""The label store: durable, append-only annotation records on SQLite or PostgreSQL.

>>> store = open_store("survey/")                      # doctest: +SKIP
>>> aid = store.annotate("item-7", {"class": "frb"}, annotator="ada", scheme="transient")
>>> store.annotations(item_id="item-7")                 # doctest: +SKIP

By default the store is a SQLite file ``labels.sqlite`` beside the Collection, in WAL mode
with ``synchronous=FULL``: :meth:`LabelStore.annotate` returns only after the record is on
disk, several processes may write at once, and a process killed mid-way loses nothing that
was acknowledged. Any SQLAlchemy URL works too (``postgresql+psycopg://user@host/db``).

Nothing is ever deleted: undo is a retraction record (:meth:`LabelStore.retract`).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from workbench.core.errors import StoreError
from workbench.core.schemes import Scheme, get_scheme
from workbench.io.labels import campaigns as _campaigns
from workbench.io.labels import drafts as _drafts
from workbench.io.labels import invites as _invites
from workbench.io.labels import migrations
from workbench.io.labels import schema as S
from workbench.io.labels._db import as_time as _as_time
from workbench.io.labels._db import check_annotator, default_annotator, loads, utcnow
from workbench.io.labels._db import jsonable as _jsonable
from workbench.io.labels.campaigns import Campaign

__all__ = ["LabelStore", "open_store", "default_annotator", "STORE_FILE", "ANNOTATION_COLUMNS"]

#: File name of the default SQLite store inside a Collection folder.
STORE_FILE = "labels.sqlite"
_SQLITE_MAGIC = b"SQLite format 3\x00"

#: Columns (and pandas dtypes) of :meth:`LabelStore.annotations`.
ANNOTATION_COLUMNS = {
    "id": "int64", "item_id": "string", "annotator": "string", "scheme": "string",
    "scheme_version": "int64", "answers": "object", "started": "datetime64[us, UTC]",
    "ended": "datetime64[us, UTC]", "created": "datetime64[us, UTC]", "source": "string",
    "source_detail": "object", "campaign": "string", "bulk": "bool", "retracted": "bool",
}


#: URL schemes (SQLAlchemy dialects) a label store may use; anything else is refused
#: before a connection is tried or a file is made.
STORE_DIALECTS = ("sqlite", "postgresql")


def _check_url(text: str) -> None:
    """Refuse a store URL that is malformed or names a database the workbench does not
    support (``foo://bar``), before anything is created."""
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError as exc:
        raise StoreError("not a database URL", path=text,
                         hint="use a file path, sqlite:///FILE or postgresql+psycopg://...") \
            from exc
    backend = url.get_backend_name()
    if backend not in STORE_DIALECTS:
        safe = url.render_as_string(hide_password=True)
        raise StoreError(f"unsupported label store URL scheme {url.drivername!r}", path=safe,
                         hint=f"use a file path, or a URL for one of {', '.join(STORE_DIALECTS)}")


def _check_sqlite_file(path: Path) -> None:
    """Refuse (without touching it) a file that is not an intact workbench label store."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb") as fh:
        head = fh.read(100)
    if not head.startswith(_SQLITE_MAGIC):
        raise StoreError("not a label store: the file is not a SQLite database", path=path,
                         hint="point the store at a new file or at a workbench labels.sqlite")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the label store ({exc})", path=path) from exc
    try:
        ok = con.execute("PRAGMA quick_check(1)").fetchone()[0]
        if ok != "ok":
            raise StoreError(f"the label store is corrupt (SQLite integrity check: {ok})",
                             path=path, hint="restore it from a backup; it was not modified")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return
        if "wb_meta" not in tables:
            raise StoreError(f"not a workbench label store (a SQLite database with tables "
                             f"{sorted(tables)[:6]})", path=path,
                             hint="point the store at a new file")
        fmt = dict(con.execute("SELECT key, value FROM wb_meta").fetchall()).get("format")
        if fmt != S.FORMAT:
            raise StoreError(f"not a workbench label store (format marker {fmt!r})", path=path)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"the label store is corrupt or unreadable ({exc})", path=path,
                         hint="restore it from a backup; it was not modified") from exc
    finally:
        con.close()


class LabelStore:
    """Annotation records, campaigns and retractions in one SQL database.

    Parameters
    ----------
    url_or_path : str or path-like
        A SQLAlchemy URL (``sqlite:///x.sqlite``, ``postgresql+psycopg://...``) or the path
        of a SQLite file (made if absent).
    synchronous : {"FULL", "NORMAL"}
        SQLite only: ``FULL`` (default) makes every commit survive power loss; ``NORMAL``
        survives process crashes only, and is faster.

    Raises
    ------
    StoreError
        If the file or database is not a workbench label store, is corrupt, or was written by
        a newer workbench. The file is not modified in that case.
    """

    def __init__(self, url_or_path, *, synchronous: str = "FULL"):
        text = str(url_or_path)
        if "://" in text:
            _check_url(text)
            self.url = text
            self.path = None
            if text.startswith("sqlite:///") and len(text) > len("sqlite:///"):
                self.path = Path(text[len("sqlite:///"):])
        else:
            self.path = Path(url_or_path)
            self.url = f"sqlite:///{self.path}"
        self._where = str(self.path) if self.path is not None else sa.make_url(self.url) \
            .render_as_string(hide_password=True)
        if self.path is not None:
            if self.path.is_dir():
                raise StoreError("is a folder, not a label store file", path=self.path,
                                 hint=f"use {self.path / STORE_FILE}, or open_store(folder)")
            if not self.path.parent.exists():
                raise StoreError("the folder for the label store does not exist", path=self.path)
            _check_sqlite_file(self.path)
        self.dialect = sa.make_url(self.url).get_backend_name()
        try:
            self.engine = self._make_engine(synchronous)
            self._init_schema()
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"cannot open the label store ({exc.orig})", path=self._where) from exc
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot open the label store ({exc})", path=self._where) from exc

    # ------------------------------------------------------------------ engine
    def _make_engine(self, synchronous: str):
        if self.dialect == "sqlite":
            # A pooled connection stays open: closing the last one checkpoints the WAL.
            engine = sa.create_engine(self.url, connect_args={"timeout": 120},
                                      pool_size=2, max_overflow=8)
            sync = synchronous.upper()
            if sync not in ("FULL", "NORMAL"):
                raise StoreError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn, _record):
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout = 120000")
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute(f"PRAGMA synchronous = {sync}")
                cur.execute("PRAGMA foreign_keys = ON")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn):
                write = conn.get_execution_options().get("wb_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        return sa.create_engine(self.url)

    def _tx(self, fn, *, retries: int = 8):
        """Run ``fn(conn)`` in one write transaction and return its result.

        The whole transaction is retried on PostgreSQL deadlocks and serialisation failures
        (SQLite writers queue on BEGIN IMMEDIATE instead).
        """
        for attempt in range(retries):
            try:
                with self.engine.connect().execution_options(wb_write=True) as conn, \
                        conn.begin():
                    return fn(conn)
            except sa.exc.OperationalError as exc:
                code = getattr(getattr(exc, "orig", None), "sqlstate", None)
                if code in ("40001", "40P01") and attempt < retries - 1:
                    time.sleep(0.005 * (attempt + 1))
                    continue
                raise StoreError(f"write failed ({exc.orig})", path=self._where) from exc

    @contextlib.contextmanager
    def _read(self):
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _init_schema(self) -> None:
        with self._write_once() as conn:
            insp = sa.inspect(conn)
            tables = set(insp.get_table_names())
            if "wb_meta" not in tables:
                ours = {t for t in tables if t.startswith("wb_")}
                if ours:
                    raise StoreError(f"database has label-store tables {sorted(ours)} but no "
                                     f"wb_meta marker; refusing to touch it", path=self._where)
                if self.dialect == "sqlite" and tables:
                    raise StoreError(f"not a workbench label store (tables {sorted(tables)[:6]})",
                                     path=self._where)
                S.metadata.create_all(conn)
                conn.execute(S.meta.insert(), [
                    {"key": "format", "value": S.FORMAT},
                    {"key": "schema_version", "value": str(S.SCHEMA_VERSION)},
                    {"key": "created", "value": utcnow().isoformat()},
                ])
                self.schema_version = S.SCHEMA_VERSION
                return
            info = dict(conn.execute(sa.select(S.meta.c.key, S.meta.c.value)).all())
            if info.get("format") != S.FORMAT:
                raise StoreError(f"not a workbench label store (format marker "
                                 f"{info.get('format')!r})", path=self._where)
            try:
                version = int(info.get("schema_version", "0"))
            except ValueError as exc:
                raise StoreError("label store has an unreadable schema version",
                                 path=self._where) from exc
            self.schema_version = migrations.upgrade(conn, version, where=self._where)

    @contextlib.contextmanager
    def _write_once(self):
        # Schema creation: serialised by BEGIN IMMEDIATE on SQLite, an advisory lock on PG.
        with self.engine.connect().execution_options(wb_write=True) as conn, conn.begin():
            if self.dialect == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7428131)")
            yield conn

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<LabelStore {self._where} (schema v{self.schema_version})>"

    # ------------------------------------------------------------------ writing
    def _resolve_scheme(self, scheme, campaign_row) -> Scheme:
        if scheme is None:
            if campaign_row is None:
                raise StoreError("say which label scheme the answers follow (scheme=...)")
            return get_scheme(campaign_row.scheme, campaign_row.scheme_version)
        s = get_scheme(*scheme) if isinstance(scheme, tuple) else get_scheme(scheme)
        if campaign_row is not None and (s.name != campaign_row.scheme
                                         or s.version != campaign_row.scheme_version):
            raise StoreError(f"campaign {campaign_row.name!r} uses scheme "
                             f"{campaign_row.scheme!r} v{campaign_row.scheme_version}, "
                             f"not {s.name!r} v{s.version}")
        return s

    def _campaign_row(self, conn, name):
        if name is None:
            return None
        row = conn.execute(sa.select(S.campaigns).where(S.campaigns.c.name == str(name))).first()
        if row is None:
            raise StoreError(f"no campaign named {name!r}", path=self._where,
                             hint=f"campaigns: {[c.name for c in self.campaigns()]}")
        return row

    def annotate(self, item_id, answers: Mapping, *, annotator: str | None = None, scheme=None,
                 campaign: str | None = None, started=None, ended=None, source: str | None = None,
                 source_detail: Mapping | None = None, bulk: bool = False,
                 n_components: int | None = None, uid: str | None = None) -> int:
        """Record one annotation; returns its id once it is committed to disk.

        Parameters
        ----------
        item_id : str
            The Collection item id.
        answers : dict
            ``{question_id: value}``, validated against the scheme (see
            :mod:`workbench.core.schemes`).
        annotator : str, optional
            Defaults to :func:`default_annotator`.
        scheme : str, Scheme or (name, version), optional
            Defaults to the campaign's scheme; newest version when given by name.
        campaign : str, optional
            The campaign the item was labelled in; its counters and retirement are updated
            in the same transaction.
        started, ended : datetime, ISO string or POSIX seconds, optional
            When the annotator saw the item and answered (UTC; ``ended`` defaults to now).
        source : str, optional
            What put the item in front of the annotator, one of :data:`schema.SOURCES`.
            Defaults to ``"selection"`` outside campaigns; in a campaign, ``"priority"``
            (priority order) or ``"random"``, with the item's round and strategy copied into
            ``source_detail``.
        source_detail : dict, optional
            JSON-safe details (round, strategy, score, ...).
        n_components : int, optional
            The item's component count, to refuse component ids that do not exist.
        uid : str, optional
            A unique token for this annotation; re-sending the same uid (a retry after a
            lost reply) returns the existing id instead of writing twice.
        """
        return self._annotate([item_id], answers, annotator=annotator, scheme=scheme,
                              campaign=campaign, started=started, ended=ended, source=source,
                              source_detail=source_detail, bulk=bulk,
                              n_components=n_components, uids=None if uid is None else [uid])[0]

    def annotate_many(self, item_ids: Iterable, answers: Mapping, *, annotator: str | None = None,
                      scheme=None, campaign: str | None = None, started=None, ended=None,
                      source: str | None = "bulk", source_detail: Mapping | None = None,
                      bulk: bool = True) -> list[int]:
        """Give many items the same answers in one transaction (bulk labelling).

        Returns the new annotation ids, in the order of ``item_ids``. See :meth:`annotate`.
        """
        return self._annotate(list(item_ids), answers, annotator=annotator, scheme=scheme,
                              campaign=campaign, started=started, ended=ended, source=source,
                              source_detail=source_detail, bulk=bulk, n_components=None,
                              uids=None)

    def _annotate(self, item_ids, answers, *, annotator, scheme, campaign, started, ended,
                  source, source_detail, bulk, n_components, uids, crow=None, then=None):
        """The transaction of :meth:`annotate` and :meth:`annotate_many`. ``crow``: the
        campaign's row when the caller has it (a :class:`Campaign`), saving its lookup.
        ``then(conn, done)``: more work in the same transaction (``done``: item_id ->
        :func:`~workbench.io.labels.campaigns.record_done`'s row); with it the result is
        ``(ids, then's result)``."""
        if not item_ids:
            return []
        annotator = check_annotator(annotator or default_annotator())
        if source is not None and source not in S.SOURCES:
            raise StoreError(f"source must be one of {S.SOURCES}, not {source!r}")
        started, ended = _as_time(started), _as_time(ended) or utcnow()
        detail = _jsonable(source_detail)

        def work(conn):
            row = crow if crow is not None else self._campaign_row(conn, campaign)
            sch = self._resolve_scheme(scheme, row)
            clean = sch.validate(answers, n_components=n_components)
            created = utcnow()
            if uids is not None:
                hit = conn.execute(sa.select(S.annotations.c.id)
                                   .where(S.annotations.c.uid == uids[0])).first()
                if hit is not None:
                    return [int(hit[0])] if then is None else ([int(hit[0])], None)
            done = {}
            if row is not None:  # claims and counts first: they say the item's round etc.
                done = _campaigns.record_done(conn, row, [str(i) for i in item_ids],
                                              annotator, created)
                missing = [i for i in item_ids if str(i) not in done]
                if missing:
                    raise StoreError(f"item(s) {missing[:5]} are not in campaign {row.name!r}")
            rows = []
            for k, iid in enumerate(item_ids):
                src, det = source, detail
                if row is not None:
                    it = done[str(iid)]
                    auto = {"order": row.item_order}
                    for key in ("round", "strategy", "priority"):
                        if getattr(it, key) is not None:
                            auto[key] = getattr(it, key)
                    det = {**auto, **(detail or {})}
                    if src is None:
                        src = "priority" if row.item_order == "priority" else "random"
                rows.append({
                    "uid": uids[k] if uids else uuid.uuid4().hex, "item_id": str(iid),
                    "annotator": annotator, "scheme": sch.name, "scheme_version": sch.version,
                    "answers": clean, "started": started, "ended": ended, "created": created,
                    "source": src or "selection", "source_detail": det,
                    "campaign": None if row is None else row.name, "bulk": bool(bulk)})
            if len(rows) == 1:
                ids = [int(conn.execute(_insert_one(), rows[0]).scalar_one())]
            else:
                res = conn.execute(S.annotations.insert().returning(
                    S.annotations.c.id, sort_by_parameter_order=True), rows)
                ids = [int(r[0]) for r in res]
            return ids if then is None else (ids, then(conn, done))

        return self._tx(work)

    def retract(self, annotation_id: int, *, annotator: str | None = None,
                reason: str | None = None) -> int:
        """Undo an annotation by recording a retraction (nothing is deleted).

        Returns the retraction's id. A retracted annotation no longer counts towards its
        campaign item's retirement or consensus.
        """
        annotator = str(annotator or default_annotator())

        def work(conn):
            row = conn.execute(sa.select(S.annotations).where(
                S.annotations.c.id == int(annotation_id))).first()
            if row is None:
                raise StoreError(f"no annotation with id {annotation_id}", path=self._where)
            done = conn.execute(sa.select(S.retractions.c.id).where(
                S.retractions.c.annotation_id == int(annotation_id))).first()
            if done is not None:
                raise StoreError(f"annotation {annotation_id} is already retracted",
                                 path=self._where)
            rid = conn.execute(S.retractions.insert().values(
                annotation_id=int(annotation_id), annotator=annotator, reason=reason,
                created=utcnow())).inserted_primary_key[0]
            if row.campaign is not None:
                _campaigns.record_retraction(conn, row.campaign, row.item_id)
            return int(rid)

        return self._tx(work)

    # ------------------------------------------------------------------ reading
    def annotations(self, *, campaign: str | None = None, item_id=None,
                    annotator: str | None = None, scheme: str | None = None,
                    include_retracted: bool = False) -> pd.DataFrame:
        """Annotation records as a DataFrame (columns :data:`ANNOTATION_COLUMNS`), by id.

        ``item_id`` may be one id or a list. ``answers`` and ``source_detail`` are dicts;
        times are UTC timestamps. ``retracted`` says whether a retraction exists (retracted
        rows are left out unless ``include_retracted``).
        """
        a, r = S.annotations, S.retractions
        q = sa.select(a, (r.c.id.isnot(None)).label("retracted")).select_from(
            a.outerjoin(r, r.c.annotation_id == a.c.id)).order_by(a.c.id)
        if campaign is not None:
            q = q.where(a.c.campaign == str(campaign))
        if item_id is not None:
            ids = [item_id] if isinstance(item_id, str) else list(item_id)
            q = q.where(a.c.item_id.in_([str(i) for i in ids]))
        if annotator is not None:
            q = q.where(a.c.annotator == str(annotator))
        if scheme is not None:
            q = q.where(a.c.scheme == str(scheme))
        if not include_retracted:
            q = q.where(r.c.id.is_(None))
        with self._read() as conn:
            res = conn.execute(q)
            keys = list(res.keys())
            rows = res.fetchall()
        cols = list(zip(*rows)) if rows else [()] * len(keys)
        df = pd.DataFrame({k: pd.Series(list(c), dtype=object) for k, c in zip(keys, cols)})
        return _typed(df)

    def live_answers(self, *, annotator: str, scheme: str, campaign=...) -> dict:
        """``{item_id: (annotation id, answers)}``: ``annotator``'s live annotations of
        ``scheme`` (the latest per item), as plain Python (no DataFrame): what a labeling
        session starts from. ``campaign``: only that campaign's (None: only those made
        outside campaigns); leave it out for all."""
        a, r = S.annotations, S.retractions
        q = sa.select(a.c.id, a.c.item_id, a.c.answers).select_from(
            a.outerjoin(r, r.c.annotation_id == a.c.id)).where(
            a.c.annotator == str(annotator), a.c.scheme == str(scheme),
            r.c.id.is_(None)).order_by(a.c.id)
        if campaign is not ...:
            q = q.where(a.c.campaign.is_(None) if campaign is None
                        else a.c.campaign == str(campaign))
        with self._read() as conn:
            rows = conn.execute(q).all()
        return {str(iid): (int(aid), dict(loads(ans))) for aid, iid, ans in rows}

    def campaigns(self) -> list:
        """Every campaign in the store (:class:`Campaign` objects), by creation."""
        with self._read() as conn:
            names = conn.execute(sa.select(S.campaigns.c.name).order_by(S.campaigns.c.id)).scalars()
            names = list(names)
        return [Campaign(self, n) for n in names]

    def campaign(self, name: str):
        """The campaign called ``name`` (StoreError if none)."""
        return Campaign(self, name)

    def create_campaign(self, name: str, scheme, item_ids: Iterable, *, retire: int = 3,
                        order: str = "random", early_retire: Mapping | None = None,
                        n_components: Mapping | None = None, priorities: Mapping | None = None,
                        seed: int = 0, description: str = "", created_by: str | None = None,
                        show_columns: Iterable[str] | None = None, gold: Mapping | None = None,
                        gold_rate: float | None = None) -> Campaign:
        """Make a campaign; see :func:`workbench.io.labels.campaigns.create_campaign`."""
        return _campaigns.create_campaign(
            self, name, scheme, item_ids, retire=retire, order=order, early_retire=early_retire,
            n_components=n_components, priorities=priorities, seed=seed,
            description=description, created_by=created_by, show_columns=show_columns,
            gold=gold, gold_rate=gold_rate)

    # ------------------------------------------------------------------ invites
    def invite(self, campaign: str, annotator: str, *, created_by: str | None = None) -> str:
        """A new personal labeling token for ``annotator`` in ``campaign`` (their earlier
        one stops working); only its hash is stored. See :mod:`workbench.io.labels.invites`."""
        return _invites.invite(self, campaign, annotator, created_by=created_by)

    def revoke_invite(self, campaign: str, annotator: str) -> int:
        """Revoke ``annotator``'s token for ``campaign``; returns how many were valid."""
        return _invites.revoke_invite(self, campaign, annotator)

    def annotator_for_token(self, token, campaign: str | None = None) -> tuple[str, str] | None:
        """``(annotator, campaign)`` for a valid token, else None (see
        :func:`workbench.io.labels.invites.annotator_for_token`)."""
        return _invites.annotator_for_token(self, token, campaign)

    def valid_invites(self, campaign: str, *, token_hash: str | None = None) -> dict[str, str]:
        """``{token hash: annotator}`` of the valid (not revoked) invites to ``campaign``
        (hashes only: the tokens are never stored; ``token_hash``: only that one); empty
        for an unknown campaign. A server checks tokens against this in memory instead of
        asking per request."""
        iv, c = S.invites, S.campaigns
        q = sa.select(iv.c.token_hash, iv.c.annotator).select_from(
            iv.join(c, c.c.id == iv.c.campaign_id)).where(
            c.c.name == str(campaign), iv.c.revoked.is_(None))
        if token_hash is not None:
            q = q.where(iv.c.token_hash == str(token_hash))
        with self._read() as conn:
            return {str(h): str(a) for h, a in conn.execute(q)}

    def invites(self, campaign: str | None = None) -> pd.DataFrame:
        """Who was invited to which campaign, when, and whether it still holds (no tokens)."""
        return _invites.read_invites(self, campaign)

    # ------------------------------------------------------------------ drafts
    def save_draft(self, item_id, state: Mapping, *, annotator: str, scheme,
                   campaign: str | None = None) -> None:
        """Record unfinished work on an item (not an annotation); see
        :func:`workbench.io.labels.drafts.save_draft`."""
        _drafts.save_draft(self, item_id, state, annotator=annotator, scheme=scheme, campaign=campaign)

    def discard_draft(self, item_id, *, annotator: str, scheme,
                      campaign: str | None = None) -> bool:
        """Delete a draft; see :func:`workbench.io.labels.drafts.discard_draft`."""
        return _drafts.discard_draft(self, item_id, annotator=annotator, scheme=scheme,
                             campaign=campaign)

    def drafts(self, *, annotator: str | None = None, scheme=None, campaign=...,
               item_id=None) -> pd.DataFrame:
        """Drafts, newest first; see :func:`workbench.io.labels.drafts.read_drafts`."""
        return _drafts.read_drafts(self, annotator=annotator, scheme=scheme, campaign=campaign,
                           item_id=item_id)

    def counts(self) -> dict:
        """Numbers of annotations, retractions and campaigns (JSON-safe)."""
        with self._read() as conn:
            n = {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar())
                 for t in (S.annotations, S.retractions, S.campaigns)}
        return {"annotations": n["wb_annotations"], "retractions": n["wb_retractions"],
                "campaigns": n["wb_campaigns"]}


@functools.cache
def _insert_one():
    """INSERT of one annotation RETURNING its id (built once: compiled once)."""
    return S.annotations.insert().returning(S.annotations.c.id)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(df)))
    for c, dt in ANNOTATION_COLUMNS.items():
        col = df[c] if c in df else pd.Series([None] * len(df))
        if dt.startswith("datetime"):
            out[c] = pd.to_datetime(col, utc=True).astype(dt) if len(df) else \
                pd.Series(dtype=dt)
        elif dt == "object":
            out[c] = pd.Series([loads(v) for v in col], dtype=object)
        elif dt == "bool":
            out[c] = col.fillna(False).astype(bool)
        else:
            out[c] = col.astype(dt)
    return out


def open_store(collection_or_path=None, url: str | None = None, **kwargs) -> LabelStore:
    """Open (or make) the label store of a Collection.

    Parameters
    ----------
    collection_or_path : Collection, folder, file or URL
        A Collection (or its folder): the store is ``<folder>/labels.sqlite``; a file path:
        that SQLite file; a string with ``://``: a SQLAlchemy URL.
    url : str, optional
        A SQLAlchemy URL that overrides the default location (e.g. a shared PostgreSQL).
    """
    if url is not None:
        return LabelStore(url, **kwargs)
    if collection_or_path is None:
        raise StoreError("give a Collection, a folder, a store file or a URL")
    target = getattr(collection_or_path, "path", collection_or_path)
    text = str(target)
    if "://" in text:
        return LabelStore(text, **kwargs)
    p = Path(text)
    if p.is_dir():
        p = p / STORE_FILE
    return LabelStore(p, **kwargs)
