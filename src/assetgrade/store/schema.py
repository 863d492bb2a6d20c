"""The relational schema (SQLAlchemy 2 typed ORM): assets, evidence, provenance, labels, results, audit events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "COUNTER",
    "EVIDENCE_KINDS",
    "LABEL_KINDS",
    "ORIGINS",
    "TRANSACTION_KINDS",
    "Asset",
    "AuditEvent",
    "Base",
    "Evidence",
    "EvidenceReinstatement",
    "EvidenceWithdrawal",
    "IngestBatch",
    "Label",
    "Prediction",
    "PredictionHead",
    "Provenance",
    "Review",
    "Transaction",
    "new_id",
    "utcnow",
]

EVIDENCE_KINDS = ("image", "log", "series", "document")
ORIGINS = ("real", "synthetic", "augmented")
LABEL_KINDS = ("grade", "defect")
TRANSACTION_KINDS = ("sale", "refurbishment", "purchase")


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A fresh random id such as ``pred_3f2a...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base of every table."""


TS = DateTime(timezone=True)

COUNTER = BigInteger().with_variant(Integer(), "sqlite")
"""A counter that grows without bound (audit event numbers, telemetry ids, asset versions): ``bigint`` on PostgreSQL
(``integer`` stopped at 2,147,483,647; migration 0007 widened them), ``INTEGER`` on SQLite, which is 64-bit there and,
as a primary key, keeps the column the table's rowid (so an id is still assigned when none is given)."""


class Asset(Base):
    """One physical asset; ``version`` increases on every review and with new evidence (optimistic concurrency)."""

    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    asset_type: Mapped[str] = mapped_column(String(100), index=True, default="unknown")
    make: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    value: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    version: Mapped[int] = mapped_column(COUNTER, default=1)


class IngestBatch(Base):
    """One ingest run: where from, when, what it added, how it ended."""

    __tablename__ = "ingest_batches"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="running")


class Evidence(Base):
    """One evidence item: an image, a log entry, a sensor series or a document."""

    __tablename__ = "evidence"
    __table_args__ = (CheckConstraint(_in("kind", EVIDENCE_KINDS), name="ck_evidence_kind"),)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    blob_sha: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EvidenceWithdrawal(Base):
    """One withdrawal of an evidence item: why, by whom, when (:mod:`~assetgrade.store.withdrawals`).

    Append-only: the evidence row, its blob and provenance stay. ``n`` counts the item's withdrawals (1, 2, ...):
    an item is withdrawn while its withdrawal of the highest ``n`` has no :class:`EvidenceReinstatement`; a
    withdrawal of an item withdrawn now changes nothing (migration 0010 added ``n``; before, one row per item).
    """

    __tablename__ = "evidence_withdrawals"
    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text)
    withdrawn_by: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime] = mapped_column(TS)


class EvidenceReinstatement(Base):
    """The end of one withdrawal: the item is used again (why, by whom, when); at most one per withdrawal.

    Append-only as the withdrawals: reinstating writes this row and deletes nothing (migration 0010).
    """

    __tablename__ = "evidence_reinstatements"
    __table_args__ = (ForeignKeyConstraint(["evidence_id", "n"], ["evidence_withdrawals.evidence_id",
                                                                   "evidence_withdrawals.n"]),)
    evidence_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text)
    reinstated_by: Mapped[str] = mapped_column(String(200))
    reinstated_at: Mapped[datetime] = mapped_column(TS)


class Provenance(Base):
    """Where one evidence item came from (exactly one row per evidence item)."""

    __tablename__ = "provenance"
    __table_args__ = (CheckConstraint(_in("origin", ORIGINS), name="ck_provenance_origin"),)
    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20), default="real", index=True)
    generator: Mapped[str | None] = mapped_column(String(200))
    generator_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parent_evidence_id: Mapped[str | None] = mapped_column(ForeignKey("evidence.id"))
    capture_time: Mapped[datetime | None] = mapped_column(TS)
    device: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    ingest_batch_id: Mapped[str | None] = mapped_column(ForeignKey("ingest_batches.id"), index=True)
    notes: Mapped[list[Any] | None] = mapped_column(JSON)


class Label(Base):
    """A grade label or a defect annotation by one annotator (box, mask, text span or time window)."""

    __tablename__ = "labels"
    __table_args__ = (CheckConstraint(_in("kind", LABEL_KINDS), name="ck_label_kind"),)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    evidence_id: Mapped[str | None] = mapped_column(ForeignKey("evidence.id"), index=True)
    annotator: Mapped[str] = mapped_column(String(200), default="import")
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(50))
    box: Mapped[list[float] | None] = mapped_column(JSON)
    mask_sha: Mapped[str | None] = mapped_column(String(64))
    text_span: Mapped[list[int] | None] = mapped_column(JSON)
    time_window: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    source: Mapped[str] = mapped_column(String(40), default="import")


class Transaction(Base):
    """A money event on an asset: sale price, refurbishment cost, purchase price."""

    __tablename__ = "transactions"
    __table_args__ = (CheckConstraint(_in("kind", TRANSACTION_KINDS), name="ck_transaction_kind"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    date: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class Prediction(Base):
    """One grading result produced by a model version."""

    __tablename__ = "predictions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    model_version: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(50))
    distribution: Mapped[dict[str, float]] = mapped_column(JSON)
    conformal_set: Mapped[list[str]] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(String(40))
    expected_cost: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)


class PredictionHead(Base):
    """Each graded asset's newest prediction and whether it waits in the review queue.

    Kept in step with ``predictions`` and ``reviews`` by the store's write functions (in the
    same transaction), so reading "the latest grade" or one page of the queue is an indexed
    lookup instead of a window over every prediction ever made. ``cost_key`` is the expected
    cost, -1 when unknown, so the queue order can use the index.
    """

    __tablename__ = "prediction_heads"
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"), unique=True)
    predicted_at: Mapped[datetime] = mapped_column(TS)
    queued: Mapped[bool] = mapped_column(Boolean)
    cost_key: Mapped[float] = mapped_column(Float)
    set_size: Mapped[int] = mapped_column(Integer)
    n_contradictions: Mapped[int] = mapped_column(Integer)


# the queue's policy order, so one page is an index range scan, not a sort of every queued asset
Index("ix_prediction_heads_queue", PredictionHead.queued, PredictionHead.cost_key.desc(),
      PredictionHead.set_size.desc(), PredictionHead.n_contradictions.desc(), PredictionHead.predicted_at,
      PredictionHead.asset_id)


class LabelRequest(Base):
    """An asset whose grade label active learning asked for; open until a review of the asset closes it.

    One row per asset (its latest request). ``batch_id`` groups one round of requests (one
    ``review suggest --enqueue``), ``rank`` is the strategy's order within the round; open
    requests are worked newest round first, then by rank. ``status`` is ``open``, ``done`` (an
    imported grade label, or a review of the asset was stored: ``review_id``) or ``withdrawn``.
    """

    __tablename__ = "label_requests"
    __table_args__ = (CheckConstraint(_in("status", ("open", "done", "withdrawn")), name="ck_label_request_status"),)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(Integer)
    strategy: Mapped[str] = mapped_column(String(100))
    chosen_by: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(200))
    predicted_grade: Mapped[str | None] = mapped_column(String(50))
    confidence: Mapped[float | None] = mapped_column(Float)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(TS)
    status: Mapped[str] = mapped_column(String(20))
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    review_id: Mapped[str | None] = mapped_column(String(64))


# open requests in working order (newest round first, then rank): one page is an index range scan
Index("ix_label_requests_order", LabelRequest.status, LabelRequest.requested_at.desc(), LabelRequest.rank,
      LabelRequest.asset_id)


class Review(Base):
    """A human review of an asset: the reviewer's grade, defects and note."""

    __tablename__ = "reviews"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str | None] = mapped_column(String(50))
    defects: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    based_on_prediction_id: Mapped[str | None] = mapped_column(ForeignKey("predictions.id"))
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="submitted")


class AuditEvent(Base):
    """An append-only, hash-chained record of one write (see :mod:`assetgrade.store.audit`)."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    entity: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str | None] = mapped_column(String(200), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
