"""The engine, the session factory, and the per-request session dependency."""

from collections.abc import AsyncIterator
from typing import Annotated{% if cookiecutter.database == "sqlite" %}, Any{% endif %}

from fastapi import Depends
{% if cookiecutter.database == "sqlite" -%}
from sqlalchemy import event
{% endif -%}
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.config import settings
{% if cookiecutter.database == "postgresql" %}
engine = create_async_engine(
    settings.sqlalchemy_url,
    pool_size=settings.database_pool_size,
    max_overflow=settings.database_max_overflow,
    # Replace connections that died with a database restart instead of handing them out.
    pool_pre_ping=True,
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
    async with SessionFactory() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
