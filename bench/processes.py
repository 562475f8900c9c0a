"""Running, timing, serving and stopping the programs the benchmark needs."""

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
Command = Sequence[str | Path]


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and shows its output."""


def environment(**extra: str) -> dict[str, str]:
    """This process's environment for a child, without the virtualenv `uv run` activated,
    and with pyenv's Pythons on PATH (its shims answer only for the selected one), where uv
    finds the one the project's .python-version names."""
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pythons = sorted(str(path) for path in pyenv.glob("versions/3.1[1-9].*/bin"))
    env["PATH"] = os.pathsep.join([*pythons, env["PATH"]])
    return {**env, **extra}


def installed(program: str, *, package: str) -> str:
    """The path of `program`, installed from the OS packages (Debian's apt) when missing."""
    if path := shutil.which(program):
        return path
    apt = ["apt-get", "install", "-y", "-qq", package]
    env = environment(DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(apt, env=env, capture_output=True, check=False).returncode != 0:
        run(["apt-get", "update", "-qq"], env=env)
        run(apt, env=env)
    if path := shutil.which(program):
        return path
    raise BenchError(f"{program} is not installed and apt-get could not install {package}")


def run(command: Command, *, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run a command to completion and return its output; raise BenchError if it fails."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-3000:]
        raise BenchError(f"`{' '.join(map(str, command))}` exited {result.returncode}:\n{output}")
    return result.stdout


def timed(
    command: Command, *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[float, str]:
    """Run a command as `run` does; return its wall time in seconds and its output."""
    start = time.perf_counter()
    output = run(command, cwd=cwd, env=env)
    return time.perf_counter() - start, output


@dataclass(frozen=True)
class Server:
    """An HTTP server the benchmark started, on loopback."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@contextmanager
def serve(
    name: str,
    command: Command,
    *,
    port: int,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    startup_timeout: float = 30,
) -> Iterator[Server]:
    """Start a server, wait until it answers HTTP on `port`, and stop it on the way out."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_answering(server, startup_timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_answering(server: Server, timeout: float = 30) -> None:
    """Any HTTP answer (a 404 too) means the server is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited at start-up:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{server.name} did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
