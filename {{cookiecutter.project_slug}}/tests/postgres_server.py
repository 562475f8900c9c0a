"""A throwaway PostgreSQL server for the tests, started from the binaries on this machine."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

HOW_TO_PROVIDE = (
    "no PostgreSQL for the tests: set TEST_DATABASE_URL=postgresql://user:password@host:port/db "
    "or install PostgreSQL's server binaries (Debian: apt-get install postgresql)"
)
USER = "app_test"
# Every character that breaks naive URL building, so the tests prove it is handled.
PASSWORD = "p%@/:#? 'x\"y"


def find_bindir() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`: on PATH, else the newest Debian install."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent

    def major(path: Path) -> int:
        match = re.search(r"/(\d+)/bin/", str(path))
        return int(match.group(1)) if match else 0

    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=major)
    return installed[-1].parent if installed else None


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server run from this machine's binaries, which tests may stop and start."""

    bindir: Path
    workdir: Path
    port: int
    options: str
    run_as: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def log(self) -> Path:
        return self.workdir / "log"

    def start(self) -> None:
        """Start the server on its port and wait until it accepts connections."""
        self._pg_ctl("-l", str(self.log), "-o", self.options, "-w", "start")

    def stop(self, mode: str = "fast", *, check: bool = True) -> None:
        """Stop the server; mode "immediate" is a crash, recovered from at the next start."""
        self._pg_ctl("-m", mode, "-w", "stop", check=check)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        command = [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(command, check=check, capture_output=True)


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Run a PostgreSQL server on loopback with password auth; yield its URL."""
    with restartable_server() as server:
        yield server.url


@contextmanager
def restartable_server(*, crash_safe: bool = False) -> Iterator[Server]:
    """Run a throwaway server as `throwaway_server` does; yield it, to be stopped and started.

    `crash_safe` makes every acknowledged commit survive `stop("immediate")`. (`fsync=off`
    only risks data if the machine itself crashes.)
    """
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(HOW_TO_PROVIDE)
    # initdb refuses to run as root, so root runs the server as the postgres user.
    run_as = ("runuser", "-u", "postgres", "--") if os.geteuid() == 0 else ()
    workdir = Path(tempfile.mkdtemp(prefix="throwaway-postgres-"))
    if run_as:
        shutil.chown(workdir, "postgres")
    password_file = workdir / "password"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    if run_as:
        shutil.chown(password_file, "postgres")
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} "
        # Durability is not needed for a database deleted after the run.
        "-c fsync=off -c full_page_writes=off "
        f"-c synchronous_commit={'on' if crash_safe else 'off'}"
    )
    server = Server(bindir, workdir, port, options, run_as)
    try:
        subprocess.run(
            [*run_as, bindir / "initdb", "-D", server.data, "-U", USER, "--pwfile", password_file,
             "--auth", "scram-sha-256", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop("immediate", check=False)
        shutil.rmtree(workdir, ignore_errors=True)
