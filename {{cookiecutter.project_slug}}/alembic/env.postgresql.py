"""Runs migrations against the database the app's settings name (.env or the environment)."""

import asyncio
import logging
from typing import Any, NoReturn

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app import logs
from app.config import settings
from app.migration_locks import (
    MIGRATION_LOCK_KEY,
    BlockerWatch,
    LockRetries,
    migration_lock,
    timeout_statements,
)
from app.models import Base

config = context.config
# The app's logging (LOG_LEVEL, LOG_FORMAT), unless Alembic runs inside a program that set
# up logging of its own (the app, pytest): that program's stays as it is.
if not logging.getLogger().handlers:
    logs.configure(settings.log_level, settings.log_format)

target_metadata = Base.metadata
TIMEOUTS = (settings.migration_lock_timeout, settings.migration_statement_timeout)


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # Compare types and server defaults too, so `alembic check` catches every drift.
        compare_type=True,
        compare_server_default=True,
        # A migration that fails or is killed leaves the database at the revision before it,
        # and one blocked by a lock is retried alone.
        transaction_per_migration=True,
        **options,
    )


def run_migrations_offline() -> None:
    """Print the SQL instead of running it: `alembic upgrade head --sql`."""
    # The URL object, not str(url): str() masks the password and ConfigParser would choke
    # on a `%` in it.
    configure(url=settings.sqlalchemy_url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    for statement in timeout_statements(*TIMEOUTS):
        context.execute(statement)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(connection: Connection) -> None:
    if connection.in_transaction():
        run_in_callers_transaction(connection)
        return
    pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    watch = BlockerWatch(connection.engine.url, pid)
    retries = LockRetries(
        watch,
        lock_timeout=settings.migration_lock_timeout,
        window=settings.migration_retry_window,
    )
    with migration_lock(connection, timeout_statements(*TIMEOUTS)):
        # Configured once to learn the steps the command asked for, then again to run them
        # one by one. Each context logs its own "Context impl" lines: only the second's show.
        announcements = logging.getLogger("alembic.runtime.migration")
        announcements.disabled = True
        try:
            configure(connection=connection)
        finally:
            announcements.disabled = False
        command_steps = context.get_context().opts["fn"]
        configure(
            connection=connection,
            fn=retries.steps_of(command_steps),
            on_version_apply=retries.step_applied,
        )
        try:
            retries.run(
                context.run_migrations,
                current=lambda: ", ".join(context.get_context().get_current_heads()),
            )
        finally:
            watch.stop()


def run_in_callers_transaction(connection: Connection) -> None:
    """Migrate inside a transaction the caller began (as in Alembic's cookbook).

    The transaction stays the caller's to commit or roll back, so the lock and the
    timeouts last as long as it does, and a lock timeout is not retried: retrying would
    mean rolling back the caller's work. For the same reason no revision may step out of
    it into an autocommit block (CREATE INDEX CONCURRENTLY): that one says so and stops.
    """
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    for statement in timeout_statements(*TIMEOUTS, scope="LOCAL"):
        connection.execute(text(statement))
    configure(connection=connection)
    context.get_context().autocommit_block = refuse_autocommit_block  # type: ignore[method-assign]
    with context.begin_transaction():
        context.run_migrations()


def refuse_autocommit_block() -> NoReturn:
    raise CommandError(
        "this revision runs statements outside any transaction (an autocommit block), which"
        " cannot happen inside the transaction the caller began: hand env.py an engine, or"
        " a connection with no transaction begun"
    )


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
        # NullPool: the one connection closes with the run, releasing the lock whatever happens.
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
