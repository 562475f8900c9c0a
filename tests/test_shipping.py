"""Shipping files and code quality, checked with real linters for every combination."""

import hashlib
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import TEMPLATE, Bake, BakedProject, locked, tool
from tests.matrix import RENDER_ROWS, row_id, rows_where_defaults_hold
from tests.service import graceful_timeout, image_command

ROWS = [pytest.param(row, id=row_id(row)) for row in RENDER_ROWS]
SHIPPING_ROWS = [
    pytest.param(row, id=row_id(row)) for row in rows_where_defaults_hold("metrics", "tracing")
]


# Installed environments to type-check bakes in, one per database, made when first needed.
TYPING_ENVIRONMENTS: dict[str, Path] = {}


def python_sources_digest(project: BakedProject) -> str:
    digest = hashlib.sha256()
    for name in sorted(f for f in project.files() if f.endswith(".py")):
        digest.update(f"{name}\0{project.read(name)}\0".encode())
    return digest.hexdigest()


@pytest.mark.parametrize("options", ROWS)
def test_python_is_lint_format_and_type_clean(
    bake: Bake, bake_shared: Bake, options: dict[str, Any], run_directory: Path
) -> None:
    project = bake(**options)
    if options["database"] == "postgresql":
        # Saved where the README says, as users will: their CI lints and type-checks it.
        backfill_test = project.readme_python("Backfilling a column on a big, busy table")[2]
        (project.path / "tests" / "test_backfill_updated_at.py").write_text(backfill_test)
    project.run(tool("ruff"), "check", ".")
    project.run(tool("ruff"), "format", "--check", ".")
    # Most options add or remove other files only: Python sources identical to ones already
    # type-checked, by this worker or another, need no second mypy run.
    checked = run_directory / f"type-checked-{python_sources_digest(project)}"
    with locked(checked):  # a worker with other sources goes on meanwhile
        if checked.exists():
            return
        database = options["database"]
        if database not in TYPING_ENVIRONMENTS:
            # With every optional dependency: it type-checks every combination's sources.
            environment = bake_shared(
                database=database, docker=False, github_actions=False, metrics=True, tracing=True
            )
            environment.sync()
            TYPING_ENVIRONMENTS[database] = environment.path / ".venv" / "bin" / "python"
        python = TYPING_ENVIRONMENTS[database]
        cache = python.parent.parent.parent / ".mypy_cache"
        project.run(str(python), "-m", "mypy", "--strict", "--cache-dir", str(cache), ".")
        checked.touch()


# Named, not ".": ruff reads every pyproject.toml under the root, and the project template's
# is Jinja, not TOML.
OWN_CODE = ["tests", "hooks", "bench", "local_extensions.py"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_the_templates_own_code_is_ruff_clean(command: list[str]) -> None:
    result = subprocess.run(
        [tool("ruff"), *command, *OWN_CODE], cwd=TEMPLATE, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("options", [row for row in SHIPPING_ROWS if row.values[0]["docker"]])
def test_docker_files(bake: Bake, options: dict[str, Any]) -> None:
    project = bake(**options)
    project.run(tool("hadolint"), "Dockerfile")
    dockerfile = project.read("Dockerfile")
    assert len(re.findall(r"(?m)^FROM ", dockerfile)) >= 2, "multi-stage"
    [user] = re.findall(r"(?m)^USER (\S+)", dockerfile)
    assert user.split(":")[0] not in {"root", "0"}
    healthcheck = re.search(r"(?m)^HEALTHCHECK(.*\\\n)*.*$", dockerfile)
    assert healthcheck is not None
    assert "/health" in healthcheck.group(0)
    assert not re.search(r"(?m)^COPY .*\.env", dockerfile)
    ignored = project.read(".dockerignore").splitlines()
    assert ".env" in ignored
    assert ".venv/" in ignored


@pytest.mark.parametrize("options", [row for row in SHIPPING_ROWS if row.values[0]["docker"]])
def test_compose_runs_migrations_before_the_api(bake: Bake, options: dict[str, Any]) -> None:
    project = bake(**options)
    compose = yaml.safe_load(project.read("compose.yaml"))
    services = compose["services"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}
    }
    assert services["api"]["image"] == services["migrate"]["image"]
    # Stopping the api waits for uvicorn's graceful shutdown before it kills the process.
    grace = float(services["api"]["stop_grace_period"].removesuffix("s"))
    assert grace > graceful_timeout(image_command(project))
    if options["database"] == "postgresql":
        assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert "healthcheck" in services["db"]
        [volume] = services["db"]["volumes"]
        assert volume.split(":")[0] in compose["volumes"]
    else:
        assert "db" not in services


@pytest.mark.parametrize(
    "options", [row for row in SHIPPING_ROWS if row.values[0]["github_actions"]]
)
def test_github_actions_workflow(bake: Bake, options: dict[str, Any]) -> None:
    project = bake(**options)
    workflow_path = ".github/workflows/ci.yml"
    project.run(tool("actionlint"), workflow_path)
    project.run(tool("zizmor"), "--offline", workflow_path)
    workflow = yaml.safe_load(project.read(workflow_path))
    assert workflow["permissions"] == {"contents": "read"}
    [job] = workflow["jobs"].values()
    commands = " ; ".join(step.get("run", "") for step in job["steps"])
    for command in ("ruff check", "ruff format --check", "mypy", "alembic check", "pytest",
                    "python -m scripts.record_head --check"):  # fmt: skip
        assert command in commands
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    has_postgres = "postgres" in job.get("services", {})
    assert has_postgres == (options["database"] == "postgresql")


def test_line_endings_are_pinned_in_the_template_and_the_output(bake: Bake) -> None:
    project = bake()
    template_root = Path(__file__).resolve().parents[1]
    for text in (project.read(".gitattributes"), (template_root / ".gitattributes").read_text()):
        assert "eol=lf" in text


def test_one_python_for_development_ci_and_the_image(bake: Bake) -> None:
    project = bake(docker=True, github_actions=True)
    version = project.read(".python-version").strip()
    assert re.fullmatch(r"3\.\d+", version)
    floor = tomllib.loads(project.read("pyproject.toml"))["project"]["requires-python"]
    assert tuple(map(int, version.split("."))) >= tuple(
        map(int, floor.removeprefix(">=").split("."))
    )
    # The image installs the Python .python-version names, and names none itself.
    dockerfile = project.read("Dockerfile")
    assert "COPY .python-version pyproject.toml uv.lock ./" in dockerfile
    assert "uv python install" in dockerfile
    assert not re.search(r"(?m)^FROM python:", dockerfile)
    assert ".python-version" not in project.read(".dockerignore")
    # CI's uv reads it too: no step picks another Python.
    workflow = project.read(".github/workflows/ci.yml")
    assert "python-version" not in workflow
    assert "setup-python" not in workflow
