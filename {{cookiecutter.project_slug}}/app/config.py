"""Settings, read from the environment and `.env` (names are case-insensitive)."""

from typing import Annotated

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import URL, make_url

from app.logs import LogFormat, LogLevel

MIN_SECRET_KEY_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    secret_key: SecretStr
    algorithm: str = "HS256"
    access_token_expire_minutes: int = 30
    # Argon2 cost: OWASP's recommended minimum; tests lower it to stay fast.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536  # KiB
    # Larger request bodies are refused with 413 before they are read into memory.
    max_request_body_bytes: int = 1024 * 1024
    # Logging (app/logs.py): the least severe level written, and `text` for a terminal or
    # `json` (one object a line) for a log collector.
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    # Origins of browser front ends allowed to call the API (app/cors.py), comma-separated:
    # `https://app.example.com,http://localhost:5173`. None by default: no CORS headers.
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters; make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
{%- if cookiecutter.database == "postgresql" %}

    database_hostname: str = "localhost"
    database_port: int = 5432
    database_username: str = "postgres"
    database_password: SecretStr = SecretStr("")
    database_name: str = "{{ cookiecutter.project_slug | replace('-', '_') }}"
    # Hosted platforms hand out a single URL; when set it wins over the parts above.
    database_url: SecretStr | None = None
    # Connections each process keeps open, and how many more it may open in a burst. Size
    # the pool for the requests a process serves at once: requests waiting for a connection
    # are not served in order, so under a starved pool the unlucky ones wait seconds. Keep
    # processes x (pool size + overflow) under PostgreSQL's max_connections (100 by default).
    database_pool_size: int = 20
    database_max_overflow: int = 20
    # Seconds to wait for a free pooled connection (under load), and for a new one to open
    # (a database host that does not answer), before the request is answered 503.
    database_pool_timeout: float = 30
    database_connect_timeout: float = 5
    # Set when the app connects through PgBouncer in transaction pooling mode (see README).
    database_pgbouncer: bool = False
    # Migrations (alembic/env.py). A migration waiting for a table lock makes every later
    # query of that table queue behind it, so it waits at most `migration_lock_timeout`
    # seconds, then lets go and tries again after a pause, until it has spent
    # `migration_retry_window` seconds waiting (time spent working does not count). No
    # statement of a migration runs longer than the statement timeout.
    migration_lock_timeout: float = 0.5
    migration_retry_window: float = 60
    migration_statement_timeout: float = 300

    @property
    def sqlalchemy_url(self) -> URL:
        """The URL for SQLAlchemy's asyncpg driver.

        Built with `URL.create`, not string formatting, so the password may hold any
        character (`@`, `/`, `%`, `#`, spaces, quotes).
        """
        if self.database_url is not None:
            url = make_url(self.database_url.get_secret_value())
            return url.set(drivername="postgresql+asyncpg")
        return URL.create(
            "postgresql+asyncpg",
            username=self.database_username,
            password=self.database_password.get_secret_value(),
            host=self.database_hostname,
            port=self.database_port,
            database=self.database_name,
        )
{%- else %}

    database_url: str = "sqlite+aiosqlite:///./{{ cookiecutter.project_slug | replace('-', '_') }}.db"

    @property
    def sqlalchemy_url(self) -> URL:
        """The URL for SQLAlchemy's aiosqlite driver."""
        return make_url(self.database_url).set(drivername="sqlite+aiosqlite")
{%- endif %}


settings = Settings()
