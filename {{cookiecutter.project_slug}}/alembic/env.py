"""Runs migrations against the database the app's settings name (.env or the environment)."""

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Identity, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import settings
from app.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Any constant works, as long as every copy of the service uses the same one.
MIGRATION_LOCK_KEY = 4_218_093_557
# A migration waiting this long for a table lock gives up rather than queueing all traffic
# on that table behind it; rerun it when the database is quieter. Set for the session, so
# every migration's transaction runs under them (and the SQL printed by --sql shows them).
POSTGRESQL_TIMEOUTS = ("SET lock_timeout = '5s'", "SET statement_timeout = '5min'")


def compare_sqlite_server_default(
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


def configure(*, sqlite: bool, **options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # Compare types and server defaults too, so `alembic check` catches every drift.
        compare_type=True,
        compare_server_default=compare_sqlite_server_default if sqlite else True,
        # SQLite alters tables by copying them; batch mode writes migrations that way.
        render_as_batch=sqlite,
        # A migration that fails or is killed leaves the database at the revision before it.
        transaction_per_migration=True,
        **options,
    )


def run_migrations_offline() -> None:
    """Print the SQL instead of running it: `alembic upgrade head --sql`."""
    url = settings.sqlalchemy_url
    configure(
        # The URL object, not str(url): str() masks the password and ConfigParser would
        # choke on a `%` in it.
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        sqlite=url.get_backend_name() == "sqlite",
    )
    if url.get_backend_name() == "postgresql":
        for statement in POSTGRESQL_TIMEOUTS:
            context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    is_postgresql = connection.dialect.name == "postgresql"
    if is_postgresql:
        take_migration_lock(connection)
    try:
        configure(connection=connection, sqlite=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if is_postgresql:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


def take_migration_lock(connection: Connection) -> None:
    """Wait until no other process is migrating this database.

    Replicas that start together queue here, and those after the first find the schema
    already at head. The lock is session-level so it spans every migration's transaction;
    it is committed before Alembic starts its own transactions, which it would otherwise
    take for an outer one it must not commit.
    """
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    # After the lock: waiting for it is not subject to the lock timeout.
    for statement in POSTGRESQL_TIMEOUTS:
        connection.execute(text(statement))
    connection.commit()


async def run_async_migrations() -> None:
    # NullPool: the one connection closes with the run, releasing the lock whatever happens.
    engine = create_async_engine(settings.sqlalchemy_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    # Test tools such as pytest-alembic hand over a connection of their own.
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
