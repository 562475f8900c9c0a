"""A baked project served by a real uvicorn on loopback, for tests that drive it over HTTP."""

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BakedProject, postgres_server

free_port = postgres_server.free_port

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Service:
    """A running uvicorn: where it listens and what it has logged."""

    base_url: str
    log_path: Path

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
    project: BakedProject, log_path: Path, env: Mapping[str, str] | None = None
) -> Iterator[Service]:
    """Serve `project` with `uvicorn app.main:app` on a free loopback port until the block ends."""
    port = free_port()
    with log_path.open("w", encoding="utf-8") as log:
        process = start_process_group(
            ["uv", "run", "--no-sync", "uvicorn", "app.main:app",
             "--host", "127.0.0.1", "--port", str(port)],
            project, env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    service = Service(f"http://127.0.0.1:{port}", log_path)
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
