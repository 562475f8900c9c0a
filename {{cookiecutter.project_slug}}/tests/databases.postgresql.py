"""The PostgreSQL the tests run on: TEST_DATABASE_URL if set, else a throwaway server."""

import asyncio
import os
import uuid
from contextlib import ExitStack

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.postgres_server import throwaway_server

# Nothing listens on port 1: a database that is down.
UNREACHABLE_URL = "postgresql+asyncpg://nobody:secret@127.0.0.1:1/nothing"


def provide_database(resources: ExitStack) -> str:
    """The URL of the database the suite runs on."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    server_url = resources.enter_context(throwaway_server())
    return create_empty_database(server_url, resources)


def create_empty_database(url: str, resources: ExitStack) -> str:
    """A new database on the same server as `url`, dropped when `resources` closes."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(url, f'CREATE DATABASE "{name}"'))
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    resources.callback(lambda: asyncio.run(_execute(url, drop)))
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def isolate_tests(engine: AsyncEngine) -> None:
    """PostgreSQL needs nothing for per-test rollback: savepoints work as they are."""


async def _execute(url: str, statement: str) -> None:
    engine = create_async_engine(
        make_url(url).set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()
