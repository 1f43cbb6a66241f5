"""The label store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Tables (all prefixed ``wb_`` so a shared PostgreSQL database stays tidy):

``wb_meta``
    key/value: ``format`` = ``"workbench-labels"`` (the marker that says the database is
    ours) and ``schema_version`` (see :mod:`workbench.io.labels.migrations`).
``wb_annotations``
    Append-only. One row per annotation: annotator, scheme and scheme_version, item_id,
    answers (JSON, validated against the scheme), started/ended/created (UTC), source (what
    put the item in front of the annotator: ``random``, ``model``, ``anomaly``, ``bulk``,
    ``priority``, ``selection``, or ``zooniverse`` for imported classifications),
    source_detail (JSON: round, strategy, score, ...), campaign (name or NULL), bulk flag, and uid (a unique client-made token).
``wb_retractions``
    Undo is a record: the retracted annotation's id, who retracted it, why and when.
``wb_campaigns``
    name, scheme + version, retirement count, order (``random``/``priority``), early
    retirement rule (JSON), seed, creator, time, ``show_columns`` (JSON list of the catalog
    columns annotators see; NULL: the default rule of :mod:`workbench.core.blind`) and
    ``gold_rate`` (fraction of each annotator's items drawn from the gold items; NULL: none).
``wb_campaign_items``
    Per campaign and item: position (the random order), priority (filled by active
    learning) with the round and strategy that set it, the item's own retirement count
    (``retire_at``, after early-retirement rules), ``n_done`` (live annotations),
    ``n_open`` (items shown and not yet answered) and ``retired``; ``gold`` marks a gold
    item (known answer ``gold_answer``, JSON, for the scheme's class question), which is
    mixed into every annotator's queue and never retires.
``wb_claims``
    Per campaign, item and annotator: ``open`` (shown now), ``done``, ``skipped`` or
    ``expired``. An annotator never gets an item they have a claim row for.
``wb_drafts``
    Work in progress, not annotations: per annotator, scheme, item and campaign (``""``
    outside campaigns) the Labeler's unfinished step (components clicked so far, a host,
    answers before the question path is complete) as JSON, replaced on every change and
    deleted when the item is finished, skipped or undone. Consensus, export and campaign
    retirement never read it (see :mod:`workbench.io.labels.drafts`).
``wb_invites``
    Per campaign and annotator, personal labeling tokens: only the SHA-256 of the token
    (``token_hash``), when it was made and by whom, and when it was revoked (NULL: valid).
    See :mod:`workbench.io.labels.invites`.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["FORMAT", "SCHEMA_VERSION", "SOURCES", "metadata", "meta", "annotations",
           "retractions", "campaigns", "campaign_items", "claims", "drafts", "invites"]

FORMAT = "workbench-labels"
#: Current schema version; older stores are upgraded by migrations on open.
SCHEMA_VERSION = 4
#: What put an item in front of the annotator.
SOURCES = ("random", "model", "anomaly", "bulk", "priority", "selection", "zooniverse")

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

meta = sa.Table(
    "wb_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

annotations = sa.Table(
    "wb_annotations", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(40), nullable=True, unique=True),
    sa.Column("item_id", sa.String(255), nullable=False, index=True),
    sa.Column("annotator", sa.String(255), nullable=False, index=True),
    sa.Column("scheme", sa.String(100), nullable=False),
    sa.Column("scheme_version", sa.Integer, nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("started", sa.DateTime, nullable=True),
    sa.Column("ended", sa.DateTime, nullable=True),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("source_detail", sa.JSON, nullable=True),
    sa.Column("campaign", sa.String(255), nullable=True, index=True),
    sa.Column("bulk", sa.Boolean, nullable=False, server_default=sa.false()),
)

retractions = sa.Table(
    "wb_retractions", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("annotation_id", _ID, sa.ForeignKey("wb_annotations.id"), nullable=False,
              unique=True),
    sa.Column("annotator", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created", sa.DateTime, nullable=False),
)

campaigns = sa.Table(
    "wb_campaigns", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("scheme", sa.String(100), nullable=False),
    sa.Column("scheme_version", sa.Integer, nullable=False),
    sa.Column("retire", sa.Integer, nullable=False),
    sa.Column("item_order", sa.String(20), nullable=False),
    sa.Column("early_retire", sa.JSON, nullable=True),
    sa.Column("seed", sa.Integer, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(255), nullable=True),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("show_columns", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("gold_rate", sa.Float, nullable=True),
)

campaign_items = sa.Table(
    "wb_campaign_items", metadata,
    sa.Column("campaign_id", _ID, sa.ForeignKey("wb_campaigns.id"), primary_key=True),
    sa.Column("item_id", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("priority", sa.Float, nullable=True),
    sa.Column("round", sa.Integer, nullable=True),
    sa.Column("strategy", sa.String(100), nullable=True),
    sa.Column("retire_at", sa.Integer, nullable=False),
    sa.Column("n_done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_open", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retired", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("gold", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("gold_answer", sa.JSON(none_as_null=True), nullable=True),
    sa.Index("ix_wb_campaign_items_pos", "campaign_id", "retired", "position"),
)

claims = sa.Table(
    "wb_claims", metadata,
    sa.Column("campaign_id", _ID, sa.ForeignKey("wb_campaigns.id"), primary_key=True),
    sa.Column("item_id", sa.String(255), primary_key=True),
    sa.Column("annotator", sa.String(255), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("claimed", sa.DateTime, nullable=False),
    sa.Index("ix_wb_claims_annotator", "campaign_id", "annotator"),
    sa.Index("ix_wb_claims_state", "campaign_id", "state"),
)

drafts = sa.Table(
    "wb_drafts", metadata,
    sa.Column("annotator", sa.String(255), primary_key=True),
    sa.Column("scheme", sa.String(100), primary_key=True),
    sa.Column("item_id", sa.String(255), primary_key=True),
    sa.Column("campaign", sa.String(255), primary_key=True),  # "" outside campaigns
    sa.Column("scheme_version", sa.Integer, nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("updated", sa.DateTime, nullable=False),
)

invites = sa.Table(
    "wb_invites", metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("campaign_id", _ID, sa.ForeignKey("wb_campaigns.id"), nullable=False),
    sa.Column("annotator", sa.String(255), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=True),
    sa.Column("revoked", sa.DateTime, nullable=True),
    sa.Index("ix_wb_invites_annotator", "campaign_id", "annotator"),
)
