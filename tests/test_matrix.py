"""Guards on the matrix itself: it names real options and leaves no choice untried."""

import itertools
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException

from tests.matrix import (
    CHOICES,
    COOKIECUTTER_JSON,
    INSTALL_ROWS,
    INSTALLS,
    RENDER_ROWS,
    UNSUPPORTED_ROWS,
    row_id,
)


def test_every_key_the_rows_use_exists_in_cookiecutter_json() -> None:
    # Cookiecutter silently ignores unknown extra_context keys, so a typo would test nothing.
    for row in [*RENDER_ROWS, *UNSUPPORTED_ROWS, *INSTALL_ROWS.values()]:
        assert set(row) <= set(COOKIECUTTER_JSON)


def test_render_and_unsupported_rows_cover_every_combination() -> None:
    combinations = [tuple(row[key] for key in CHOICES) for row in RENDER_ROWS + UNSUPPORTED_ROWS]
    assert sorted(combinations, key=str) == sorted(itertools.product(*CHOICES.values()), key=str)
    for key, choices in CHOICES.items():
        assert {row[key] for row in RENDER_ROWS} == set(choices), f"{key} is never baked"


def test_the_install_tier_pairs_every_supported_choice_with_every_other() -> None:
    for first, second in itertools.combinations(CHOICES, 2):
        for pair in itertools.product(CHOICES[first], CHOICES[second]):
            supported = any((row[first], row[second]) == pair for row in RENDER_ROWS)
            installed = any((row[first], row[second]) == pair for row in INSTALL_ROWS.values())
            assert installed == supported, f"{first}={pair[0]} with {second}={pair[1]}"


def test_every_install_row_sets_every_option() -> None:
    for name, row in INSTALL_ROWS.items():
        assert set(row) == set(CHOICES), name
        assert row in RENDER_ROWS, name


def test_the_install_tier_runs_the_floors_and_both_ends_of_python_on_each_database() -> None:
    assert set(INSTALLS) == set(INSTALL_ROWS)
    for database in CHOICES["database"]:
        installs = [INSTALLS[n] for n, row in INSTALL_ROWS.items() if row["database"] == database]
        assert any(install.lowest for install in installs), database
        # requires-python's floor, and the newest Python this machine has.
        assert {"3.11", "3.13"} <= {install.python for install in installs}, database


@pytest.mark.parametrize("options", [pytest.param(r, id=row_id(r)) for r in UNSUPPORTED_ROWS])
def test_unsupported_combinations_are_refused(cookies: Any, options: dict[str, Any]) -> None:
    result = cookies.bake(extra_context=options)
    assert isinstance(result.exception, FailedHookException)
    assert "kubernetes" in str(result.exception)
    assert result.project_path is None
