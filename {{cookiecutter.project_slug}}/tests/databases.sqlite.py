"""The SQLite files the tests run on, in a temporary directory."""

import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# A file in a directory that does not exist: a database that cannot be opened.
UNREACHABLE_URL = "sqlite+aiosqlite:////nonexistent-directory/nothing.db"


def provide_database(resources: ExitStack) -> str:
    """The URL of the database the suite runs on."""
    return create_empty_database("", resources)


def create_empty_database(url: str, resources: ExitStack) -> str:
    """A new database file, deleted when `resources` closes."""
    directory = resources.enter_context(tempfile.TemporaryDirectory(prefix="test-sqlite-"))
    return f"sqlite+aiosqlite:///{Path(directory) / f'{uuid.uuid4().hex[:12]}.db'}"


def isolate_tests(engine: AsyncEngine) -> None:
    """Make per-test rollback work on SQLite.

    The sqlite3 driver opens and commits transactions on its own, which breaks savepoints;
    hand that job to SQLAlchemy, as its documentation for SQLite describes.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")
