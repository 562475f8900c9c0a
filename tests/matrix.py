"""The option combinations the template's tests bake, kept as data.

The render tier bakes every combination; the install tier installs a few named rows that
between them pair every choice of every option with every choice of every other.
"""

import itertools
import json
from typing import Any

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

RENDER_ROWS: list[dict[str, Any]] = [
    dict(zip(CHOICES, values, strict=True)) for values in itertools.product(*CHOICES.values())
]

INSTALL_ROWS: dict[str, dict[str, Any]] = {
    "postgresql-everything": {"database": "postgresql", "docker": True, "github_actions": True},
    "postgresql-bare": {"database": "postgresql", "docker": False, "github_actions": False},
    "sqlite-docker": {"database": "sqlite", "docker": True, "github_actions": False},
    "sqlite-actions": {"database": "sqlite", "docker": False, "github_actions": True},
}


def row_id(row: dict[str, Any]) -> str:
    return "-".join(
        str(value) if not isinstance(value, bool) else f"{key}_{'yes' if value else 'no'}"
        for key, value in row.items()
    )
