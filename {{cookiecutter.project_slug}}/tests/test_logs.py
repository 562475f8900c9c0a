"""Logs: one format for every logger, and each request's id on its lines and its response."""

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from app import logs
from app.main import app
from tests.conftest import bearer

NEW_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the app logs during the test, as its JSON format writes it."""
    stream = io.StringIO()
    handler = logs.stream_handler("json", stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.fixture
async def failing_route() -> AsyncIterator[FastAPI]:
    """The app with a route that has a bug, for the length of the test."""

    async def divide_by_zero() -> float:
        return 1 / 0

    app.add_api_route("/test-only/bug", divide_by_zero)
    try:
        yield app
    finally:
        app.router.routes.pop()


async def test_each_response_carries_a_new_request_id(client: AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert NEW_REQUEST_ID.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("request_id", ["0f1e2d3c-4b5a-4968-8776-655443322110", "lb.7:abc=="])
async def test_a_sane_request_id_from_the_caller_is_kept(
    client: AsyncClient, request_id: str
) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": request_id})
    assert response.headers["X-Request-ID"] == request_id


@pytest.mark.parametrize("request_id", ["two words", 'quo"te', "x" * 129, "naïve"])
async def test_any_other_request_id_is_replaced(client: AsyncClient, request_id: str) -> None:
    headers = {b"X-Request-ID": request_id.encode()}
    response = await client.get("/health/live", headers=headers)
    assert NEW_REQUEST_ID.fullmatch(response.headers["X-Request-ID"])


async def test_json_lines_carry_the_id_of_the_request_they_were_written_for(
    client_without_database: AsyncClient, json_lines: io.StringIO
) -> None:
    response = await client_without_database.get("/users/1", headers=bearer(1))
    assert response.status_code == 503
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    [line] = [line for line in lines if line["logger"] == "app.errors"]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["level"] == "WARNING"
    assert line["message"].startswith("database unavailable")
    assert {"time", "level", "logger", "message", "request_id"} <= set(line)


async def test_lines_written_outside_a_request_have_no_request_id(
    json_lines: io.StringIO,
) -> None:
    logging.getLogger("app").warning("between requests")
    line = json.loads(json_lines.getvalue())
    assert line["message"] == "between requests"
    assert "request_id" not in line


def test_text_lines_end_with_the_request_id_when_there_is_one() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello", None, None)
    assert logs.formatter("text").format(record).endswith("INFO  [app] hello")
    record.request_id = "abc"
    assert logs.formatter("text").format(record).endswith("INFO  [app] hello [request_id=abc]")


async def test_a_bug_is_answered_500_with_the_request_id(failing_route: FastAPI) -> None:
    transport = ASGITransport(app=failing_route, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/test-only/bug", headers={"X-Request-ID": "report-42"})
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["X-Request-ID"] == "report-42"


def test_sqlalchemy_logs_no_statements_at_the_apps_level() -> None:
    # At INFO, SQLAlchemy would log every statement with its values.
    assert logging.getLogger().isEnabledFor(logging.INFO)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)


def test_configuring_replaces_every_handler_the_root_logger_had() -> None:
    root = logging.getLogger()
    strays = [logging.NullHandler(), logging.NullHandler()]
    for stray in strays:
        root.addHandler(stray)
    logs.configure("INFO", "text")
    assert not set(strays) & set(root.handlers)
    [handler] = root.handlers
    assert isinstance(handler.formatter, logs.TextFormatter)


def test_the_log_level_holds_for_every_logger_uvicorns_included() -> None:
    logs.configure("WARNING", "text")
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)  # a handler the `configure` below replaces
    access = logging.getLogger("uvicorn.access")
    access_level = access.level
    access.setLevel(logging.INFO)  # as uvicorn sets it
    try:
        access.info('"GET / HTTP/1.1" 200')
        logging.getLogger("app").warning("kept")
    finally:
        access.setLevel(access_level)
        logs.configure("INFO", "text")
    assert "GET /" not in stream.getvalue()
    assert stream.getvalue().rstrip().endswith("kept")
