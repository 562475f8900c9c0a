"""The engines, the session factories, and the per-request session dependency."""

from collections.abc import AsyncIterator
from typing import Annotated{% if cookiecutter.database == "sqlite" %}, Any{% endif %}
{%- if cookiecutter.database == "postgresql" %}
from uuid import uuid4
{%- endif %}

from fastapi import Depends, Request
{% if cookiecutter.database == "sqlite" -%}
from sqlalchemy import event
{% endif -%}
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.config import settings
{% if cookiecutter.database == "postgresql" %}
# PgBouncer in transaction pooling mode runs each transaction on whichever server
# connection is free, where a prepared statement named by an earlier one may be missing or
# taken: cache no statements and give each a unique name, as SQLAlchemy's docs describe.
PGBOUNCER_CONNECT_ARGS = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
}

# JIT compiling a query takes tens of milliseconds, which pays off only for long analytic
# queries; this service's take a millisecond. Left on, a query whose estimated cost passes
# `jit_above_cost` (a cached generic plan can) pays that on every run. PgBouncer passes no
# such setting on: there, set it for the role (`ALTER ROLE app SET jit = off`).
NO_JIT_CONNECT_ARGS = {"server_settings": {"jit": "off"}}

engine = create_async_engine(
    settings.sqlalchemy_url,
    pool_size=settings.database_pool_size,
    max_overflow=settings.database_max_overflow,
    pool_timeout=settings.database_pool_timeout,
    # Replace connections that died with a database restart, or that a network device
    # dropped without a word, instead of handing them out: one round trip per checkout.
    pool_pre_ping=True,
    # An error's message (and so its log line) shows the statement but not its values:
    # password hashes, emails, whatever the user typed.
    hide_parameters=True,
    # Pooled connections wait in autocommit mode, so a read is one round trip with no
    # BEGIN and ROLLBACK around it, and the pre-ping one instead of three. Behind PgBouncer
    # every statement must run in a transaction, or its two halves (prepare, execute) may
    # land on different server connections.
    isolation_level="READ COMMITTED" if settings.database_pgbouncer else "AUTOCOMMIT",
    connect_args={
        "timeout": settings.database_connect_timeout,
        **(PGBOUNCER_CONNECT_ARGS if settings.database_pgbouncer else NO_JIT_CONNECT_ARGS),
    },
)
# For whatever writes, requests or scripts: one transaction, committed or rolled back as a
# whole. (Without PgBouncer, `engine.begin()` opens none.)
transactional_engine = engine.execution_options(isolation_level="READ COMMITTED")
{%- else %}
# An error's message (and so its log line) shows the statement but not its values.
engine = create_async_engine(settings.sqlalchemy_url, hide_parameters=True)


@event.listens_for(engine.sync_engine, "connect")
def _enforce_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores foreign keys, and so ON DELETE CASCADE, unless asked on each connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# The SQLite driver opens a transaction by itself before a statement that writes.
transactional_engine = engine
{% endif %}

ReadSessionFactory = async_sessionmaker(engine, expire_on_commit=False)
SessionFactory = async_sessionmaker(transactional_engine, expire_on_commit=False)
# HTTP's safe methods change nothing, so their requests need no transaction.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session that lives as long as the request, in a transaction if it writes."""
    factory = ReadSessionFactory if request.method in READ_ONLY_METHODS else SessionFactory
    session = factory()
    try:
        yield session
    finally:
        try:
            await session.close()
        except DBAPIError as error:
            # Closing rolls back, which fails on a connection the database dropped (a
            # restart). Its transaction is gone with it and the pool discards it, so there
            # is nothing left to undo; raising here would break an answer already sent.
            if not error.connection_invalidated:
                raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]
