"""The baked project and its database: bake, install, migrate, seed, and its own tests."""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from processes import BenchError, environment, run, timed

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TEMPLATE_PROJECT = REPO / "{{cookiecutter.project_slug}}"
HASH_PASSWORD = """import sys; from pwdlib import PasswordHash
print(PasswordHash.recommended().hash(sys.argv[1]))"""
VERSIONS = """import importlib.metadata as m, json, sys
print(json.dumps({"python": sys.version.split()[0], **{p: m.version(p) for p in sys.argv[1:]}}))"""


def load_postgres_server() -> ModuleType:
    """The generated project's own throwaway-PostgreSQL helper, loaded from the template."""
    path = TEMPLATE_PROJECT / "tests" / "postgres_server.py"
    spec = importlib.util.spec_from_file_location("postgres_server", path)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_psql(postgres_server: ModuleType) -> Path:
    """psql beside the server binaries the throwaway server uses (Debian: not on PATH)."""
    bindir = postgres_server.find_bindir()
    psql = (bindir / "initdb").resolve().parent / "psql" if bindir else None
    found = str(psql) if psql and psql.exists() else shutil.which("psql")
    if found is None:
        raise BenchError("psql not found: install PostgreSQL's client (apt-get install postgresql)")
    return Path(found)


def describe_template(template: Path) -> dict[str, object]:
    """Which version of the template was baked: its commit, and whether it had local edits."""
    git = ["git", "-C", str(template)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.returncode != 0:
        return {"path": str(template), "commit": None}
    status = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {"path": str(template), "commit": head.stdout.strip(), "edited": bool(status.stdout)}


@dataclass(frozen=True)
class Database:
    """One database of the throwaway server, reached with psql."""

    psql: Path
    url: str  # postgresql://user:password@host:port/name, password percent-encoded

    def psql_command(self, *args: str | Path) -> list[str | Path]:
        return [self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", self.url, *args]

    def sql(self, *statements: str) -> str:
        """Run each statement in its own transaction (so VACUUM may be one of them)."""
        return run(self.psql_command(*(arg for sql in statements for arg in ("-c", sql))))

    def sql_file(self, path: Path) -> str:
        return run(self.psql_command("-F", " ", "-f", path))

    def create(self, name: str) -> "Database":
        self.sql(f'CREATE DATABASE "{name}"')
        return Database(self.psql, self.url.rpartition("/")[0] + "/" + name)


@dataclass(frozen=True)
class Project:
    """The default bake, installed the way its Dockerfile installs it."""

    path: Path
    bake_seconds: float
    install_seconds: float

    @property
    def python(self) -> Path:
        return self.path / ".venv" / "bin" / "python"

    def versions(self, *packages: str) -> dict[str, str]:
        versions: dict[str, str] = json.loads(run([self.python, "-c", VERSIONS, *packages]))
        return versions

    def secret_key(self) -> str:
        """The SECRET_KEY the bake wrote to `.env`."""
        for line in (self.path / ".env").read_text().splitlines():
            if line.startswith("SECRET_KEY="):
                return line.partition("=")[2].strip()
        raise BenchError("the baked .env has no SECRET_KEY")

    def migrate(self, env: dict[str, str]) -> float:
        """`alembic upgrade head` as the image runs it; its wall time in seconds."""
        seconds, _ = timed(
            [self.path / ".venv/bin/alembic", "upgrade", "head"], cwd=self.path, env=env
        )
        return seconds


def bake_and_install(
    template: Path, directory: Path, answers: dict[str, str] | None = None
) -> Project:
    """Bake the project (the defaults, or these `answers`) into `directory`; install it with
    compiled bytecode, no dev tools."""
    extra = [f"{key}={value}" for key, value in (answers or {}).items()]
    bake_seconds, _ = timed(
        [sys.executable, "-m", "cookiecutter", template, "--no-input", "-o", directory, *extra]
    )
    (path,) = directory.iterdir()
    install_seconds, _ = timed(
        ["uv", "sync", "--no-dev"], cwd=path, env=environment(UV_COMPILE_BYTECODE="1")
    )
    return Project(path, bake_seconds, install_seconds)


def seed(project: Project, database: Database, password: str) -> tuple[float, dict[str, int]]:
    """Fill a freshly migrated database with bench/seed.sql; its wall time and row counts.

    Every user gets one valid argon2 hash of `password`, made with the app's own library.
    """
    password_hash = run([project.python, "-c", HASH_PASSWORD, password]).strip()
    command = database.psql_command(
        "-F", " ", "-v", f"password_hash={password_hash}", "-f", BENCH / "seed.sql"
    )
    seconds, output = timed(command)
    users, posts, votes, last_post_id = map(int, output.split())
    return seconds, {"users": users, "posts": posts, "votes": votes, "last_post_id": last_post_id}


def run_tests(project: Project, database: Database) -> dict[str, Any]:
    """`uv run pytest` in the project, on `database` (empty); wall time and test count."""
    run(["uv", "sync"], cwd=project.path, env=environment(UV_COMPILE_BYTECODE="1"))
    start = time.perf_counter()
    result = subprocess.run(
        ["uv", "run", "pytest"],
        cwd=project.path,
        env=environment(TEST_DATABASE_URL=database.url),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    # pytest's last line: "===== 45 passed, 2 skipped, 1 warning in 3.21s ====="
    last_line = (result.stdout.strip().splitlines() or [""])[-1].strip("= ")
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", last_line)}
    count = sum(n for kind, n in counts.items() if not kind.startswith("warning"))
    return {
        "count": count,
        "wall_s": round(wall, 2),
        "seconds_per_test": round(wall / max(count, 1), 4),
        "outcome": last_line.rpartition(" in ")[0] or "no pytest summary",
        "exit_code": result.returncode,
        **({"output_tail": result.stdout[-3000:]} if result.returncode else {}),
    }
