"""A baked project served by a real uvicorn on loopback, for tests that drive it over HTTP."""

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import BakedProject, postgres_server

free_port = postgres_server.free_port
# The database password, raw and as it appears in a URL: neither may ever be shown.
DATABASE_SECRETS = (postgres_server.PASSWORD, quote(postgres_server.PASSWORD, safe=""))

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Service:
    """A running uvicorn: where it listens, its process, and what it has logged."""

    base_url: str
    log_path: Path
    process: "subprocess.Popen[str]"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_process_group(
    args: list[str], project: BakedProject, env: Mapping[str, str] | None = None, **kwargs: Any
) -> "subprocess.Popen[str]":
    """Start a command in the project in its own process group, so that signals reach the
    program itself and not only `uv run` in front of it."""
    return subprocess.Popen(
        args, cwd=project.path, env=project.environ(env), start_new_session=True, text=True,
        **kwargs,
    )  # fmt: skip


def signal_group(process: "subprocess.Popen[str]", signum: int) -> None:
    with suppress(ProcessLookupError):  # it already exited
        os.killpg(process.pid, signum)


@contextmanager
def serve(
    project: BakedProject,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    command: list[str] | None = None,
) -> Iterator[Service]:
    """Serve `project` on a free loopback port until the block ends, with `uvicorn
    app.main:app` or `command` (a uvicorn command line, whose host and port are replaced)."""
    port = free_port()
    program, *args = on_loopback(command or ["uvicorn", "app.main:app"], port)
    # The program itself, from the project's environment, as the image runs it: signals
    # reach it, and its exit status is its own.
    program_path = str(project.path / ".venv" / "bin" / program)
    with log_path.open("w", encoding="utf-8") as log:
        process = start_process_group(
            [program_path, *args], project, env, stdout=log, stderr=subprocess.STDOUT
        )
    service = Service(f"http://127.0.0.1:{port}", log_path, process)
    try:
        _wait_until_serving(service, process)
        yield service
    finally:
        signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait(timeout=SHUTDOWN_TIMEOUT)


def on_loopback(command: list[str], port: int) -> list[str]:
    """`command` with `--host 127.0.0.1 --port <port>` in place of its own."""
    args = list(command)
    for option, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if option in args:
            del args[args.index(option) : args.index(option) + 2]
        args += [option, value]
    return args


def _wait_until_serving(service: Service, process: "subprocess.Popen[str]") -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{service.log()}")
        try:
            if httpx.get(f"{service.base_url}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer within {STARTUP_TIMEOUT} s:\n{service.log()}")


def assert_clean(log: str) -> None:
    """No tracebacks, no errors and no database password in (a stretch of) a server log."""
    for sign in ("Traceback", "ERROR", *DATABASE_SECRETS):
        assert sign not in log, f"{sign!r} in the server log:\n{log[-5000:]}"


def image_command(project: BakedProject) -> list[str]:
    """The command the Dockerfile runs the service with (its exec-form CMD)."""
    dockerfile = project.read("Dockerfile").replace("\\\n", "")
    match = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert match is not None
    command: list[str] = json.loads(match.group(1))
    return command


def graceful_timeout(command: list[str]) -> float:
    return float(command[command.index("--timeout-graceful-shutdown") + 1])
