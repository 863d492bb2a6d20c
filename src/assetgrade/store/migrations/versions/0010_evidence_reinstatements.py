"""Evidence reinstatements: a withdrawal can be undone, and an item withdrawn again, without deleting anything.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:00:00

``evidence_withdrawals`` gets ``n``, the item's withdrawal number (1, 2, ...), and its primary key becomes
(evidence id, n), so an item reinstated can be withdrawn again in a row of its own. Existing rows become
withdrawal 1 of their item: every item withdrawn before stays withdrawn. One new table,
``evidence_reinstatements`` (evidence id, n, reason, who, when), at most one row per withdrawal: an item
is withdrawn while its newest withdrawal has no reinstatement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Number the withdrawals (existing rows: 1) and create ``evidence_reinstatements``."""
    if op.get_bind().dialect.name == "sqlite":  # no ALTER of a primary key: a new table, the rows copied
        _withdrawals_table("evidence_withdrawals_0010", ["evidence_id", "n"])
        op.execute("INSERT INTO evidence_withdrawals_0010 (evidence_id, n, reason, withdrawn_by, withdrawn_at)"
                   " SELECT evidence_id, 1, reason, withdrawn_by, withdrawn_at FROM evidence_withdrawals")
        op.drop_table("evidence_withdrawals")
        op.rename_table("evidence_withdrawals_0010", "evidence_withdrawals")
    else:
        op.add_column("evidence_withdrawals",
                      sa.Column("n", sa.Integer(), nullable=False, server_default=sa.text("1")))
        op.alter_column("evidence_withdrawals", "n", existing_type=sa.Integer(), existing_nullable=False,
                        server_default=None)
        op.drop_constraint("evidence_withdrawals_pkey", "evidence_withdrawals", type_="primary")
        op.create_primary_key("evidence_withdrawals_pkey", "evidence_withdrawals", ["evidence_id", "n"])
    op.create_table(
        "evidence_reinstatements",
        sa.Column("evidence_id", sa.String(length=200), nullable=False),
        sa.Column("n", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reinstated_by", sa.String(length=200), nullable=False),
        sa.Column("reinstated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id", "n"], ["evidence_withdrawals.evidence_id", "evidence_withdrawals.n"]),
        sa.PrimaryKeyConstraint("evidence_id", "n"),
    )


def downgrade() -> None:
    """Back to one withdrawal per item: a reinstated item is in use again, one withdrawn now keeps its newest
    withdrawal; the reinstatements and the earlier withdrawals are dropped (their audit events stay)."""
    bind = op.get_bind()
    ended = bind.execute(sa.text("SELECT evidence_id, n FROM evidence_reinstatements")).all()
    op.drop_table("evidence_reinstatements")
    for k in range(0, len(ended), 500):  # every withdrawal but an item's newest is reinstated
        bind.execute(sa.text("DELETE FROM evidence_withdrawals WHERE evidence_id = :e AND n = :n"),
                     [{"e": e, "n": n} for e, n in ended[k:k + 500]])
    op.execute("UPDATE evidence_withdrawals SET n = 1")
    if bind.dialect.name == "sqlite":
        _withdrawals_table("evidence_withdrawals_0009", ["evidence_id"])
        op.execute("INSERT INTO evidence_withdrawals_0009 (evidence_id, reason, withdrawn_by, withdrawn_at)"
                   " SELECT evidence_id, reason, withdrawn_by, withdrawn_at FROM evidence_withdrawals")
        op.drop_table("evidence_withdrawals")
        op.rename_table("evidence_withdrawals_0009", "evidence_withdrawals")
    else:
        op.drop_constraint("evidence_withdrawals_pkey", "evidence_withdrawals", type_="primary")
        op.drop_column("evidence_withdrawals", "n")
        op.create_primary_key("evidence_withdrawals_pkey", "evidence_withdrawals", ["evidence_id"])


def _withdrawals_table(name: str, key: list[str]) -> None:
    """Create ``evidence_withdrawals``'s columns as table ``name`` with primary key ``key`` (``n`` when in it)."""
    numbered = [sa.Column("n", sa.Integer(), autoincrement=False, nullable=False)] if "n" in key else []
    op.create_table(
        name,
        sa.Column("evidence_id", sa.String(length=200), nullable=False),
        *numbered,
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.PrimaryKeyConstraint(*key),
    )
