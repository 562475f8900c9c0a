"""Fixtures for baking the template and driving the baked projects."""

import ast
import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
# The generated project's revisions: the first creates users, posts and votes, and is
# SQLite's head; PostgreSQL's head adds the trigram index that serves searches.
INITIAL_REVISION = "0b5d1c2e7a41"
HEAD = "7f3b9d2e4c18"


def _load_postgres_server() -> ModuleType:
    """The generated projects' own throwaway-server helper, so both suites share one."""
    path = PROJECT_TEMPLATE / "tests" / "postgres_server.py"
    spec = importlib.util.spec_from_file_location("postgres_server", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


postgres_server = _load_postgres_server()


@dataclass(frozen=True)
class Database:
    """One database on the test server, addressed the ways a baked project accepts."""

    url: str

    @property
    def settings(self) -> dict[str, str]:
        """The seed's DATABASE_* variables for this database."""
        parts = urlsplit(self.url)
        return {
            "DATABASE_HOSTNAME": parts.hostname or "",
            "DATABASE_PORT": str(parts.port or 5432),
            "DATABASE_USERNAME": unquote(parts.username or ""),
            "DATABASE_PASSWORD": unquote(parts.password or ""),
            "DATABASE_NAME": parts.path.lstrip("/"),
        }

    def psql(self, sql: str) -> str:
        """Run SQL through psql; return the unaligned, tuples-only output."""
        result = subprocess.run(
            ["psql", self.url, "-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout.strip()


@dataclass
class BakedProject:
    """A project rendered from the template, with helpers to read it and run its commands."""

    path: Path
    context: Mapping[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    database: Database | None = None

    def use_database(self, database: Database) -> None:
        """Point the project's commands at `database` through the seed's DATABASE_* settings."""
        self.database = database
        self.env = database.settings

    def has_file(self, name: str) -> bool:
        return (self.path / name).is_file()

    def read(self, name: str) -> str:
        return (self.path / name).read_text(encoding="utf-8")

    def edit(self, name: str, old: str, new: str) -> None:
        """Replace the first `old` in the project's file `name` (which must hold it)."""
        source = self.read(name)
        assert old in source, f"{old!r} is not in {name}"
        (self.path / name).write_text(source.replace(old, new, 1), encoding="utf-8")

    def readme_python(self, heading: str) -> list[str]:
        """The python blocks of the README's section under `heading`, as a user copies them."""
        section = self.read("README.md").split(f"### {heading}\n")[1].split("\n### ")[0]
        blocks = []
        for block in re.findall(r"```python\n(.*?)```", section, re.DOTALL):
            lines = block.splitlines(keepends=True)
            indent = len(lines[0]) - len(lines[0].lstrip())
            blocks.append("".join(line[indent:] if line.strip() else "\n" for line in lines))
        assert blocks, f"no python in the README's {heading!r}"
        return blocks

    def files(self) -> set[str]:
        skip = {".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
        return {
            str(p.relative_to(self.path))
            for p in self.path.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(self.path).parts)
        }

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the project, as a user would from its directory."""
        result = subprocess.run(
            args, cwd=self.path, env=self.environ(env), capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(args)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            )
        return result

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment the project's commands run in."""
        return {**clean_environ(), **self.env, **(extra or {})}

    def alembic(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run("uv", "run", "--no-sync", "alembic", *args, **kwargs)

    def sync(self, *, python: str | None = None, lowest: bool = False) -> None:
        """`uv sync`: on the project's .python-version or on `python` (say "3.13"), with
        the newest versions allowed or, `lowest`, the floors it declares."""
        options = ["--python", find_python(python)] if python else []
        if lowest:
            options += ["--resolution", "lowest-direct"]
        self.run("uv", "sync", "--quiet", *options)

    @property
    def head(self) -> str:
        """The head revision the project comes with."""
        return HEAD if self.context["database"] == "postgresql" else INITIAL_REVISION

    def autogenerate(self, message: str) -> Path:
        """`alembic revision --autogenerate`, as a user runs it; the file it wrote, which
        must be formatted and lint-clean as written, whatever it imports."""
        before = set(self.new_revisions())
        self.alembic("revision", "--autogenerate", "-m", message)
        [revision] = set(self.new_revisions()) - before
        self.run("uv", "run", "--no-sync", "ruff", "format", "--check", str(revision))
        self.run("uv", "run", "--no-sync", "ruff", "check", str(revision))
        return revision

    def new_revisions(self) -> list[Path]:
        """Revision files added since the bake."""
        versions = self.path / "alembic" / "versions"
        shipped = (INITIAL_REVISION, HEAD)
        return [p for p in sorted(versions.glob("*.py")) if p.name.split("_")[4] not in shipped]


def revision_file(
    revision: str, down_revision: str, message: str, functions: str, imports: str = ""
) -> str:
    """The source of a revision file as Alembic writes one, around `functions` (its
    `upgrade()` and `downgrade()`) and any `imports` they need beyond `op` and `sa`."""
    return (
        f'"""{message}\n\nRevision ID: {revision}\nRevises: {down_revision}\n'
        f'Create Date: 2026-12-01 10:00:00\n"""\n\n'
        "from collections.abc import Sequence\n\n"
        f"import sqlalchemy as sa\nfrom alembic import op\n{imports}\n"
        f'revision: str = "{revision}"\ndown_revision: str | None = "{down_revision}"\n'
        "branch_labels: str | Sequence[str] | None = None\n"
        "depends_on: str | Sequence[str] | None = None\n\n\n"
        f"{functions}"
    )


def revision_id(revision: Path) -> str:
    """The id in a revision file's name (dated, as alembic.ini names them)."""
    return revision.name.split("_")[4]


def revision_operations(revision: Path, function: str) -> list[str]:
    """The op./batch_op. calls a revision's upgrade or downgrade makes, in order."""
    tree = ast.parse(revision.read_text(encoding="utf-8"))
    [body] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    return [
        node.func.attr
        for node in ast.walk(body)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"op", "batch_op"}
        and node.func.attr != "batch_alter_table"
    ]


def database_of(project: BakedProject) -> Database:
    """The database a project's commands run on (set with `use_database`)."""
    assert project.database is not None
    return project.database


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in `cwd`, committing as a throwaway identity."""
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=check)


def tool(name: str) -> str:
    """A command installed in the template's own environment (linters, cruft)."""
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    assert path is not None, f"{name} is not installed; run `uv sync`"
    return path


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# The test runner's venv, and a setting that makes every Python process compile every module
# it imports anew (a baked project's commands would each take seconds longer than a user's).
LEAKY_VARIABLES = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}


def clean_environ() -> dict[str, str]:
    """This environment minus what would leak the test runner's venv into a baked project,
    with every Python this machine has on PATH, where uv finds the one a project names."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_VARIABLES}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["PATH"] = os.pathsep.join([*map(str, PYENV_BIN_DIRS), env.get("PATH", "")])
    return env


def _pyenv_bin_dirs() -> list[Path]:
    # pyenv's shims answer only for its selected version; its installs' own bin
    # directories answer for themselves. The versions requires-python allows, oldest first.
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    return sorted(root.glob("versions/3.1[1-9].*/bin"), key=lambda path: path.parent.name)


PYENV_BIN_DIRS = _pyenv_bin_dirs()


def find_python(version: str) -> str:
    """The interpreter of Python `version` (say "3.13") on this machine."""
    for directory in [*PYENV_BIN_DIRS, *map(Path, os.environ["PATH"].split(os.pathsep))]:
        candidate = directory / f"python{version}"
        if candidate.is_file() and os.access(candidate, os.X_OK) and "shims" not in str(directory):
            return str(candidate)
    pytest.fail(f"Python {version} is not installed here (pyenv install {version})")


Bake = Callable[..., BakedProject]


@pytest.fixture(scope="session")
def run_directory(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A directory of this run's that every worker shares (for work done once per run)."""
    directory = tmp_path_factory.getbasetemp()
    # Each worker's directory sits in the run's own.
    return directory if worker_id == "master" else directory.parent


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (in a .lock file beside it) for the block, across
    workers."""
    with path.with_name(f"{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cookiecutter_keys() -> list[str]:
    return list(json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8")))


def _bake_with(cookies: Any) -> Bake:
    def bake(**context: Any) -> BakedProject:
        # Cookiecutter silently ignores unknown keys: a typo would bake the defaults.
        unknown = set(context) - set(_cookiecutter_keys())
        assert not unknown, f"not in cookiecutter.json: {unknown}"
        result = cookies.bake(extra_context=context)
        assert result.exception is None, result.exception
        assert result.exit_code == 0
        return BakedProject(result.project_path, result.context)

    return bake


@pytest.fixture
def bake(cookies: Any) -> Bake:
    """Bake the template with the given answers; fails the test if baking fails."""
    return _bake_with(cookies)


@pytest.fixture(scope="module")
def bake_shared(cookies_session: Any) -> Bake:
    """Like `bake`, for projects that several tests of a module share (installs are slow)."""
    return _bake_with(cookies_session)


# PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """TEST_DATABASE_URL if set, else a throwaway server; without either, stop the run."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    try:
        with postgres_server.throwaway_server() as url:
            yield url
    except RuntimeError as error:
        pytest.exit(str(error), returncode=1)


def create_database(server_url: str) -> Database:
    """A new empty database on the server of `server_url`."""
    name = f"bake_{uuid.uuid4().hex[:12]}"
    Database(server_url).psql(f'CREATE DATABASE "{name}"')
    return Database(urlsplit(server_url)._replace(path=f"/{name}").geturl())


def drop_database(database: Database) -> None:
    name = urlsplit(database.url).path.lstrip("/")
    server = Database(urlsplit(database.url)._replace(path="/postgres").geturl())
    server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_project(bake: Bake, server_url: str) -> Iterator[BakedProject]:
    """A default PostgreSQL bake, installed, on a new database migrated to its head; the
    database is dropped when the block ends."""
    project = bake(database="postgresql")
    project.sync()
    database = create_database(server_url)
    project.use_database(database)
    try:
        project.alembic("upgrade", "head")
        yield project
    finally:
        drop_database(database)


@pytest.fixture
def new_database(postgres_server_url: str) -> Iterator[Callable[[], Database]]:
    """Create empty databases on the test server; they are dropped after the test."""
    created: list[Database] = []

    def create() -> Database:
        created.append(create_database(postgres_server_url))
        return created[-1]

    yield create
    for database in created:
        drop_database(database)


# Served projects: a module that defines a `project` fixture (baked, installed, migrated)
# gets it served, and signed-up users of it, by these.


@pytest.fixture(scope="module")
def service(project: BakedProject, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The module's `project`, served by uvicorn on loopback for the whole module."""
    from tests.service import serve

    with serve(project, tmp_path_factory.mktemp("uvicorn") / "uvicorn.log") as service:
        yield service


@pytest.fixture(scope="module")
def accounts(service: Any) -> list[Any]:
    """Eight users of the module's service, signed up and logged in."""
    from tests.traffic import sign_up_many

    return sign_up_many(service.base_url, 8)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List the figures tests recorded with `record_property("figure", ...)` (load, timings):
    pytest-xdist shows no output of passing tests, but it does pass their properties on."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    figures = [value for r in reports for name, value in r.user_properties if name == "figure"]
    if figures:
        terminalreporter.write_sep("-", "figures")
        for figure in figures:
            terminalreporter.write_line(str(figure))
