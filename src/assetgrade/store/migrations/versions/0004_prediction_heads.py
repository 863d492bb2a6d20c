"""Prediction heads: each graded asset's newest prediction and its place in the review queue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:10:00

The table is filled from the existing predictions and reviews with the rule the review queue
used before it existed (newest prediction by time then id; queued when its decision is
``review`` and no review of the asset was made since it or based on it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 1000
_READ_BATCH = 200


def _naive(ts: Any) -> Any:
    if isinstance(ts, datetime) and ts.tzinfo is not None:
        return ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def upgrade() -> None:
    """Create ``prediction_heads`` and its queue index, then fill it."""
    op.create_table(
        "prediction_heads",
        sa.Column("asset_id", sa.String(length=200), nullable=False),
        sa.Column("prediction_id", sa.String(length=64), nullable=False),
        sa.Column("predicted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued", sa.Boolean(), nullable=False),
        sa.Column("cost_key", sa.Float(), nullable=False),
        sa.Column("set_size", sa.Integer(), nullable=False),
        sa.Column("n_contradictions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"]),
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"]),
        sa.PrimaryKeyConstraint("asset_id"),
        sa.UniqueConstraint("prediction_id"),
    )
    op.create_index("ix_prediction_heads_queue", "prediction_heads",
                    ["queued", sa.desc(sa.column("cost_key")), sa.desc(sa.column("set_size")),
                     sa.desc(sa.column("n_contradictions")), "predicted_at", "asset_id"], unique=False)
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Insert one head per graded asset, reading the newest predictions as a stream.

    Only the reviews' (asset, time, prediction) triples are held in memory; the newest prediction
    of each asset (with its payload, which can be kilobytes) is read through a cursor ``_READ_BATCH``
    rows at a time and the heads are written ``_BATCH`` at a time, so a store with millions of
    predictions migrates in bounded memory.
    """
    meta = sa.MetaData()
    preds = sa.Table("predictions", meta, autoload_with=conn)
    reviews = sa.Table("reviews", meta, autoload_with=conn)
    heads = sa.Table("prediction_heads", meta, autoload_with=conn)
    last_review: dict[str, Any] = {}
    based_on: set[str] = set()
    for asset_id, created_at, pred_id in conn.execute(
            sa.select(reviews.c.asset_id, reviews.c.created_at, reviews.c.based_on_prediction_id)):
        t = _naive(created_at)
        if asset_id not in last_review or t > last_review[asset_id]:
            last_review[asset_id] = t
        if pred_id is not None:
            based_on.add(pred_id)
    rn = sa.func.row_number().over(partition_by=preds.c.asset_id,
                                   order_by=(preds.c.created_at.desc(), preds.c.id.desc())).label("rn")
    sub = sa.select(preds.c.id, preds.c.asset_id, preds.c.created_at, preds.c.decision, preds.c.expected_cost,
                    preds.c.conformal_set, preds.c.payload, rn).subquery()
    # read through a cursor (PostgreSQL: a server-side one) while the heads are inserted on the same
    # connection, into another table
    latest = conn.execute(sa.select(sub).where(sub.c.rn == 1),
                          execution_options={"stream_results": True, "max_row_buffer": _READ_BATCH})
    rows: list[dict[str, Any]] = []
    for p in latest.mappings():
        t = _naive(p["created_at"])
        reviewed = p["id"] in based_on or (p["asset_id"] in last_review and last_review[p["asset_id"]] >= t)
        rows.append({
            "asset_id": p["asset_id"], "prediction_id": p["id"], "predicted_at": p["created_at"],
            "queued": p["decision"] == "review" and not reviewed,
            "cost_key": -1.0 if p["expected_cost"] is None else float(p["expected_cost"]),
            "set_size": len(p["conformal_set"] or []),
            "n_contradictions": len((p["payload"] or {}).get("contradictions") or []),
        })
        if len(rows) == _BATCH:
            _flush(conn, heads, rows)
    _flush(conn, heads, rows)


def _flush(conn: sa.Connection, heads: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(heads.insert(), rows)
        rows.clear()


def downgrade() -> None:
    """Drop ``prediction_heads``."""
    op.drop_index("ix_prediction_heads_queue", table_name="prediction_heads")
    op.drop_table("prediction_heads")
