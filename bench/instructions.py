"""Instructions per request: what the app and the baseline execute to answer each endpoint.

Requests per second on a two-core machine shared by wrk, PostgreSQL and the server move by
a third between runs of unchanged code, and so do the ratios: a change worth a few per cent
is lost in that. An instruction count is not. Each server runs under valgrind's callgrind
(about fifty times slower), answering one request at a time on one keep-alive connection;
for each endpoint, after a warm-up, its counters are zeroed, `requests` requests are sent,
and the counters read. Runs of the same code agree within 0.5 % (1 % on the cheapest
request). What is counted is the server process's own work in user space (Python, and the
C it calls: uvloop, httptools, asyncpg, pydantic-core), not the kernel's and not
PostgreSQL's; one request at a time, so nothing is shared between requests answered
together, as the event loop does under load.
"""

import http.client
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from load import Endpoint
from processes import BenchError, Command, Server, installed, progress, run, serve

WARMUP_REQUESTS = 20
STARTUP_SECONDS = 300  # importing the app under valgrind takes a minute or two
TOTAL = re.compile(r"^(?:summary|totals): (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class Counted:
    """A server to run under callgrind: its name, command line, directory and environment."""

    name: str
    command: Command
    port: int
    cwd: Path
    env: dict[str, str]


def compare(
    servers: list[Counted],
    endpoints: list[Endpoint],
    token: str,
    requests: int,
    results: Path,
    reset: Callable[[], None],
) -> dict[str, dict[str, float]]:
    """Millions of instructions per request, by endpoint and server; servers count side by
    side, one endpoint at a time (so no server sees rows another's POSTs made)."""
    callgrind_control = installed("callgrind_control", package="valgrind")
    counts: dict[str, dict[str, float]] = {}
    with ExitStack() as stack, ThreadPoolExecutor(len(servers)) as pool:
        running = [stack.enter_context(under_callgrind(server, results)) for server in servers]
        # Once over every endpoint first: what happens only early in a process's life (the
        # first connections, caches filling) is then over before anything is counted.
        for server in running:
            for endpoint in endpoints:
                warm(server, endpoint, token)
        reset()
        for endpoint in endpoints:
            progress(f"counting instructions: {endpoint.name}")
            measured = [
                pool.submit(count, server, callgrind_control, endpoint, token, requests)
                for server in running
            ]
            counts[endpoint.name] = {
                server.name: future.result()
                for server, future in zip(running, measured, strict=True)
            }
            if endpoint.method == "POST":
                reset()
    return counts


@contextmanager
def under_callgrind(server: Counted, results: Path) -> Iterator[Server]:
    output = results / f"callgrind-{server.port}.out"
    for old in results.glob(f"{output.name}*"):
        old.unlink()
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={output}", *server.command]
    with serve(server.name, command, port=server.port, cwd=server.cwd, env=server.env,
               log=output.with_suffix(".log"),
               startup_timeout=STARTUP_SECONDS) as running:  # fmt: skip
        yield running


def count(
    server: Server, callgrind_control: str, endpoint: Endpoint, token: str, requests: int
) -> float:
    """Millions of instructions the server executes per request to `endpoint`."""
    connection = connect(server)
    try:
        send(connection, endpoint, token, WARMUP_REQUESTS)
        dumps = dump_files(server)
        run([callgrind_control, "--zero", str(server.process.pid)])
        send(connection, endpoint, token, requests)
        run([callgrind_control, "--dump", str(server.process.pid)])
    finally:
        connection.close()
    (new,) = set(dump_files(server)) - set(dumps)
    match = TOTAL.search(new.read_text())
    if match is None:
        raise BenchError(f"{new}: callgrind wrote no total")
    return int(match.group(1)) / requests / 1e6


def connect(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=120)


def warm(server: Server, endpoint: Endpoint, token: str) -> None:
    connection = connect(server)
    try:
        send(connection, endpoint, token, WARMUP_REQUESTS)
    finally:
        connection.close()


def dump_files(server: Server) -> list[Path]:
    """The files callgrind dumped so far, beside the log (see `under_callgrind`)."""
    return list(server.log.parent.glob(server.log.with_suffix(".out").name + ".*"))


def send(connection: http.client.HTTPConnection, endpoint: Endpoint, token: str, n: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    if endpoint.body:
        headers["Content-Type"] = "application/json"
    for _ in range(n):
        connection.request(endpoint.method, endpoint.path, endpoint.body or None, headers)
        response = connection.getresponse()
        body = response.read()
        if response.status >= 400:
            raise BenchError(f"{endpoint.name} answered {response.status}: {body[:300]!r}")


def markdown(counts: dict[str, dict[str, float]], requests: int) -> str:
    lines = [
        f"### Instructions per request (callgrind, {requests} requests one at a time)",
        "",
        "| endpoint | app, millions | baseline, millions | baseline / app |",
        "|---|--:|--:|--:|",
    ]
    for endpoint, by_server in counts.items():
        app, baseline = by_server["app"], by_server["baseline"]
        lines.append(f"| `{endpoint}` | {app:.3f} | {baseline:.3f} | {baseline / app:.2f} |")
    return "\n".join(lines)
