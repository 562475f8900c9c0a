"""What observability costs: the app with metrics off, on (the default), and with tracing too.

Three bakes of the template, served side by side on the same database and driven in turns
with the same requests. Tracing exports to a local OTLP/HTTP sink that answers every batch
at once, so what is measured is the app's own cost of recording and sending spans: every
request traced, and one in ten (the sampling a busy service would run with).
"""

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import report
from load import Endpoint, LoadResult, take_turns
from processes import Server, serve
from project import Project, bake_and_install

# Metrics may cost at most a tenth of the cheapest authenticated request's throughput.
METRICS_TARGET = 0.9


# Four servers' pools at once must fit PostgreSQL's max_connections (100).
POOL = {"DATABASE_POOL_SIZE": "16", "DATABASE_MAX_OVERFLOW": "4"}
TRACING = {"tracing": "yes"}
ONE_IN_TEN = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}


@dataclass(frozen=True)
class Configuration:
    name: str
    answers: dict[str, str]  # to the template's prompts, beyond the defaults
    traced: bool = False
    env: dict[str, str] = field(default_factory=dict)


CONFIGURATIONS = [
    Configuration("metrics off", {"metrics": "no"}),
    Configuration("metrics on (default)", {}),
    Configuration("metrics, every request traced", TRACING, traced=True),
    Configuration("metrics, 1 in 10 traced", TRACING, traced=True, env=ONE_IN_TEN),
]


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that accepts and discards every export; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def compare(
    args: Any,
    wrk: str,
    default: Project,
    endpoints: list[Endpoint],
    env: dict[str, str],
    token: str,
    ports: list[int],
    workdir: Path,
    uvicorn: list[str],
) -> dict[str, Any]:
    """Serve each configuration, drive each endpoint on each in turns; req/s and ratios."""
    with ExitStack() as stack:
        sink = stack.enter_context(otlp_sink())
        servers: list[Server] = []  # named after their configurations
        bakes: dict[str, Project] = {"": default}
        for configuration, port in zip(CONFIGURATIONS, ports, strict=True):
            answers = " ".join(f"{k}={v}" for k, v in configuration.answers.items())
            if answers not in bakes:
                directory = workdir / f"observability-{len(bakes)}"
                directory.mkdir()
                bakes[answers] = bake_and_install(args.template, directory, configuration.answers)
            project = bakes[answers]
            # The same SECRET_KEY for all (env's), so that the one token is valid everywhere.
            server_env = {**env, **POOL, **configuration.env}
            if configuration.traced:
                server_env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": sink, "OTEL_SERVICE_NAME": "bench"}
            command = [project.python, *uvicorn, "--port", str(port), "app.main:app"]
            log = args.results / f"observability-{port}.log"
            server = stack.enter_context(
                serve(configuration.name, command, port=port, cwd=project.path,
                      env=server_env, log=log)
            )  # fmt: skip
            servers.append(server)
        runs = take_turns(wrk, servers, endpoints, token, rounds=args.rounds,
                          seconds=args.seconds, warmup=args.warmup, threads=args.threads,
                          connections=args.connections)  # fmt: skip
    return summarize(endpoints, runs)


def summarize(
    endpoints: list[Endpoint], runs: dict[tuple[str, str], list[LoadResult]]
) -> dict[str, Any]:
    baseline_name = CONFIGURATIONS[0].name
    rows = []
    for endpoint in endpoints:
        baseline = report.median(runs[(endpoint.name, baseline_name)], "requests_per_second")
        for configuration in CONFIGURATIONS:
            measured = runs[(endpoint.name, configuration.name)]
            rps = report.median(measured, "requests_per_second")
            rows.append({
                "endpoint": endpoint.name,
                "configuration": configuration.name,
                "requests_per_second": round(rps, 1),
                "p99_ms": round(report.median(measured, "p99_ms"), 2),
                "cpu_ms_per_request": round(report.median(measured, "cpu_ms_per_request"), 3),
                "ratio_to_metrics_off": round(rps / baseline, 3),
                "errors": sum(run.errors for run in measured),
            })  # fmt: skip
    off, on = (
        next(r for r in rows if (r["endpoint"], r["configuration"]) == (endpoints[0].name, c.name))
        for c in CONFIGURATIONS[:2]
    )
    return {
        "rows": rows,
        "metrics_target": METRICS_TARGET,
        # A run with errors measured something else than the answers it was meant to.
        "metrics_target_met": on["ratio_to_metrics_off"] >= METRICS_TARGET
        and off["errors"] == on["errors"] == 0,
    }


def markdown(observability: dict[str, Any]) -> str:
    lines = [
        "### What observability costs",
        "",
        "| endpoint | configuration | req/s | vs metrics off | p99 ms | CPU ms/req | errors |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for row in observability["rows"]:
        lines.append(
            f"| `{row['endpoint']}` | {row['configuration']} | {row['requests_per_second']} "
            f"| {row['ratio_to_metrics_off']:.2f}x | {row['p99_ms']} "
            f"| {row['cpu_ms_per_request']} | {row['errors']} |"
        )
    verdict = "met" if observability["metrics_target_met"] else "NOT met"
    lines += [
        "",
        f"Target: metrics keep at least {observability['metrics_target']:.0%} of the first "
        f"endpoint's throughput with metrics off: {verdict}.",
    ]
    return "\n".join(lines)
