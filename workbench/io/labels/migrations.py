"""Schema upgrades, so a store written by an older workbench opens in a newer one.

Each migration takes a connection inside an open write transaction and moves the schema
from version ``n`` to ``n + 1``; :func:`upgrade` runs them in order and records the new
version in ``wb_meta``. Migrations only add (columns, tables, backfilled values): records
are never rewritten.

Version history
---------------
1. meta, annotations (no source_detail/bulk/uid), retractions, campaigns (no early
   retirement, seed), campaign_items (position, priority, n_done, retired).
2. annotations gain ``uid``, ``source_detail`` and ``bulk``; campaigns gain
   ``early_retire``, ``seed``, ``description``, ``created_by``; campaign_items gain ``round``,
   ``strategy``, ``retire_at`` and ``n_open``; the ``wb_claims`` table records who saw what
   (backfilled as ``done`` from the campaign annotations).
3. the ``wb_drafts`` table (the Labeler's unfinished work per annotator and item; not
   annotations).
4. campaigns gain ``show_columns`` and ``gold_rate`` (NULL for existing campaigns: the
   default blind rule, no gold); campaign_items gain ``gold`` (false) and ``gold_answer``;
   the ``wb_invites`` table (hashed personal tokens).
"""

from __future__ import annotations

import sqlalchemy as sa

from workbench.core.errors import StoreError
from workbench.io.labels import schema as S

__all__ = ["upgrade", "MIGRATIONS"]


def _add(conn, table: str, column: str, type_, default: str | None = None) -> None:
    ddl = f"ALTER TABLE {table} ADD COLUMN {column} {type_.compile(dialect=conn.dialect)}"
    if default is not None:
        ddl += f" DEFAULT {default}"
    conn.exec_driver_sql(ddl)


def _v1_to_v2(conn) -> None:
    false = "false" if conn.dialect.name == "postgresql" else "0"
    _add(conn, "wb_annotations", "uid", sa.String(40))
    _add(conn, "wb_annotations", "source_detail", sa.JSON())
    _add(conn, "wb_annotations", "bulk", sa.Boolean(), false)
    conn.exec_driver_sql("CREATE UNIQUE INDEX IF NOT EXISTS ix_wb_annotations_uid "
                         "ON wb_annotations (uid)")
    _add(conn, "wb_campaigns", "early_retire", sa.JSON())
    _add(conn, "wb_campaigns", "seed", sa.Integer())
    _add(conn, "wb_campaigns", "description", sa.Text())
    _add(conn, "wb_campaigns", "created_by", sa.String(255))
    _add(conn, "wb_campaign_items", "round", sa.Integer())
    _add(conn, "wb_campaign_items", "strategy", sa.String(100))
    _add(conn, "wb_campaign_items", "retire_at", sa.Integer(), "0")
    _add(conn, "wb_campaign_items", "n_open", sa.Integer(), "0")
    conn.exec_driver_sql(
        "UPDATE wb_campaign_items SET retire_at = (SELECT retire FROM wb_campaigns "
        "WHERE wb_campaigns.id = wb_campaign_items.campaign_id)")
    S.claims.create(conn, checkfirst=True)
    conn.exec_driver_sql(
        "INSERT INTO wb_claims (campaign_id, item_id, annotator, state, claimed) "
        "SELECT c.id, a.item_id, a.annotator, 'done', MAX(a.created) FROM wb_annotations a "
        "JOIN wb_campaigns c ON c.name = a.campaign GROUP BY c.id, a.item_id, a.annotator")


def _v2_to_v3(conn) -> None:
    S.drafts.create(conn, checkfirst=True)


def _v3_to_v4(conn) -> None:
    false = "false" if conn.dialect.name == "postgresql" else "0"
    _add(conn, "wb_campaigns", "show_columns", sa.JSON())
    _add(conn, "wb_campaigns", "gold_rate", sa.Float())
    _add(conn, "wb_campaign_items", "gold", sa.Boolean(), false)
    _add(conn, "wb_campaign_items", "gold_answer", sa.JSON())
    S.invites.create(conn, checkfirst=True)


#: from-version -> function upgrading to from-version + 1
MIGRATIONS = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4}


def upgrade(conn, version: int, *, where: str = "") -> int:
    """Upgrade the schema from ``version`` to :data:`schema.SCHEMA_VERSION`; returns it."""
    if version > S.SCHEMA_VERSION:
        raise StoreError(f"label store has schema version {version}, newer than this "
                         f"workbench understands ({S.SCHEMA_VERSION})", path=where or None,
                         hint="upgrade the workbench")
    while version < S.SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise StoreError(f"no migration from label-store schema version {version}",
                             path=where or None)
        step(conn)
        version += 1
        conn.execute(S.meta.update().where(S.meta.c.key == "schema_version")
                     .values(value=str(version)))
    return version
