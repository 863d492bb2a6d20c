"""Alembic environment: runs the shipped migrations on the engine handed in by assetgrade.store.engine."""

from __future__ import annotations

from alembic import context

from assetgrade.store.schema import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Migrate through the engine passed in ``config.attributes['engine']``."""
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
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
