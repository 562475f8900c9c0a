"""The option combinations the template's tests bake, kept as data.

The render tier bakes every supported combination; the install tier installs a few named
rows that between them pair every choice of every option with every choice of every other
(where some supported combination has that pair). Unsupported combinations must be refused.
"""

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hooks.answers import InvalidAnswer, check_answers
from tests.conftest import TEMPLATE

COOKIECUTTER_JSON: dict[str, Any] = json.loads(
    (TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8")
)


def _choices() -> dict[str, list[Any]]:
    """Every option with a fixed set of answers: lists are choices, booleans are yes/no."""
    choices: dict[str, list[Any]] = {}
    for key, default in COOKIECUTTER_JSON.items():
        if key.startswith("_"):
            continue
        if isinstance(default, list):
            choices[key] = default
        elif isinstance(default, bool):
            choices[key] = [True, False]
    return choices


CHOICES = _choices()


def is_supported(row: dict[str, Any]) -> bool:
    defaults = {"project_slug": "fastapi-service", "author_email": "jane@example.com"}
    try:
        check_answers({**defaults, **row})
    except InvalidAnswer:
        return False
    return True


ALL_ROWS = [
    dict(zip(CHOICES, values, strict=True)) for values in itertools.product(*CHOICES.values())
]
RENDER_ROWS = [row for row in ALL_ROWS if is_supported(row)]
UNSUPPORTED_ROWS = [row for row in ALL_ROWS if not is_supported(row)]


def rows_where_defaults_hold(*keys: str) -> list[dict[str, Any]]:
    """The render rows that keep the defaults of `keys`: for checks of files those options
    do not change (metrics and tracing change Python files and Kubernetes manifests; the
    Dockerfile, compose file and workflow are the same whatever they say)."""
    return [row for row in RENDER_ROWS if all(row[k] == COOKIECUTTER_JSON[k] for k in keys)]


INSTALL_ROWS: dict[str, dict[str, Any]] = {
    "postgresql-everything": {
        "database": "postgresql", "docker": True, "github_actions": True, "kubernetes": True,
        "metrics": True, "tracing": True,
    },
    "postgresql-kubernetes-no-actions": {
        "database": "postgresql", "docker": True, "github_actions": False, "kubernetes": True,
        "metrics": False, "tracing": False,
    },
    "postgresql-bare": {
        "database": "postgresql", "docker": False, "github_actions": False, "kubernetes": False,
        "metrics": True, "tracing": True,
    },
    "sqlite-docker": {
        "database": "sqlite", "docker": True, "github_actions": False, "kubernetes": False,
        "metrics": True, "tracing": True,
    },
    "sqlite-actions": {
        "database": "sqlite", "docker": False, "github_actions": True, "kubernetes": False,
        "metrics": True, "tracing": False,
    },
    "sqlite-tracing-without-metrics": {
        "database": "sqlite", "docker": False, "github_actions": True, "kubernetes": False,
        "metrics": False, "tracing": True,
    },
}  # fmt: skip


@dataclass(frozen=True)
class Install:
    """How a row is installed: on the project's own Python or another, and with the newest
    versions its pyproject.toml allows or with its floors (`uv sync --resolution
    lowest-direct`), which must hold as much as the newest do."""

    python: str | None = None
    lowest: bool = False


# The oldest Python requires-python allows, with the lowest versions, on each database;
# the newest Python here on each database; the rest on .python-version's.
INSTALLS = {
    "postgresql-everything": Install(),
    "postgresql-kubernetes-no-actions": Install(python="3.13"),
    "postgresql-bare": Install(python="3.11", lowest=True),
    "sqlite-docker": Install(python="3.11", lowest=True),
    "sqlite-actions": Install(python="3.13"),
    "sqlite-tracing-without-metrics": Install(),
}


def row_id(row: dict[str, Any]) -> str:
    return "-".join(
        str(value) if not isinstance(value, bool) else f"{key}_{'yes' if value else 'no'}"
        for key, value in row.items()
    )
