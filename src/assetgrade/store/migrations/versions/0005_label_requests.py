"""Label requests: assets whose grade label active learning asked for, open until reviewed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:10:00

A new, empty table; no existing row changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``label_requests`` and its working-order index."""
    op.create_table(
        "label_requests",
        sa.Column("asset_id", sa.String(length=200), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("chosen_by", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("predicted_grade", sa.String(length=50), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint("status IN ('open', 'done', 'withdrawn')", name="ck_label_request_status"),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"]),
        sa.PrimaryKeyConstraint("asset_id"),
    )
    op.create_index("ix_label_requests_order", "label_requests",
                    ["status", sa.desc(sa.column("requested_at")), "rank", "asset_id"], unique=False)


def downgrade() -> None:
    """Drop ``label_requests``."""
    op.drop_index("ix_label_requests_order", table_name="label_requests")
    op.drop_table("label_requests")
