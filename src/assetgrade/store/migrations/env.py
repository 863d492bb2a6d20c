"""Alembic environment: runs the shipped migrations on the engine handed in by assetgrade.store.engine."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from assetgrade.store.schema import Base

target_metadata = Base.metadata
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('assetgrade:migrate:' || current_schema()))"
"""PostgreSQL: the transaction-scoped lock every migration run takes first (one per schema)."""


def run_migrations_online() -> None:
    """Migrate through the engine passed in ``config.attributes['engine']``."""
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # two `db upgrade` at once: the second waits here, then finds the store migrated, instead of running
            # the same DDL and failing on a duplicate table (SQLite: BEGIN IMMEDIATE serialises them already)
            connection.execute(text(MIGRATION_LOCK))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if getattr(context, "_proxy", None) is not None:  # only under Alembic, not when merely imported
    run_migrations_online()
