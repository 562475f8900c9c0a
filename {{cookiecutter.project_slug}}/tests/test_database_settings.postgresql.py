"""The database URL: built from the seed's DATABASE_* parts, or given whole as DATABASE_URL."""

import os
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings

HOSTILE_PASSWORD = "p%@/:#? 'x\"y\\z"
SECRET_KEY = "k" * 32


@pytest.fixture(autouse=True)
def suite_database_url(monkeypatch: pytest.MonkeyPatch) -> str:
    """The suite's own DATABASE_URL, taken out of the environment where it would win."""
    url = os.environ["DATABASE_URL"]
    monkeypatch.delenv("DATABASE_URL")
    return url


def test_url_from_parts_keeps_any_password() -> None:
    settings = Settings(
        _env_file=None,
        secret_key=SECRET_KEY,
        database_hostname="db.internal",
        database_port=6543,
        database_username="app",
        database_password=HOSTILE_PASSWORD,
        database_name="blog",
    )
    url = settings.sqlalchemy_url
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.username, url.database) == ("db.internal", 6543, "app", "blog")
    assert url.password == HOSTILE_PASSWORD
    rendered = url.render_as_string(hide_password=False)
    assert make_url(rendered).password == HOSTILE_PASSWORD


def test_a_single_quoted_password_in_dotenv_arrives_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_PASSWORD", raising=False)
    # As the README says to write it: single quotes, `\'` for a quote, no backslash.
    password = HOSTILE_PASSWORD.replace("\\", "") + " $HOME"
    quoted = password.replace("'", "\\'")
    env_file = tmp_path / ".env"
    env_file.write_text(f"DATABASE_PASSWORD='{quoted}'\nSECRET_KEY={SECRET_KEY}\n")
    assert Settings(_env_file=env_file).sqlalchemy_url.password == password


def test_database_url_wins_over_the_parts() -> None:
    settings = Settings(
        _env_file=None,
        secret_key=SECRET_KEY,
        database_url="postgresql://app:p%40ss@managed.example:6543/blog",
        database_hostname="ignored",
    )
    url = settings.sqlalchemy_url
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.password) == ("managed.example", 6543, "p@ss")


def test_the_postgres_scheme_of_hosted_platforms_is_accepted() -> None:
    settings = Settings(_env_file=None, secret_key=SECRET_KEY, database_url="postgres://u:p@h/d")
    assert settings.sqlalchemy_url.drivername == "postgresql+asyncpg"


async def test_the_app_connects_with_a_password_given_as_a_part(suite_database_url: str) -> None:
    # The suite's database, taken apart into the seed's variables (its password is hostile
    # when the suite started its own server).
    test_url = make_url(suite_database_url)
    settings = Settings(
        _env_file=None,
        secret_key=SECRET_KEY,
        database_hostname=test_url.host or "localhost",
        database_port=test_url.port or 5432,
        database_username=test_url.username or "",
        database_password=test_url.password or "",
        database_name=test_url.database or "",
    )
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
