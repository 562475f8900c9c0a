"""Prometheus metrics at `GET /metrics`: requests, latency, the pool, and the schema's revision.

- `http_requests_total{method, handler, status}`: `handler` is the route's template
  (`/posts/{post_id}`), never the raw path, so ids do not multiply the series.
- `http_request_duration_seconds{method, handler, status}`: a latency histogram.
- `http_requests_inprogress`: requests being served now.
- `db_pool_connections_in_use`, `db_pool_overflow`: pooled connections handed out, and
  how many of them were opened beyond the pool's size.
- `db_schema_at_head`: 1 while the database's schema is at the revision this code was
  written for, 0 otherwise (a release whose migration did not run, or a database that
  does not answer). Checked every few seconds in the background, never by a scrape.

Each process counts for itself: run one uvicorn process per container (scale out with
replicas), or every scrape sees one worker's share.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from prometheus_client import REGISTRY, Gauge, Metric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import latency, requests
from sqlalchemy import QueuePool, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
SCHEMA_CHECK_INTERVAL = 5.0  # seconds

schema_at_head = Gauge(
    "db_schema_at_head",
    "1 if the database's schema is at the Alembic head revision of this code, else 0.",
)


class PoolCollector(Collector):
    """Reads the pool's counters when Prometheus scrapes: they cost nothing to keep."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):  # a NullPool or StaticPool counts nothing
            return
        yield GaugeMetricFamily(
            "db_pool_connections_in_use",
            "Pooled database connections handed out to requests.",
            value=pool.checkedout(),
        )
        yield GaugeMetricFamily(
            "db_pool_overflow",
            "Connections open beyond the pool's size (at most its max_overflow).",
            value=max(pool.overflow(), 0),
        )


def instrument(app: FastAPI, engine: AsyncEngine) -> None:
    """Count `app`'s requests and serve the metrics at /metrics (not in the API's schema)."""
    Instrumentator(
        should_group_status_codes=False,
        should_instrument_requests_inprogress=True,
        excluded_handlers=["^/metrics$"],
    ).add(requests(), latency()).instrument(app).expose(app, include_in_schema=False)
    REGISTRY.register(PoolCollector(engine))


def code_heads() -> set[str]:
    """The head revisions of the migrations shipped with this code."""
    return set(ScriptDirectory.from_config(Config(ALEMBIC_INI)).get_heads())


async def database_heads(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        return set(result.scalars())


async def check_schema(engine: AsyncEngine, expected: set[str]) -> None:
    try:
        at_head = await database_heads(engine) == expected
    except (SQLAlchemyError, OSError) as error:
        logger.warning("cannot read the schema's revision: %s", type(error).__name__)
        at_head = False
    schema_at_head.set(1 if at_head else 0)


async def _watch_schema(engine: AsyncEngine, expected: set[str]) -> None:
    while True:
        await check_schema(engine, expected)
        await asyncio.sleep(SCHEMA_CHECK_INTERVAL)


@asynccontextmanager
async def watching_schema(engine: AsyncEngine) -> AsyncIterator[None]:
    """Keep `db_schema_at_head` current while the block runs (the app's lifespan)."""
    task = asyncio.create_task(_watch_schema(engine, code_heads()))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
