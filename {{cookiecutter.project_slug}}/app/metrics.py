"""Prometheus metrics at `GET /metrics`: requests, latency, the pool, and the schema's revision.

- `http_requests_total{method, handler, status}`: `handler` is the route's template
  (`/posts/{post_id}`), never the raw path, so ids do not multiply the series; `none`
  for a path no route has.
- `http_request_duration_seconds{method, handler, status}`: a latency histogram.
- `http_requests_inprogress`: requests being served now.
- `db_pool_connections_in_use`, `db_pool_overflow`: pooled connections handed out, and
  how many of them were opened beyond the pool's size.
- `db_schema_at_head`: 1 while the database's schema is at the revision this code was
  written for, 0 otherwise (a release whose migration did not run, a database that does
  not answer, or, after a rollback, a schema a later release migrated).
- `db_schema_behind_code`: 1 while the schema is behind this code's head: its migration
  has not run. 0 at the head and past it, so a rollback raises no alarm here.

Both are checked every few seconds in the background, never by a scrape.

Scrapes themselves are not counted. Each process counts for itself: run one uvicorn
process per container (scale out with replicas), or every scrape sees one worker's share.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress

from alembic.script import ScriptDirectory
from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    Metric,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import QueuePool
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.schema_revision import code_script, database_revisions, not_ready_because

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
SCHEMA_CHECK_INTERVAL = 5.0  # seconds
LABELS = ("method", "handler", "status")

requests_total = Counter("http_requests", "Requests answered, by method, route and status.", LABELS)
request_duration = Histogram(
    "http_request_duration_seconds", "Time to answer a request, in seconds.", LABELS
)
requests_in_progress = Gauge("http_requests_inprogress", "Requests being served now.")
schema_at_head = Gauge(
    "db_schema_at_head",
    "1 if the database's schema is at the Alembic head revision of this code, else 0.",
)
schema_behind = Gauge(
    "db_schema_behind_code",
    "1 if the database's schema is behind this code's Alembic head (its migration has not"
    " run), else 0.",
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


class RequestMetrics:
    """Count and time every request under the template of the route that served it.

    FastAPI leaves the route it matched in the request's scope, so reading it afterwards
    costs nothing. (prometheus-fastapi-instrumentator matches each request against every
    route a second time, which cost this service a fifth of its throughput on the
    benchmark's cheapest request.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        status = 500  # unless an answer starts: an error Starlette answers further out

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        requests_in_progress.inc()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            requests_in_progress.dec()
            handler = getattr(scope.get("route"), "path", "none")
            labels = (scope["method"], handler, str(status))
            requests_total.labels(*labels).inc()
            request_duration.labels(*labels).observe(time.perf_counter() - started)


async def serve_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def instrument(app: FastAPI, engine: AsyncEngine) -> None:
    """Count `app`'s requests and serve the metrics at /metrics (not in the API's schema)."""
    app.add_middleware(RequestMetrics)
    app.add_api_route(METRICS_PATH, serve_metrics, include_in_schema=False)
    REGISTRY.register(PoolCollector(engine))


async def check_schema(engine: AsyncEngine, script: ScriptDirectory) -> None:
    try:
        revisions = await database_revisions(engine)
    except (SQLAlchemyError, OSError) as error:
        logger.warning("cannot read the schema's revision: %s", type(error).__name__)
        schema_at_head.set(0)
        return  # behind or not, nobody can tell: the gauge keeps what it last knew
    schema_at_head.set(1 if revisions == set(script.get_heads()) else 0)
    schema_behind.set(0 if not_ready_because(revisions, script) is None else 1)


async def _watch_schema(engine: AsyncEngine, script: ScriptDirectory) -> None:
    while True:
        await check_schema(engine, script)
        await asyncio.sleep(SCHEMA_CHECK_INTERVAL)


@asynccontextmanager
async def watching_schema(engine: AsyncEngine) -> AsyncIterator[None]:
    """Keep the schema's gauges current while the block runs (the app's lifespan)."""
    task = asyncio.create_task(_watch_schema(engine, code_script()))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
