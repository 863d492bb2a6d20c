"""Evidence withdrawals: a wrong ingest can be corrected without deleting anything.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:00:00

One new table, ``evidence_withdrawals`` (evidence id, reason, who, when), one row per withdrawn
evidence item. Existing rows are not touched: every stored item stays in use until it is withdrawn.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``evidence_withdrawals``."""
    op.create_table(
        "evidence_withdrawals",
        sa.Column("evidence_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.PrimaryKeyConstraint("evidence_id"),
    )


def downgrade() -> None:
    """Drop ``evidence_withdrawals`` (withdrawn evidence would be used again)."""
    op.drop_table("evidence_withdrawals")
