"""The engine, the session factory, and the per-request session dependency."""

from collections.abc import AsyncIterator
from typing import Annotated{% if cookiecutter.database == "sqlite" %}, Any{% endif %}
{%- if cookiecutter.database == "postgresql" %}
from uuid import uuid4
{%- endif %}

from fastapi import Depends
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

engine = create_async_engine(
    settings.sqlalchemy_url,
    pool_size=settings.database_pool_size,
    max_overflow=settings.database_max_overflow,
    pool_timeout=settings.database_pool_timeout,
    # Replace connections that died with a database restart instead of handing them out.
    pool_pre_ping=True,
    connect_args={
        "timeout": settings.database_connect_timeout,
        **(PGBOUNCER_CONNECT_ARGS if settings.database_pgbouncer else {}),
    },
)
{%- else %}
engine = create_async_engine(settings.sqlalchemy_url)


@event.listens_for(engine.sync_engine, "connect")
def _enforce_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores foreign keys, and so ON DELETE CASCADE, unless asked on each connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
{% endif %}

SessionFactory = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    """Yield a session that lives as long as the request."""
    session = SessionFactory()
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
