"""Requests that only read run without a transaction; requests that write run in one."""

from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from starlette.requests import Request

from app.database import get_session

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
