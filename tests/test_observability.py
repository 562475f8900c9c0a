"""Observability, seen from outside: a real Prometheus scrapes a served bake, traces reach
an OTLP/HTTP receiver, and the JSON logs tie each line to its request.

The bake has both options on, and is served by uvicorn with `LOG_FORMAT=json` and the
OpenTelemetry variables pointing at the receiver, as a deployment would set them.
"""

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import (
    INITIAL_REVISION,
    Bake,
    BakedProject,
    create_database,
    database_of,
    wait_until,
)
from tests.otlp import Receiver, Span, otlp_receiver
from tests.service import DATABASE_SECRETS, Service, free_port, serve
from tests.traffic import USER_PASSWORD, Account, sign_up_many

PROMETHEUS_STARTUP_TIMEOUT = 30.0
SCRAPE_INTERVAL = "1s"
# Long enough for a few scrapes on a machine busy with other tests.
SCRAPED_TIMEOUT = 30.0
SPANS_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def project(bake_shared: Bake, postgres_server_url: str) -> BakedProject:
    project = bake_shared(database="postgresql", metrics=True, tracing=True)
    project.sync()
    project.use_database(create_database(postgres_server_url))
    project.alembic("upgrade", "head")
    return project


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def service(
    project: BakedProject, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    env = {
        "LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_SERVICE_NAME": "blog-api",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds between batches
    }
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    with serve(project, log, env=env) as service:
        yield service


@pytest.fixture(scope="module")
def accounts(service: Service) -> list[Account]:
    return sign_up_many(service.base_url, 2)


@pytest.fixture(scope="module")
def post_id(service: Service, accounts: list[Account]) -> int:
    body = {"title": "Seen from outside", "content": "Counted, traced and logged"}
    created = httpx.post(f"{service.base_url}/posts/", json=body, headers=accounts[0].headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


# Metrics ---------------------------------------------------------------------------------


def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Prometheus is not installed: apt-get install prometheus")
    return binary


@pytest.fixture
def prometheus(service: Service, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping the service every second; yields its HTTP API's URL."""
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL},
        "scrape_configs": [
            {"job_name": "api", "static_configs": [{"targets": [service.base_url[7:]]}]}
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    with (tmp_path / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address={url[7:]}",
            ],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: _answers(f"{url}/-/ready"), PROMETHEUS_STARTUP_TIMEOUT, "Prometheus")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def scraped_value(prometheus: str, promql: str, at_least: float) -> float:
    """The value of `promql` once Prometheus has scraped one of at least `at_least`."""
    values: list[float] = []

    def reached() -> bool:
        values[:] = [float(series["value"][1]) for series in query(prometheus, promql)]
        return len(values) == 1 and values[0] >= at_least

    wait_until(reached, SCRAPED_TIMEOUT, f"{promql} >= {at_least} (last seen: {values})")
    return values[0]


def test_prometheus_scrapes_requests_by_route_template_and_the_schema_gauge(
    service: Service, accounts: list[Account], post_id: int, prometheus: str
) -> None:
    for _ in range(5):
        answer = httpx.get(f"{service.base_url}/posts/{post_id}", headers=accounts[1].headers)
        assert answer.status_code == 200
    by_template = 'http_requests_total{handler="/posts/{post_id}",method="GET",status="200"}'
    assert scraped_value(prometheus, by_template, at_least=5) >= 5
    # Raw paths never become series of their own.
    assert query(prometheus, f'http_requests_total{{handler="/posts/{post_id}"}}') == []
    assert scraped_value(prometheus, 'up{job="api"}', at_least=1) == 1
    assert scraped_value(prometheus, "db_schema_at_head", at_least=1) == 1
    for gauge in ("http_requests_inprogress", "db_pool_connections_in_use", "db_pool_overflow"):
        assert len(query(prometheus, gauge)) == 1, gauge
    latency = 'http_request_duration_seconds_count{handler="/posts/{post_id}"}'
    assert scraped_value(prometheus, latency, at_least=5) >= 5


def test_the_schema_gauges_tell_a_migration_not_run_from_a_rollback(
    project: BakedProject, service: Service
) -> None:
    database = database_of(project)

    def gauges_read(at_head: int, behind: int) -> Callable[[], bool]:
        def read() -> bool:
            metrics = _metrics(service)
            return (
                f"db_schema_at_head {at_head}.0" in metrics
                and f"db_schema_behind_code {behind}.0" in metrics
            )

        return read

    try:
        # As if a release's migration had not run: the database names an older revision.
        database.psql(f"UPDATE alembic_version SET version_num = '{INITIAL_REVISION}'")
        wait_until(gauges_read(at_head=0, behind=1), 15, "behind")
        # As after a rollback: the database names a later release's revision.
        database.psql("UPDATE alembic_version SET version_num = 'c0ffee000001'")
        wait_until(gauges_read(at_head=0, behind=0), 15, "past the head, not behind")
    finally:
        database.psql(f"UPDATE alembic_version SET version_num = '{project.head}'")
    wait_until(gauges_read(at_head=1, behind=0), 15, "at the head again")


def _metrics(service: Service) -> str:
    return httpx.get(f"{service.base_url}/metrics", timeout=5).text


# Traces ----------------------------------------------------------------------------------


def spans_of_trace(receiver: Receiver, trace_id: str, count: int) -> list[Span]:
    found: list[Span] = []

    def arrived() -> bool:
        found[:] = [span for span in receiver.spans() if span.trace_id == trace_id]
        return len(found) >= count

    wait_until(arrived, SPANS_TIMEOUT, f"{count} spans of trace {trace_id}")
    return found


def log_lines(service: Service) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.log().splitlines() if line.strip()]


def test_a_request_is_traced_with_a_span_per_statement_and_its_log_lines_carry_the_trace(
    service: Service, accounts: list[Account], receiver: Receiver
) -> None:
    email = accounts[0].email
    login = httpx.post(
        f"{service.base_url}/login",
        data={"username": email, "password": USER_PASSWORD},
        headers={"X-Request-ID": "trace-me-1"},
    )
    assert login.status_code == 200
    time.sleep(0.2)  # the access log line is written as the answer goes out
    [access] = [line for line in log_lines(service) if line.get("request_id") == "trace-me-1"]
    trace_id = access["trace_id"]

    spans = spans_of_trace(receiver, trace_id, count=2)
    [server] = [span for span in spans if not span.parent_span_id]
    assert server.name == "POST /login"
    assert server.attributes["http.route"] == "/login"
    assert server.resource["service.name"] == "blog-api"
    statements = [span for span in spans if "db.statement" in span.attributes]
    assert statements, spans
    for span in statements:
        assert span.parent_span_id == server.span_id
        assert span.attributes["db.system"] == "postgresql"
    [lookup] = [s for s in statements if "FROM users" in s.attributes["db.statement"]]
    # The statement as sent, with a placeholder where the email went.
    assert "$1" in lookup.attributes["db.statement"]
    values = [str(value) for span in spans for value in span.attributes.values()]
    assert not [value for value in values if email in value or USER_PASSWORD in value]


def test_statements_outside_requests_start_no_traces_of_their_own(
    service: Service, receiver: Receiver
) -> None:
    # The schema gauge read alembic_version as the service started, and every few seconds
    # since; any trace of that would have been sent within a batch's delay.
    roots = [span for span in receiver.spans() if not span.parent_span_id]
    assert roots
    assert all("http.route" in span.attributes for span in roots), roots


# Logs ------------------------------------------------------------------------------------


def test_json_logs_name_each_request_and_hold_no_secrets(
    service: Service, accounts: list[Account], post_id: int
) -> None:
    answer = httpx.get(f"{service.base_url}/posts/{post_id}", headers=accounts[0].headers)
    request_id = answer.headers["X-Request-ID"]
    time.sleep(0.2)
    lines = log_lines(service)  # every line parses as JSON
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    [access] = [line for line in lines if line.get("request_id") == request_id]
    assert access["logger"] == "uvicorn.access"
    assert f"GET /posts/{post_id} " in access["message"]
    assert all("request_id" in line for line in lines if line["logger"] == "uvicorn.access")
    log = service.log()
    tokens = [account.headers["Authorization"].split()[1] for account in accounts]
    for secret in (*DATABASE_SECRETS, USER_PASSWORD, *tokens):
        assert secret not in log
    assert "Traceback" not in log


def test_a_bug_is_answered_500_and_logged_once_with_its_traceback_and_request_id(
    project: BakedProject, service: Service, accounts: list[Account], post_id: int
) -> None:
    # A table the code needs is gone (a schema gone astray): the app has a bug to report.
    database = database_of(project)
    database.psql("ALTER TABLE votes RENAME TO votes_elsewhere")
    try:
        answer = httpx.get(
            f"{service.base_url}/posts/{post_id}",
            headers={**accounts[0].headers, "X-Request-ID": "bug-report-7"},
        )
    finally:
        database.psql("ALTER TABLE votes_elsewhere RENAME TO votes")
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    assert answer.headers["X-Request-ID"] == "bug-report-7"
    time.sleep(0.2)
    errors = [
        line for line in log_lines(service)
        if line["level"] == "ERROR" and line.get("request_id") == "bug-report-7"
    ]  # fmt: skip
    [error] = errors
    assert "Traceback" in error["exc_info"]
    assert "votes" in error["exc_info"]
    assert accounts[0].headers["Authorization"].split()[1] not in service.log()
