"""Ended web sessions: logging out of the web UI ends the session in the store, not only in the browser.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00

One new table, ``ended_sessions`` (session id, the cookie's expiry, when it ended), with an index on
the expiry for the clean-up of rows whose cookie has expired. Existing rows are not touched. Session
cookies signed before this release carry no session id and are refused from now on: their holders
log in again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``ended_sessions`` and its expiry index."""
    op.create_table(
        "ended_sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    with op.batch_alter_table("ended_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ended_sessions_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    """Drop ``ended_sessions`` (sessions ended by logging out would work again until their cookies expire)."""
    with op.batch_alter_table("ended_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ended_sessions_expires_at"))
    op.drop_table("ended_sessions")
