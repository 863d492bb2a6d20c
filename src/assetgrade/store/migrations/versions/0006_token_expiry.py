"""Token expiry: an API token may carry the time after which it no longer authenticates.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 07:00:00

One nullable column; existing tokens keep working (no expiry), as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``api_tokens.expires_at``."""
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop ``api_tokens.expires_at``."""
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
