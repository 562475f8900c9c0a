"""Benchmark the generated service against a hand-written baseline; see bench/README.md.

    uv run python bench/run.py [--seconds 10] [--rounds 1] [--profile] [--skip-tests]
                               [--scale] [--observability] [--instructions]

Bakes the default project into a temporary directory, installs it as the Docker image does,
migrates and seeds a throwaway PostgreSQL, serves the app and bench/baseline.py with uvicorn
(one worker each, loopback), drives both with wrk, runs the project's own test suite, prints
a Markdown report and writes bench/results/latest.json. Everything it starts, it stops.
"""

import argparse
import json
import os
import platform
import re
import signal
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import instructions
import observability
import profiling
import report
import scale
from load import Endpoint, drive, take_turns
from processes import BenchError, Server, environment, installed, progress, serve
from project import (
    BENCH,
    REPO,
    Database,
    Project,
    bake_and_install,
    describe_template,
    find_psql,
    load_postgres_server,
    run_tests,
    seed,
)

USER_EMAIL, USER_PASSWORD = "bench@example.com", "bench-password-1"  # user 1 of seed.sql
POST_ID = 9500  # one of the newest posts, with about 25 votes
POST_BODY = json.dumps({"title": "Benchmarking the service", "content": "Lorem ipsum. " * 20})
ENDPOINTS = [
    Endpoint("GET", "/users/me", target_ratio=0.5),
    Endpoint("GET", f"/posts/{POST_ID}", target_ratio=0.5),
    Endpoint("GET", "/posts/?limit=10", target_ratio=0.35),
    # A write runs in one transaction, whose BEGIN and COMMIT alone are a tenth of its cost.
    Endpoint("POST", "/posts/", target_ratio=0.25, body=POST_BODY),
]
# The same server for both: uvicorn[standard]'s uvloop and httptools, one worker, no access log.
UVICORN = [
    *("-m", "uvicorn", "--host", "127.0.0.1", "--loop", "uvloop", "--http", "httptools"),
    *("--no-access-log", "--log-level", "warning"),
]
INSTRUCTION_REQUESTS = 150  # per endpoint and server, under callgrind
PACKAGES = ["fastapi", "starlette", "pydantic", "sqlalchemy", "asyncpg", "uvicorn", "uvloop"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured run before each")
    parser.add_argument("--rounds", type=int, default=1, help="app/baseline runs per endpoint")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--profile", action="store_true", help="also profile the app (py-spy)")
    parser.add_argument("--skip-tests", action="store_true", help="skip the generated suite")
    parser.add_argument(
        "--scale", action="store_true", help="also compare requests at 1,000,000 posts"
    )
    parser.add_argument(
        "--observability",
        action="store_true",
        help="also compare throughput with metrics off, on, and with tracing",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per request under valgrind (a steady figure)",
    )
    parser.add_argument(
        "--template", type=Path, default=REPO, help="template to bake (default: this checkout)"
    )
    parser.add_argument("--results", type=Path, default=BENCH / "results", help="JSON directory")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    # A SIGTERM unwinds like Ctrl-C, so servers are stopped and temporary files removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        print(benchmark(parse_args(argv)))
    except (BenchError, OSError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    return 0


def benchmark(args: argparse.Namespace) -> str:
    """Run every step; return the Markdown report."""
    wrk = installed("wrk", package="wrk")
    postgres_server = load_postgres_server()
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "template": describe_template(args.template),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_at_start": os.getloadavg(),
        "load": {
            "tool": "wrk",
            "threads": args.threads,
            "connections": args.connections,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "rounds": args.rounds,
        },
    }
    with ExitStack() as cleanup:
        workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        admin_url = cleanup.enter_context(postgres_server.throwaway_server())
        admin = Database(find_psql(postgres_server), admin_url)

        progress("baking and installing the default project")
        (workdir / "baked").mkdir()
        project = bake_and_install(args.template, workdir / "baked")
        results["versions"] = project.versions(*PACKAGES)
        database = admin.create("bench")
        server_env = environment(DATABASE_URL=database.url, SECRET_KEY=project.secret_key())
        migrate_seconds = project.migrate(server_env)
        progress("seeding")
        seed_seconds, counts = seed(project, database, USER_PASSWORD)
        results["data"] = counts
        results["timings"] = {
            "bake_s": round(project.bake_seconds, 3),
            "install_s": round(project.install_seconds, 2),
            "migrate_s": round(migrate_seconds, 3),
            "seed_s": round(seed_seconds, 3),
        }

        def reset() -> None:
            """Drop the posts the benchmark created, so every run sees the seeded data."""
            last_id = counts["last_post_id"]
            database.sql(f"DELETE FROM posts WHERE id > {last_id}", "VACUUM ANALYZE posts")

        args.results.mkdir(parents=True, exist_ok=True)  # server logs go there too
        ports = (postgres_server.free_port(), postgres_server.free_port())
        with servers(project, server_env, args.results, ports) as (app, baseline):
            token = log_in(app)
            check_same_answers(app, baseline, token)
            reset()
            endpoints = load_runs(args, wrk, app, baseline, token, reset)
            results["load"]["endpoints"] = [result.as_dict() for result in endpoints]
            if args.profile:
                results["profiles"] = profile_app(args, wrk, app, token, reset)
            if args.instructions:
                progress("counting instructions per request under callgrind (a few minutes)")
                ports = (postgres_server.free_port(), postgres_server.free_port())
                results["instructions"] = count_instructions(
                    project, server_env, ports, token, args.results, reset
                )
            if args.scale:
                progress("the scale run: measuring, seeding a million posts, measuring again")
                results["scale"] = scale.compare(wrk, app, token, database)

        if args.observability:  # with the servers above stopped, and their connections
            progress("the cost of metrics and tracing: bakes side by side")
            results["observability"] = observability.compare(
                args, wrk, project, ENDPOINTS[:2], server_env, token,
                [postgres_server.free_port() for _ in observability.CONFIGURATIONS],
                workdir, UVICORN,
            )  # fmt: skip

        results["tests"] = None
        if not args.skip_tests:
            progress("running the generated project's test suite")
            results["tests"] = run_tests(project, admin.create("tests"))
    results["load_average_at_end"] = os.getloadavg()

    text = report.markdown(results, endpoints)
    for profile in results.get("profiles", {}).values():
        text += "\n\n" + profile["markdown"]
    if "instructions" in results:
        counted = results["instructions"]
        text += "\n\n" + instructions.markdown(counted["millions_per_request"], counted["requests"])
    if "observability" in results:
        text += "\n\n" + observability.markdown(results["observability"])
    if "scale" in results:
        text += "\n\n" + scale.markdown(results["scale"])
    path = report.write_json(results, args.results)
    return f"{text}\n\nResults: {path}"


def app_command(project: Project, port: int) -> list[str | Path]:
    return [project.python, *UVICORN, "--port", str(port), "app.main:app"]


def baseline_command(project: Project, port: int) -> list[str | Path]:
    return [project.python, *UVICORN, "--port", str(port), "--app-dir", BENCH, "baseline:app"]


def baseline_environment(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PYTHONDONTWRITEBYTECODE": "1"}  # leave no __pycache__ in bench/


@contextmanager
def servers(
    project: Project, env: dict[str, str], logs: Path, ports: tuple[int, int]
) -> Iterator[tuple[Server, Server]]:
    """The app and the baseline, each under uvicorn with one worker, on loopback ports."""
    app_port, baseline_port = ports
    with (
        serve("app", app_command(project, app_port), port=app_port, cwd=project.path, env=env,
              log=logs / "app.log") as app,
        serve("baseline", baseline_command(project, baseline_port), port=baseline_port,
              cwd=project.path, env=baseline_environment(env),
              log=logs / "baseline.log") as baseline,
    ):  # fmt: skip
        yield app, baseline


def count_instructions(
    project: Project,
    env: dict[str, str],
    ports: tuple[int, int],
    token: str,
    results: Path,
    reset: Callable[[], None],
) -> dict[str, Any]:
    """The app and the baseline under callgrind, side by side; see bench/instructions.py."""
    app_port, baseline_port = ports
    counted = [
        instructions.Counted("app", app_command(project, app_port), app_port, project.path, env),
        instructions.Counted("baseline", baseline_command(project, baseline_port), baseline_port,
                             project.path, baseline_environment(env)),
    ]  # fmt: skip
    counts = instructions.compare(counted, ENDPOINTS, token, INSTRUCTION_REQUESTS, results, reset)
    return {"requests": INSTRUCTION_REQUESTS, "millions_per_request": counts}


def load_runs(
    args: argparse.Namespace,
    wrk: str,
    app: Server,
    baseline: Server,
    token: str,
    reset: Callable[[], None],
) -> list[report.EndpointResults]:
    """The app and the baseline on each endpoint, in turns."""
    runs = take_turns(wrk, [app, baseline], ENDPOINTS, token, rounds=args.rounds,
                      seconds=args.seconds, warmup=args.warmup, threads=args.threads,
                      connections=args.connections, reset=reset)  # fmt: skip
    return [
        report.EndpointResults(
            endpoint, app=runs[endpoint.name, app.name], baseline=runs[endpoint.name, baseline.name]
        )
        for endpoint in ENDPOINTS
    ]


def profile_app(
    args: argparse.Namespace, wrk: str, app: Server, token: str, reset: Callable[[], None]
) -> dict[str, Any]:
    """Sample the app with py-spy under the same load, endpoint by endpoint."""
    profiles = {}
    for endpoint in ENDPOINTS:
        progress(f"profiling the app on {endpoint.name}")
        slug = re.sub(r"[^a-z0-9]+", "-", endpoint.name.lower()).strip("-")

        def load(endpoint: Endpoint = endpoint) -> None:
            drive(wrk, app, endpoint, token, seconds=args.seconds,
                  threads=args.threads, connections=args.connections)  # fmt: skip

        profile = profiling.record(app, args.results / f"profile-{slug}.txt", load, args.seconds)
        profiles[endpoint.name] = profile.as_dict()
        profiles[endpoint.name]["markdown"] = profiling.markdown(endpoint.name, profile)
        if endpoint.method == "POST":
            reset()
    return profiles


def request(
    server: Server,
    method: str,
    path: str,
    *,
    token: str = "",
    body: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """One request; the status and the decoded JSON (or the text of an error)."""
    headers = {"Content-Type": content_type} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    call = urllib.request.Request(server.url + path, body, headers, method=method)
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def log_in(app: Server) -> str:
    """A bearer token from the app's own login, which the baseline accepts too."""
    form = urllib.parse.urlencode({"username": USER_EMAIL, "password": USER_PASSWORD}).encode()
    status, answer = request(
        app, "POST", "/login", body=form, content_type="application/x-www-form-urlencoded"
    )
    if status != 200:
        raise BenchError(f"logging in to the app answered {status}: {answer}")
    token: str = answer["access_token"]
    return token


def check_same_answers(app: Server, baseline: Server, token: str) -> None:
    """Both servers answer every endpoint with the expected status and the same JSON."""
    for endpoint in ENDPOINTS:
        body = endpoint.body.encode() or None
        answers = [request(s, endpoint.method, endpoint.path, token=token, body=body)
                   for s in (app, baseline)]  # fmt: skip
        if endpoint.method == "POST":  # two new rows: their ids and times differ
            answers = [(status, {**answer, "id": 0, "created_at": ""})
                       if isinstance(answer, dict) else (status, answer)
                       for status, answer in answers]  # fmt: skip
        expected = 201 if endpoint.method == "POST" else 200
        if answers[0] != answers[1] or answers[0][0] != expected:
            raise BenchError(
                f"{endpoint.name}: app and baseline answer differently (want {expected}):\n"
                f"app:      {str(answers[0])[:1500]}\nbaseline: {str(answers[1])[:1500]}"
            )


if __name__ == "__main__":
    sys.exit(main())
