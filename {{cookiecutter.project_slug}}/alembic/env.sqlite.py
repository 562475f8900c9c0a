"""Runs migrations against the database the app's settings name (.env or the environment)."""

import asyncio
import logging
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Column, Connection, Engine, Identity, String, pool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeEngine

from app import logs
from app.config import settings
from app.models import Base
from app.schema_revision import unknown_revision

config = context.config
# The app's logging (LOG_LEVEL, LOG_FORMAT), unless Alembic runs inside a program that set
# up logging of its own (the app, pytest): that program's stays as it is.
if not logging.getLogger().handlers:
    logs.configure(settings.log_level, settings.log_format)

target_metadata = Base.metadata


def compare_server_default(
    context: MigrationContext,
    inspected_column: Column[object],
    metadata_column: Column[object],
    inspected_default: str | None,
    metadata_default: object,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Compare server defaults as Alembic does, except for identity columns.

    SQLite has no identity columns: its INTEGER PRIMARY KEY numbers rows by itself, so
    the Identity() it cannot show is not drift.
    """
    if isinstance(metadata_column.server_default, Identity):
        return False
    return None


def compare_type(
    context: MigrationContext,
    inspected_column: Column[object],
    metadata_column: Column[object],
    inspected_type: TypeEngine[object],
    metadata_type: TypeEngine[object],
) -> bool | None:
    """Compare types as Alembic does, except text with text.

    SQLite stores text of any length whatever length a column declares, so a longer
    `String`, or an enum member longer than the others, changes nothing it enforces: a
    revision for it would copy the whole table (batch mode) for nothing.
    """
    if isinstance(inspected_type, String) and isinstance(metadata_type, String):
        return False
    return None


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # Compare types and server defaults too, so `alembic check` catches every drift.
        compare_type=compare_type,
        compare_server_default=compare_server_default,
        # SQLite alters tables by copying them; batch mode writes migrations that way.
        render_as_batch=True,
        # A migration that fails or is killed leaves the database at the revision before it.
        transaction_per_migration=True,
        **options,
    )


def run_migrations_offline() -> None:
    """Print the SQL instead of running it: `alembic upgrade head --sql`."""
    configure(url=settings.sqlalchemy_url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    # Inside a transaction the caller began, Alembic begins none of its own and commits
    # nothing: the caller does.
    configure(connection=connection)
    with context.begin_transaction():
        try:
            context.run_migrations()
        except CommandError:
            # Alembic's "Can't locate revision" for the database's own revision (another
            # branch's, say) becomes one line saying what to do.
            for current in context.get_context().get_current_heads():
                if problem := unknown_revision(context.script, current):
                    raise CommandError(problem) from None
            raise


async def run_async_migrations(engine: AsyncEngine) -> None:
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        # Pooled connections belong to this event loop, which ends with the run: an engine
        # handed over (pytest-alembic's) opens fresh ones in the caller's next loop.
        await engine.dispose()


def run_migrations_online() -> None:
    # Callers may hand over an engine or a connection of their own (test tools such as
    # pytest-alembic do); the command line hands over nothing.
    connectable = config.attributes.get("connection")
    if connectable is None:
        # NullPool: its one connection closes with the run.
        connectable = create_async_engine(settings.sqlalchemy_url, poolclass=pool.NullPool)
    if isinstance(connectable, AsyncEngine):
        asyncio.run(run_async_migrations(connectable))
    elif isinstance(connectable, Engine):
        with connectable.connect() as connection:
            run_migrations(connection)
    else:
        run_migrations(connectable)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
