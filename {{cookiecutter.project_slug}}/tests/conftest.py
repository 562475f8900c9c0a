"""One database, migrated once per run; each test runs in a transaction rolled back after it."""

import asyncio
import io
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.config import Config
from httpx import ASGITransport, AsyncClient
from sqlalchemy import Connection, event, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from tests import databases

PASSWORD = "correct horse battery staple"
ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
_resources = ExitStack()
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    # Settings are read when `app` is first imported, so the environment is set up first.
    config.add_cleanup(_resources.close)
    try:
        database_url = databases.provide_database(_resources)
    except RuntimeError as error:
        raise pytest.UsageError(str(error)) from None
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough")
    # The cheapest argon2 that is still argon2: hashing dominates a suite of sign-ups.
    os.environ["ARGON2_TIME_COST"] = "1"
    os.environ["ARGON2_MEMORY_COST"] = "1024"
    # Alembic reports each step it takes at INFO: news at a terminal, noise above a test run.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    run_alembic("upgrade", "head", database_url=database_url)

    from app.database import engine

    databases.isolate_tests(engine)


def on_engine(database_url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` with an engine of its own on `database_url`, disposed afterwards."""
    from app.config import Settings

    # Settings picks the async driver for the URL, as it does for the app.
    engine = create_async_engine(
        Settings(database_url=database_url).sqlalchemy_url, poolclass=pool.NullPool
    )

    async def work_and_dispose() -> T:
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(work_and_dispose())


def on_connection(database_url: str, work: Callable[[Connection], T]) -> T:
    """Run `work` on a new connection to `database_url` (Alembic's commands are sync code)."""

    async def connect_and_work(engine: AsyncEngine) -> T:
        async with engine.connect() as connection:
            return await connection.run_sync(work)

    return on_engine(database_url, connect_and_work)


def run_alembic(name: str, *args: str, database_url: str) -> str:
    """Run an Alembic command (as `alembic <name> <args>`) on `database_url`; return its output.

    In-process, on a connection handed to env.py, which is much faster than a subprocess.
    """
    output = io.StringIO()
    config = Config(ALEMBIC_INI, stdout=output)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        getattr(command, name)(config, *args)

    on_connection(database_url, run)
    return output.getvalue()


def query(database_url: str, statement: str) -> list[tuple[Any, ...]]:
    """Run one SQL statement on `database_url` and commit it; return its rows, if any.

    For tests of data migrations: rows written at one revision, read at another.
    """

    def run(connection: Connection) -> list[tuple[Any, ...]]:
        result = connection.execute(text(statement))
        rows = [tuple(row) for row in result] if result.returns_rows else []
        connection.commit()
        return rows

    return on_connection(database_url, run)


@pytest.fixture
def create_empty_database() -> Iterator[Callable[[], str]]:
    """Make empty databases beside the test database; they are removed after the test."""
    with ExitStack() as resources:
        yield lambda: databases.create_empty_database(os.environ["DATABASE_URL"], resources)


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    """A session whose commits land in a savepoint of a transaction rolled back afterwards."""
    from app.database import transactional_engine

    async with transactional_engine.connect() as connection:
        transaction = await connection.begin()
        async with AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session
        await transaction.rollback()


@pytest.fixture
async def client(session: AsyncSession) -> AsyncIterator[AsyncClient]:
    """An HTTP client for the app, whose requests all use the test's session."""
    from app.database import get_session
    from app.main import app

    async def test_session() -> AsyncIterator[AsyncSession]:
        yield session

    app.dependency_overrides[get_session] = test_session
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client
    app.dependency_overrides.clear()


@pytest.fixture
async def client_without_database() -> AsyncIterator[AsyncClient]:
    """An HTTP client for the app while its database is down (nothing listens there)."""
    from app.database import get_session
    from app.main import app

    engine = create_async_engine(databases.UNREACHABLE_URL)

    async def unreachable_session() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(engine) as session:
            yield session

    app.dependency_overrides[get_session] = unreachable_session
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            yield client
    finally:
        app.dependency_overrides.clear()
        await engine.dispose()


@contextmanager
def recording_statements() -> Iterator[list[tuple[str, Any]]]:
    """Record the SQL the app sends inside the block, each statement with its parameters."""
    from app.database import engine

    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class Account:
    """A signed-up user and the headers that authenticate as them."""

    id: int
    email: str
    headers: dict[str, str]


def bearer(user_id: int) -> dict[str, str]:
    """Headers with a valid token for user `user_id`, made without asking the database."""
    from app.security import create_access_token

    return {"Authorization": f"Bearer {create_access_token(user_id)}"}


async def sign_up(client: AsyncClient, email: str) -> Account:
    created = await client.post("/users/", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    login = await client.post("/login", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return Account(id=created.json()["id"], email=email, headers=headers)


@pytest.fixture
async def alice(client: AsyncClient) -> Account:
    return await sign_up(client, "alice@example.com")


@pytest.fixture
async def bob(client: AsyncClient) -> Account:
    return await sign_up(client, "bob@example.com")


async def create_post(client: AsyncClient, author: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": "Hello", "content": "First post", **fields}
    response = await client.post("/posts/", json=body, headers=author.headers)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post
