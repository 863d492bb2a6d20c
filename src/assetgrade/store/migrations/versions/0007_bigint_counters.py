"""64-bit counters: audit event numbers, telemetry record ids and asset versions become ``bigint`` on PostgreSQL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00

They were ``integer`` there (0001, 0002), so a store stopped at 2,147,483,647 audit events or
telemetry records, and the telemetry id sequence (``serial``: ``AS integer``) at the same number.
Each column is retyped in place (PostgreSQL rewrites the table and its indexes under an exclusive
lock: minutes for a store of tens of millions of rows; the values are kept) and the sequence is
widened to ``bigint``, its maximum raised with it. SQLite's INTEGER is 64-bit already: nothing
changes there. Other integer columns (a queue entry's conformal set size and number of
contradictions, a label request's rank in its round, a golden set's item count) are bounded by
the size of one set or round and stay ``integer``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (("audit_events", "seq"), ("telemetry", "id"), ("assets", "version"))
"""(table, column) of each counter widened."""
SERIAL = ("telemetry", "id")
"""The counter whose values a sequence hands out."""


def _sequence(conn: sa.Connection) -> str:
    """The telemetry id sequence's name, schema-qualified and quoted as PostgreSQL writes it."""
    name = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                        {"t": SERIAL[0], "c": SERIAL[1]}).scalar_one()
    assert name is not None, "telemetry.id has no sequence"
    return str(name)


def upgrade() -> None:
    """Retype the counters and the telemetry id sequence to ``bigint`` (PostgreSQL only)."""
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, existing_type=sa.Integer(), type_=sa.BigInteger(),
                        existing_nullable=False)
    # a sequence AS integer stops at 2^31 - 1; AS bigint also raises a maximum that was the old type's own
    op.execute(f"ALTER SEQUENCE {_sequence(conn)} AS bigint")


def downgrade() -> None:
    """Back to ``integer``: fails (and changes nothing) once a counter holds a value beyond 2,147,483,647."""
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.execute(f"ALTER SEQUENCE {_sequence(conn)} AS integer")
    for table, column in COLUMNS:
        op.alter_column(table, column, existing_type=sa.BigInteger(), type_=sa.Integer(),
                        existing_nullable=False)
