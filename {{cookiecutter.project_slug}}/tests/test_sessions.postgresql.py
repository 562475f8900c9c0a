"""Requests that only read run without a transaction; requests that write run in one;
a connection the database closed is never handed out."""

import asyncio
import time
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.requests import Request

from app.database import engine, get_session

# Assigns the current transaction an id if it has none, so two calls show whether they ran
# in one transaction or in two.
TRANSACTION_ID = text("SELECT pg_current_xact_id()::text")


async def transaction_ids_of_two_statements(method: str) -> tuple[str, str]:
    request = Request({"type": "http", "method": method})
    async with asynccontextmanager(get_session)(request) as session:
        first: str = await session.scalar(TRANSACTION_ID)
        second: str = await session.scalar(TRANSACTION_ID)
    return first, second


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
async def test_a_read_only_request_runs_each_statement_on_its_own(method: str) -> None:
    first, second = await transaction_ids_of_two_statements(method)
    assert first != second


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_a_request_that_writes_runs_in_one_transaction(method: str) -> None:
    first, second = await transaction_ids_of_two_statements(method)
    assert first == second


BACKEND_PID = text("SELECT pg_backend_pid()")


async def test_a_connection_the_database_closed_is_replaced_before_it_is_used() -> None:
    await engine.dispose()  # so that the pool's one connection is the one closed below
    async with engine.connect() as connection:
        closed_pid = await connection.scalar(BACKEND_PID)
        driver_connection = (await connection.get_raw_connection()).driver_connection
    assert driver_connection is not None
    # What a database restart does to every pooled connection: end its server process.
    other_engine = create_async_engine(engine.url, poolclass=pool.NullPool)
    try:
        async with other_engine.connect() as other:
            ended = await other.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"),
                                       {"pid": closed_pid})  # fmt: skip
    finally:
        await other_engine.dispose()
    assert ended
    deadline = time.monotonic() + 5
    while not driver_connection.is_closed():  # asyncpg reads the end of the socket
        assert time.monotonic() < deadline, "asyncpg never saw its connection close"
        await asyncio.sleep(0.01)

    async with engine.connect() as connection:
        assert await connection.scalar(BACKEND_PID) != closed_pid
