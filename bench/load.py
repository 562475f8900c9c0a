"""Driving a server with wrk and reading what it measured."""

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from processes import BenchError, Server, environment, progress, run

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class Endpoint:
    """One request the benchmark repeats, and the app/baseline req/s ratio it aims for."""

    method: str
    path: str
    target_ratio: float
    body: str = ""  # a JSON body, for POST

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured. Latencies in milliseconds; errors as wrk counts them."""

    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    connect_errors: int
    read_errors: int  # the server closed a connection
    write_errors: int
    timeouts: int  # no answer within wrk's --timeout (5 s)
    status_errors: int  # responses with a status of 400 or more
    cpu_ms_per_request: float  # the server process's CPU time, per request served

    @property
    def errors(self) -> int:
        socket_errors = self.connect_errors + self.read_errors + self.write_errors + self.timeouts
        return socket_errors + self.status_errors

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "errors": self.errors}


def drive(
    wrk: str,
    server: Server,
    endpoint: Endpoint,
    token: str,
    *,
    threads: int,
    connections: int,
    seconds: int,
) -> LoadResult:
    """Send `endpoint` to `server` from `connections` keep-alive connections for `seconds`."""
    cpu_before = server.cpu_seconds()
    output = run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            WRK_SCRIPT,
            server.url + endpoint.path,
        ],
        env=environment(BENCH_TOKEN=token, BENCH_BODY=endpoint.body),
    )
    cpu_seconds = server.cpu_seconds() - cpu_before
    line = next((line for line in output.splitlines() if line.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise BenchError(f"wrk printed no result for {endpoint.name}:\n{output}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    requests, duration = raw["requests"], raw["duration_us"] / 1e6
    return LoadResult(
        requests=requests,
        seconds=round(duration, 3),
        requests_per_second=round(requests / duration, 1),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        connect_errors=raw["connect"],
        read_errors=raw["read"],
        write_errors=raw["write"],
        timeouts=raw["timeout"],
        status_errors=raw["status"],
        cpu_ms_per_request=round(cpu_seconds * 1000 / max(requests, 1), 3),
    )


def take_turns(
    wrk: str,
    servers: Sequence[Server],
    endpoints: Sequence[Endpoint],
    token: str,
    *,
    rounds: int,
    seconds: int,
    warmup: int,
    threads: int,
    connections: int,
    reset: Callable[[], None] = lambda: None,
) -> dict[tuple[str, str], list[LoadResult]]:
    """Warm every server up on every endpoint, then drive each endpoint on each server in
    turns, `rounds` times; the runs by (endpoint name, server name).

    Who goes first moves on with each round, so drift in the machine's load favours no
    server. `reset()` runs after the warm-up and after each POST run, so that every run
    sees the same data.
    """
    options = {"threads": threads, "connections": connections}
    for endpoint in endpoints:
        for server in servers:
            drive(wrk, server, endpoint, token, seconds=warmup, **options)
    reset()
    runs: dict[tuple[str, str], list[LoadResult]] = {}
    for round_number in range(rounds):
        for endpoint in endpoints:
            turn = round_number % len(servers)
            for server in [*servers[turn:], *servers[:turn]]:
                progress(f"round {round_number + 1}: {endpoint.name} on {server.name}")
                measured = drive(wrk, server, endpoint, token, seconds=seconds, **options)
                runs.setdefault((endpoint.name, server.name), []).append(measured)
                if endpoint.method == "POST":
                    reset()
    return runs
