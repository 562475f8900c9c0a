"""The install tier: named rows are installed and pass their own test suite."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Bake, Database
from tests.matrix import INSTALL_ROWS

MIN_GENERATED_TESTS = 30


@pytest.mark.parametrize(
    "options", [pytest.param(row, id=name) for name, row in INSTALL_ROWS.items()]
)
def test_generated_suite_passes(
    bake: Bake, new_database: Callable[[], Database], options: dict[str, Any]
) -> None:
    project = bake(**options)
    project.sync()
    env = {"TEST_DATABASE_URL": new_database().url} if options["database"] == "postgresql" else {}
    result = project.run(
        "uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", env=env
    )
    summary = result.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed.group(1)) >= MIN_GENERATED_TESTS, summary
    assert not re.search(r"failed|error|skipped|xfail", summary), summary
