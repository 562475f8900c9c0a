"""Prometheus metrics: request counts by route template, the pool, and the schema's revision."""

import asyncio
from collections.abc import Callable

from httpx import AsyncClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app import metrics
from app.database import engine
from app.main import app
from app.schema_revision import code_script
from tests.conftest import Account, create_post, on_engine


async def scrape(client: AsyncClient) -> dict[str, list[Sample]]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def count(samples: list[Sample], **labels: str) -> float:
    return sum(s.value for s in samples if labels.items() <= s.labels.items())


async def test_requests_are_counted_by_route_template_not_by_path(
    client: AsyncClient, alice: Account
) -> None:
    post = await create_post(client, alice)
    before = await scrape(client)
    for _ in range(3):
        await client.get(f"/posts/{post['id']}", headers=alice.headers)
    await client.get("/posts/999999999", headers=alice.headers)
    after = await scrape(client)

    template = {"handler": "/posts/{post_id}", "method": "GET"}
    for status, added in (("200", 3), ("404", 1)):
        old = count(before["http_requests"], **template, status=status)
        assert count(after["http_requests"], **template, status=status) == old + added
    assert not any("/posts/9" in s.labels.get("handler", "") for s in after["http_requests"])
    latency = after["http_request_duration_seconds"]
    assert count([s for s in latency if s.name.endswith("_count")], **template) >= 4


async def test_paths_no_route_has_are_counted_together(client: AsyncClient) -> None:
    before = await scrape(client)
    for path in ("/no-such-page", "/wp-admin/setup.php"):
        assert (await client.get(path)).status_code == 404
    after = await scrape(client)
    old = count(before.get("http_requests", []), handler="none", status="404")
    assert count(after["http_requests"], handler="none", status="404") == old + 2
    assert not any("wp-admin" in s.labels.get("handler", "") for s in after["http_requests"])


async def test_requests_in_flight_and_the_pool_are_reported(client: AsyncClient) -> None:
    await client.get("/health/live")
    families = await scrape(client)
    # Scrapes are not counted: nothing else is being served now.
    assert families["http_requests_inprogress"][0].value == 0
    # The test's own session holds a pooled connection.
    assert families["db_pool_connections_in_use"][0].value >= 1
    assert families["db_pool_overflow"][0].value >= 0


def test_metrics_are_not_part_of_the_api_schema() -> None:
    assert "/metrics" not in app.openapi()["paths"]


async def test_at_this_codes_head_the_schema_gauges_say_so() -> None:
    await metrics.check_schema(engine, code_script())
    assert gauge("db_schema_at_head") == 1
    assert gauge("db_schema_behind_code") == 0


def test_a_database_not_yet_migrated_is_behind_this_code(
    create_empty_database: Callable[[], str],
) -> None:
    on_engine(
        create_empty_database(),
        lambda unmigrated: metrics.check_schema(unmigrated, code_script()),
    )
    assert gauge("db_schema_at_head") == 0
    assert gauge("db_schema_behind_code") == 1


async def test_the_app_keeps_the_schema_gauge_current_in_the_background() -> None:
    metrics.schema_at_head.set(0)
    async with app.router.lifespan_context(app):
        for _ in range(50):
            if gauge("db_schema_at_head") == 1:
                break
            await asyncio.sleep(0.1)
        assert gauge("db_schema_at_head") == 1


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name)
