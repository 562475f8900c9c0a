"""A throwaway PostgreSQL server for the tests, started from the binaries on this machine."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Run a PostgreSQL server on loopback with password auth; yield its URL."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(HOW_TO_PROVIDE)
    # initdb refuses to run as root, so root runs the server as the postgres user.
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    workdir = Path(tempfile.mkdtemp(prefix="throwaway-postgres-"))
    if run_as:
        shutil.chown(workdir, "postgres")
    data, password_file = workdir / "data", workdir / "password"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    if run_as:
        shutil.chown(password_file, "postgres")
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} "
        # Durability is not needed for a database deleted after the run.
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    try:
        subprocess.run(
            [*run_as, bindir / "initdb", "-D", data, "-U", USER, "--pwfile", password_file,
             "--auth", "scram-sha-256", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*run_as, bindir / "pg_ctl", "-D", data, "-l", workdir / "log", "-o", options,
             "-w", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield f"postgresql://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*run_as, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                check=False, capture_output=True,
            )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)
