"""The baked service under load, database faults and hostile input (SPEC §5).

All parts are real: a PostgreSQL server of this module's own (so that it may crash it),
with the throwaway servers' hostile password; the project's `alembic`; and `uvicorn` on
loopback, driven over HTTP.
"""

import asyncio
import fnmatch
import itertools
import json
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.conftest import Bake, BakedProject, create_database, postgres_server
from tests.service import DATABASE_SECRETS, Service, assert_clean, image_command, serve
from tests.traffic import Account, connection, drive_load, sign_up


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    """A PostgreSQL server for this module alone: the fault test crashes and restarts it."""
    if postgres_server.find_bindir() is None:
        pytest.fail(postgres_server.HOW_TO_PROVIDE)
    with postgres_server.restartable_server(crash_safe=True) as server:
        yield server


@pytest.fixture(scope="module")
def project(bake_shared: Bake, server: Any) -> BakedProject:
    project = bake_shared(database="postgresql")
    project.sync()
    project.use_database(create_database(server.url))
    project.alembic("upgrade", "head")
    return project


# Load ------------------------------------------------------------------------------------

LOAD_CLIENTS = 64
LOAD_SECONDS = 30


def test_sixty_four_clients_for_thirty_seconds_get_no_errors(
    service: Service, accounts: list[Account], record_property: Callable[[str, object], None]
) -> None:
    log_start = len(service.log())
    load = asyncio.run(
        drive_load(service.base_url, accounts, clients=LOAD_CLIENTS, seconds=LOAD_SECONDS)
    )
    record_property("figure", f"load: {load.summary()}")
    assert not load.failures, f"{load.summary()}\n" + "\n".join(load.failures[:20])
    assert sum(load.answered.values()) > LOAD_CLIENTS
    # A pool timeout would have been a 503 above, and is logged as a warning.
    log = service.log()[log_start:]
    assert "unavailable" not in log
    assert_clean(log)


# Database faults -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    phase: str  # the database's state when the request was sent
    what: str
    status: int | None  # None: no answer at all
    seconds: float
    body: str
    retry_after: str | None


@dataclass
class Outage:
    """Requests sent before, during and after a database crash, and the posts acknowledged."""

    phase: str = "up"
    answers: list[Answer] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)

    def summary(self) -> str:
        counts = Counter(f"{a.phase} {a.status}" for a in self.answers)
        slowest = max((a.seconds for a in self.answers if a.phase == "down"), default=0)
        answers = ", ".join(f"{key}: {count}" for key, count in sorted(counts.items()))
        return f"{answers}; slowest answer while down {slowest * 1000:.0f} ms"


async def ride_out_a_crash(base_url: str, account: Account, server: Any) -> Outage:
    """Keep writing and reading while PostgreSQL crashes (immediate stop) and comes back."""
    outage = Outage()
    done = asyncio.Event()

    async def ask(
        client: httpx.AsyncClient, what: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response | None:
        phase, started = outage.phase, time.monotonic()
        try:
            response = await client.request(method, url, headers=account.headers, **kwargs)
        except httpx.HTTPError as error:
            outage.answers.append(Answer(phase, what, None, 0, repr(error), None))
            return None
        seconds = time.monotonic() - started
        retry_after = response.headers.get("Retry-After")
        answer = Answer(phase, what, response.status_code, seconds, response.text, retry_after)
        outage.answers.append(answer)
        return response

    async def writer(number: int) -> None:
        # No pause between posts, so that some are in flight when the database goes.
        async with connection(base_url, 10) as client:
            for n in itertools.count():
                if done.is_set():
                    return
                body = {"title": f"crash {number}.{n}", "content": "must survive"}
                response = await ask(client, "create post", "POST", "/posts/", json=body)
                if response is not None and response.status_code == 201:
                    outage.acknowledged.append(response.json()["id"])

    async def reader() -> None:
        async with connection(base_url, 10) as client:
            while not done.is_set():
                await ask(client, "health", "GET", "/health")
                await ask(client, "list posts", "GET", "/posts/")
                await ask(client, "me", "GET", "/users/me")
                await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(writer(n)) for n in range(12)]
    tasks.append(asyncio.create_task(reader()))
    await asyncio.sleep(1.5)
    await asyncio.to_thread(server.stop, "immediate")
    outage.phase = "down"
    await asyncio.sleep(2)
    outage.phase = "restarting"
    await asyncio.to_thread(server.start)
    async with connection(base_url, 10) as client:
        deadline = time.monotonic() + 30
        while (await client.get("/health")).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover within 30 s"
            await asyncio.sleep(0.1)
    outage.phase = "recovered"
    await asyncio.sleep(1.5)
    done.set()
    await asyncio.gather(*tasks)
    return outage


def test_a_database_crash_gives_fast_503s_and_loses_no_acknowledged_post(
    service: Service,
    project: BakedProject,
    server: Any,
    accounts: list[Account],
    record_property: Callable[[str, object], None],
) -> None:
    log_start = len(service.log())
    outage = asyncio.run(ride_out_a_crash(service.base_url, accounts[0], server))
    record_property("figure", f"database crash: {outage.summary()}")
    answers = outage.answers

    unanswered = [a for a in answers if a.status is None]
    assert not unanswered, f"requests that got no answer: {unanswered[:5]}"
    assert {a.status for a in answers} <= {200, 201, 503}, outage.summary()
    down = [a for a in answers if a.phase == "down"]
    assert {a.what for a in down} == {"health", "list posts", "me", "create post"}
    assert {a.status for a in down} == {503}
    # /health within a second (the spec's bound); API calls at once, never near a timeout.
    slow = [a for a in down if a.seconds >= (1 if a.what == "health" else 5)]
    assert not slow, f"503s that were slow to come: {slow[:5]}"
    for answer in (a for a in answers if a.status == 503):
        body = json.loads(answer.body)  # JSON, not a traceback page
        if answer.what == "health":
            assert body == {"status": "unavailable", "database": "unreachable"}
        else:
            assert isinstance(body["detail"], str)
            assert answer.retry_after is not None
    for answer in answers:
        assert not any(secret in answer.body for secret in DATABASE_SECRETS)

    # Recovered by itself: once /health is back, everything succeeds again.
    recovered = [a for a in answers if a.phase == "recovered"]
    assert recovered
    assert {a.status for a in recovered} <= {200, 201}, outage.summary()
    # Every post acknowledged with 201, before the crash or after, is still there.
    assert any(a.phase == "up" and a.status == 201 for a in answers)
    database = project.database
    assert database is not None
    ids = ",".join(map(str, outage.acknowledged))
    stored = database.psql(f"SELECT count(*) FROM posts WHERE id IN ({ids})")
    assert int(stored) == len(set(outage.acknowledged))

    log = service.log()[log_start:]
    assert "database unavailable" in log  # the 503s were logged, as one line each
    assert_clean(log)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_rejected_database_credentials_give_503s_that_do_not_show_them(
    project: BakedProject, server: Any, tmp_path: Path, log_format: str
) -> None:
    wrong = f"{postgres_server.PASSWORD}-rotated"
    env = {"DATABASE_PASSWORD": wrong, "LOG_FORMAT": log_format}
    with serve(project, tmp_path / "uvicorn.log", env=env) as service:
        with httpx.Client(base_url=service.base_url, timeout=10) as client:
            health = client.get("/health")
            created = client.post("/users/", json={"email": "a@example.com", "password": "x" * 8})
        log = service.log()
    assert health.status_code == 503
    assert created.status_code == 503
    assert created.json()["detail"]
    for text in (health.text, created.text, log):
        for secret in (wrong, quote(wrong, safe=""), *DATABASE_SECRETS):
            assert secret not in text
    assert "Traceback" not in log
    if log_format == "json":  # one object a line, every line
        assert all(json.loads(line)["message"] for line in log.splitlines())


# Hostile input ---------------------------------------------------------------------------

FUZZ_CHECKS = [
    "not_a_server_error", "status_code_conformance", "response_schema_conformance",
    "content_type_conformance", "response_headers_conformance", "allow_header_conformance",
    "ignored_auth", "use_after_free", "ensure_resource_availability",
]  # fmt: skip


def test_fuzzing_the_openapi_schema_finds_no_server_error_and_no_undocumented_answer(
    service: Service, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    # Every status, body, content type and header an answer has must be in the schema, and
    # a 405 must name the methods the schema gives its path; the stateful checks also
    # follow links: what was deleted stays gone, what was created is there, and routes
    # that need a token refuse a request without one. Left out: negative_data_rejection
    # (a body past maxLength can also pass the 1 MiB limit, and schemathesis does not count
    # that 413 as a rejection) and positive_data_acceptance (the email check refuses
    # reserved domains such as .test, and valid JSON text may hold a NUL or a lone
    # surrogate, which no database column stores).
    log_start = len(service.log())
    account = sign_up(service.base_url, "fuzz@example.com")
    schemathesis = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [str(schemathesis), "run", f"{service.base_url}/openapi.json",
         "--header", f"Authorization: {account.headers['Authorization']}",
         "--checks", ",".join(FUZZ_CHECKS),
         "--max-examples", "25", "--request-timeout", "10"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    record_property("figure", "schemathesis: " + result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert_clean(service.log()[log_start:])


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    service: Service, accounts: list[Account]
) -> None:
    # Declare a 1 GiB body and send none of it: only a server that refuses without reading
    # the body answers at all.
    address = urlsplit(service.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(
            b"POST /posts/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1073741824\r\n\r\n"
        )
        status_line = connection.makefile("rb").readline()
    assert status_line.startswith(b"HTTP/1.1 413 "), status_line

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked, counted as it comes
        for _ in range(17):
            yield b"x" * 65536

    headers = accounts[0].headers
    with httpx.Client(base_url=service.base_url, timeout=30) as client:
        json_headers = {**headers, "Content-Type": "application/json"}
        assert client.post("/posts/", content=chunks(), headers=json_headers).status_code == 413
        form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        assert client.post("/login", content=chunks(), headers=form_headers).status_code == 413
        # The largest post the API accepts fits well within the limit.
        biggest = {"title": "t" * 300, "content": "é" * 100_000}
        assert client.post("/posts/", json=biggest, headers=headers).status_code == 201


@pytest.mark.parametrize(("trusted_proxies", "believed"), [(None, True), ("10.0.0.0/8", False)])
def test_forwarded_headers_count_only_from_the_proxies_named(
    project: BakedProject,
    accounts: list[Account],
    tmp_path: Path,
    trusted_proxies: str | None,
    believed: bool,
) -> None:
    """As the image runs it: by default only loopback is a proxy; FORWARDED_ALLOW_IPS names
    others, and then a client on loopback can no longer claim another address or scheme."""
    env = {} if trusted_proxies is None else {"FORWARDED_ALLOW_IPS": trusted_proxies}
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    command = image_command(project)
    with serve(project, tmp_path / "uvicorn.log", env=env, command=command) as replica:
        with httpx.Client(base_url=replica.base_url, timeout=30) as client:
            headers = {**accounts[0].headers, **forwarded}
            for _ in range(2):  # so that the first page has a next one
                client.post("/posts/", json={"title": "t", "content": "c"}, headers=headers)
            page = client.get("/posts/", params={"limit": 1}, headers=headers)
        log = replica.log()
    assert page.status_code == 200
    link = page.headers["Link"]
    access_line = next(line for line in log.splitlines() if "GET /posts/?limit=1" in line)
    if believed:
        assert link.startswith("<https://")
        assert "203.0.113.7" in access_line
    else:
        assert link.startswith("<http://127.0.0.1")
        assert "203.0.113.7" not in access_line


def test_login_takes_as_long_for_an_unknown_email_as_for_a_wrong_password(
    service: Service, accounts: list[Account], record_property: Callable[[str, object], None]
) -> None:
    """Timing must not tell which emails have accounts (the hash is checked against a dummy).

    Compares the two against each other, never against a clock: only their ratio counts.
    """
    forms = {
        "wrong password": {"username": accounts[0].email, "password": "not the password"},
        "unknown email": {"username": "nobody@example.com", "password": "not the password"},
    }
    seconds: dict[str, list[float]] = {name: [] for name in forms}
    with httpx.Client(base_url=service.base_url, timeout=30) as client:
        for _ in range(7):
            for name, form in forms.items():  # interleaved, so drift hits both alike
                started = time.perf_counter()
                response = client.post("/login", data=form)
                seconds[name].append(time.perf_counter() - started)
                assert response.status_code == 401
    wrong, unknown = (statistics.median(seconds[name]) for name in forms)
    figure = f"login: wrong password {wrong * 1000:.0f} ms, unknown email {unknown * 1000:.0f} ms"
    record_property("figure", figure)
    assert 1 / 5 < wrong / unknown < 5


# Secrets ---------------------------------------------------------------------------------


def dockerignored(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves `path` out of the build context: the last matching pattern wins."""
    excluded = False
    for pattern in patterns:
        if fnmatch.fnmatch(path, pattern.removeprefix("!").rstrip("/")):
            excluded = not pattern.startswith("!")
    return excluded


def test_dotenv_stays_out_of_the_docker_build_context(bake: Bake) -> None:
    project = bake(docker=True)
    lines = (line.strip() for line in project.read(".dockerignore").splitlines())
    patterns = [line for line in lines if line and not line.startswith("#")]
    for secret_file in (".env", ".env.local", ".env.production"):
        assert dockerignored(patterns, secret_file), secret_file
