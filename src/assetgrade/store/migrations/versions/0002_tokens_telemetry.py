"""REST service tables: hashed API tokens and station telemetry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``api_tokens`` and ``telemetry``."""
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'reviewer', 'station')", name="ck_api_token_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "telemetry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("asset_id", sa.String(length=200), nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('prediction', 'features')", name="ck_telemetry_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("telemetry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telemetry_station"), ["station"], unique=False)
        batch_op.create_index(batch_op.f("ix_telemetry_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_telemetry_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    """Drop the REST service tables."""
    with op.batch_alter_table("telemetry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_received_at"))
        batch_op.drop_index(batch_op.f("ix_telemetry_batch_id"))
        batch_op.drop_index(batch_op.f("ix_telemetry_station"))
    op.drop_table("telemetry")
    op.drop_table("api_tokens")
