"""The install tier: named rows are installed and pass their own test suite."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Bake, Database, locked
from tests.matrix import INSTALL_ROWS, INSTALLS

MIN_GENERATED_TESTS = 30


@pytest.mark.parametrize("name", list(INSTALL_ROWS))
def test_generated_suite_passes(
    bake: Bake, new_database: Callable[[], Database], name: str, run_directory: Path
) -> None:
    options, install = INSTALL_ROWS[name], INSTALLS[name]
    project = bake(**options)
    project.sync(python=install.python, lowest=install.lowest)
    env = {"TEST_DATABASE_URL": new_database().url} if options["database"] == "postgresql" else {}
    result = project.run(
        "uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", env=env
    )
    summary = result.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed.group(1)) >= MIN_GENERATED_TESTS, summary
    assert not re.search(r"failed|error|skipped|xfail", summary), summary
    python = project.run("uv", "run", "--no-sync", "python", "-c", "import sys; print(sys.version)")
    assert python.stdout.startswith(install.python or project.read(".python-version").strip())
    if install.lowest:  # the other checks of its CI hold on the floors too
        project.run("uv", "run", "--no-sync", "ruff", "check", ".")
        project.run("uv", "run", "--no-sync", "ruff", "format", "--check", ".")
        # Both databases' floors share most packages: the second row's mypy reuses the
        # first's analysis of them (mypy checks its cache against the files it reads).
        cache = run_directory / f"mypy-cache-lowest-{install.python}"
        with locked(cache):
            project.run("uv", "run", "--no-sync", "mypy", "--cache-dir", str(cache), ".")
