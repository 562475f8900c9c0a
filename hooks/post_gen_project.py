"""Shapes the rendered project to the answers: variant files, optional files, `.env`."""

import json
import re
import secrets
import shutil
import sys
from pathlib import Path

# Answers arrive as JSON data, never spliced into code.
ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
DATABASES = ("postgresql", "sqlite")
POSTGRESQL_ONLY = (
    "tests/postgres_server.py",
    ".squawk.toml",
    "scripts/lint_migrations.py",
    "scripts/check_compatibility.py",
    "app/migration_locks.py",
    "app/migration_enums.py",
)
DOCKER_FILES = ("Dockerfile", ".dockerignore", "compose.yaml")
METRICS_FILES = ("app/metrics.py", "tests/test_metrics.py")
TRACING_FILES = ("app/tracing.py", "tests/test_tracing.py")


def select_database_variants(project: Path, database: str) -> None:
    """Keep ``name.<database>.ext`` as ``name.ext`` and drop the other databases' variants."""
    for variant in DATABASES:
        for path in sorted(project.rglob(f"*.{variant}.*")):
            if variant == database:
                path.rename(path.with_name(path.name.replace(f".{variant}.", ".", 1)))
            else:
                path.unlink()


def remove_postgresql_only_files(project: Path) -> None:
    for name in POSTGRESQL_ONLY:
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def remove_files(project: Path, names: tuple[str, ...]) -> None:
    for name in names:
        (project / name).unlink()


def remove_github_actions(project: Path) -> None:
    shutil.rmtree(project / ".github")


def remove_kubernetes_manifests(project: Path) -> None:
    shutil.rmtree(project / "deploy")


def write_dotenv(project: Path) -> None:
    """Copy `.env.example` to `.env` with a secret key no other bake shares."""
    example = (project / ".env.example").read_text(encoding="utf-8")
    secret_key = secrets.token_urlsafe(48)
    dotenv, count = re.subn(r"(?m)^SECRET_KEY=.*$", f"SECRET_KEY={secret_key}", example)
    if count != 1:
        raise RuntimeError(".env.example must have exactly one SECRET_KEY line")
    (project / ".env").write_text(dotenv, encoding="utf-8")


def print_next_steps(project: Path) -> None:
    print(
        f"\nCreated {project.name}. Next steps:\n"
        f"  cd {project.name}\n"
        "  uv sync                      # install the app and its dev tools\n"
        "  $EDITOR .env                 # point it at your database\n"
        "  uv run alembic upgrade head  # create the schema\n"
        "  uv run fastapi dev           # serve on http://127.0.0.1:8000/docs\n"
    )


def main() -> int:
    project = Path.cwd()
    select_database_variants(project, ANSWERS["database"])
    if ANSWERS["database"] != "postgresql":
        remove_postgresql_only_files(project)
    if not ANSWERS["docker"]:
        remove_files(project, DOCKER_FILES)
    if not ANSWERS["github_actions"]:
        remove_github_actions(project)
    if not ANSWERS["kubernetes"]:
        remove_kubernetes_manifests(project)
    if not ANSWERS["metrics"]:
        remove_files(project, METRICS_FILES)
    if not ANSWERS["tracing"]:
        remove_files(project, TRACING_FILES)
    write_dotenv(project)
    print_next_steps(project)
    return 0


if __name__ == "__main__":
    sys.exit(main())
