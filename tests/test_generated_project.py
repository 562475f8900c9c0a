"""Each baked project passes its own linters, type checker and test suite."""

import re
from collections.abc import Callable

import pytest

from tests.conftest import Bake, Database

MIN_GENERATED_TESTS = 30


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_generated_project_passes_its_own_checks(
    bake: Bake, new_database: Callable[[], Database], database: str
) -> None:
    project = bake(database=database)
    project.sync()
    project.run("uv", "run", "--no-sync", "ruff", "check", ".")
    project.run("uv", "run", "--no-sync", "ruff", "format", "--check", ".")
    project.run("uv", "run", "--no-sync", "mypy", ".")

    env = {"TEST_DATABASE_URL": new_database().url} if database == "postgresql" else {}
    result = project.run(
        "uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", env=env
    )
    summary = result.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed.group(1)) >= MIN_GENERATED_TESTS, summary
    assert not re.search(r"failed|error|skipped|xfail", summary), summary
