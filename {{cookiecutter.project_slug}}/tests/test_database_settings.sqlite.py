"""The database URL: DATABASE_URL, always driven by aiosqlite."""

import pytest

from app.config import Settings

SECRET_KEY = "k" * 32


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own DATABASE_URL would hide the defaults these tests check."""
    monkeypatch.delenv("DATABASE_URL")


def test_the_default_is_a_file_in_the_project() -> None:
    url = Settings(_env_file=None, secret_key=SECRET_KEY).sqlalchemy_url
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database is not None
    assert url.database.startswith("./")
    assert url.database.endswith(".db")


def test_a_plain_sqlite_url_gets_the_async_driver() -> None:
    settings = Settings(_env_file=None, secret_key=SECRET_KEY, database_url="sqlite:///data/app.db")
    url = settings.sqlalchemy_url
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == "data/app.db"
