"""Run the tests of the release still serving against a database migrated by this tree.

During a rolling release the previous code keeps serving while this tree's revisions are
already applied, so every revision must be safe for the code before it. squawk sees
locks; this sees meaning: the base's own tests, on this tree's schema.

    uv run python scripts/check_compatibility.py --base origin/main

It copies the base's files into a temporary directory, gives them this tree's
`alembic/versions/`, migrates a new database with this tree (its env.py, as the release's
migration step would), and runs the base's tests there with this environment. The
database is new, on the server of TEST_DATABASE_URL if set, else on a throwaway server;
it is dropped afterwards, as is the directory. Exits 0 when every test of the base passes,
1 naming the tests that fail, 2 when it cannot check (an unknown ref, no database).

This module is also the pytest plugin that records the outcomes of the base's tests (run
with `-p check_compatibility`), so at import it does nothing but define functions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    import pytest

PROJECT = Path(__file__).resolve().parents[1]
README_SECTION = 'README "Rolling out a migration safely"'
# Where the base's test run records outcomes, one "<outcome> <test id>" a line.
RESULTS_VARIABLE = "CHECK_COMPATIBILITY_RESULTS"
# The base's migration tests compare the base's models and revisions with this tree's
# schema and revisions: a mismatch there is the change itself, not a break.
MIGRATION_TESTS = "tests/test_migrations.py"
PYTEST_OPTIONS = (
    *("-p", "check_compatibility", "-p", "no:cacheprovider", f"--ignore={MIGRATION_TESTS}"),
    # A line per failing test saying what broke, without the logs it captured.
    *("--tb=line", "--show-capture=no", "--color=no"),
)
NAMED_AT_MOST = 20


class CannotCheck(Exception):
    """Something other than the base's tests failed: the check could not be made."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", required=True, metavar="GIT_REF", help="the release still serving (origin/main)"
    )
    ref = parser.parse_args().base
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt_once)
    try:
        with ExitStack() as resources:
            return check(ref, resources)
    except CannotCheck as error:
        print(f"check_compatibility: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("check_compatibility: interrupted", file=sys.stderr)
        return 130


def interrupt_once(signum: int, frame: FrameType | None) -> None:
    """Stop the check, then let its clean-up finish: a Ctrl-C often arrives twice (from the
    terminal and again from `uv run`), and a second one would cut the clean-up short."""
    for ignored in (signal.SIGINT, signal.SIGTERM):
        signal.signal(ignored, signal.SIG_IGN)
    raise KeyboardInterrupt


def check(ref: str, resources: ExitStack) -> int:
    directory = resources.enter_context(tempfile.TemporaryDirectory(prefix="check-compatibility-"))
    base = export(ref, Path(directory))
    new_revisions = give_this_trees_revisions(base)
    database_url = new_database(resources)
    migrate(database_url)
    results = base.parent / "results.txt"
    returncode, output = run_tests(base, database_url, results)
    passed, failed = read_results(results)
    if failed:
        print(output, end="", flush=True)
        print(failure_line(ref, failed), file=sys.stderr)
        return 1
    if returncode != 0 or not passed:
        print(output, end="", flush=True)
        raise CannotCheck(f"the tests of {ref} did not run to the end (pytest exited {returncode})")
    if steps := unseen_data_steps(new_revisions):
        print(
            "check_compatibility: not seen by these tests, which start with no rows: the data"
            f" steps of new revisions, {', '.join(steps)}; check them by hand against what the"
            " release still serving reads and writes"
        )
    print(f"check_compatibility: all {len(passed)} tests of {ref} pass on this tree's schema")
    return 0


def git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=PROJECT, capture_output=True, text=True)
    if result.returncode != 0:
        said = "; ".join(result.stderr.strip().splitlines()) or f"exit {result.returncode}"
        raise CannotCheck(f"git {args[0]}: {said}")
    return result.stdout.strip()


def export(ref: str, directory: Path) -> Path:
    """The files of `ref` at this project's place in the repository, in `directory`."""
    top = git("rev-parse", "--show-toplevel")
    prefix = git("rev-parse", "--show-prefix").rstrip("/")
    try:
        git("rev-parse", "--verify", "--quiet", ref + "^{commit}")
    except CannotCheck:
        raise CannotCheck(
            f"unknown git ref {ref!r} (for a pull request's base: git fetch origin)"
        ) from None
    base = directory / "base"
    base.mkdir()
    # git archive, not a worktree: nothing is registered in the repository to clean up.
    archive = subprocess.run(
        ["git", "archive", "--format=tar", f"{ref}:{prefix}"], cwd=top, capture_output=True
    )
    if archive.returncode != 0:
        said = "; ".join(archive.stderr.decode().strip().splitlines())
        raise CannotCheck(f"git archive {ref}: {said}")
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
    if not (base / "tests").is_dir():
        raise CannotCheck(f"{ref} has no tests/ in {prefix or 'the repository root'}")
    return base


def give_this_trees_revisions(base: Path) -> list[Path]:
    """The base's `alembic upgrade head` then knows this tree's head and finds it applied.
    Returns this tree's revision files that the base does not have."""
    versions = base / "alembic" / "versions"
    base_files = {path.name for path in versions.glob("*.py")}
    shutil.rmtree(versions, ignore_errors=True)
    shutil.copytree(
        PROJECT / "alembic" / "versions", versions, ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy2(PROJECT / "alembic" / "head.txt", base / "alembic" / "head.txt")
    ours = sorted((PROJECT / "alembic" / "versions").glob("*.py"))
    return [path for path in ours if path.name not in base_files]


def unseen_data_steps(revision_files: list[Path]) -> list[str]:
    """The rows these revisions write or change, which the check's empty database hides."""
    # Imported here, not at the top: in the base's test run, this module is a plugin.
    from squash import data_steps

    return data_steps(revision_files)


def new_database(resources: ExitStack) -> str:
    """A new empty database, on TEST_DATABASE_URL's server if set, else on a throwaway one;
    dropped (and the server stopped) when `resources` close."""
    # This tree's own test helpers, imported here rather than at the top: in the base's test
    # run, where this module is a plugin, this tree must stay out of sys.path.
    sys.path.insert(0, str(PROJECT))
    from tests.databases import create_empty_database
    from tests.postgres_server import throwaway_server

    try:
        server_url = os.environ.get("TEST_DATABASE_URL") or resources.enter_context(
            throwaway_server()
        )
        return create_empty_database(server_url, resources)
    except (RuntimeError, OSError, subprocess.SubprocessError, SQLAlchemyError) as error:
        raise CannotCheck(f"no database: {str(error).splitlines()[0]}") from None


def migrate(database_url: str) -> None:
    """`alembic upgrade head` with this tree, as the release's migration step runs it.

    Under this tree's env.py, not the base's: the release applies its revisions with its
    own (its lock and timeout settings, and whatever of this tree's `app` a revision
    imports), and in a process of its own, apart from the base's code.
    """
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=PROJECT,
        env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        print(result.stdout + result.stderr, end="", flush=True)
        raise CannotCheck("this tree's migrations failed on a new database (output above)")


def run_tests(base: Path, database_url: str, results: Path) -> tuple[int, str]:
    """Run the base's tests from its directory on `database_url`: exit code and output."""
    # From `base`, pytest puts `base` first on sys.path (its rootdir; tests/ is a package),
    # so `app` and `tests` are the base's; the project is not installed in the venv.
    # The base's conftest uses TEST_DATABASE_URL as it is; its `alembic upgrade head` finds
    # the database already at this tree's head, which it now knows, and does nothing.
    # The base's tmp_path directories go with ours, not to pytest's kept-three in TMPDIR.
    basetemp = base.parent / "pytest"
    command = [sys.executable, "-m", "pytest", *PYTEST_OPTIONS, f"--basetemp={basetemp}"]
    plugin_path = os.pathsep.join(filter(None, [str(PROJECT / "scripts"), os.getenv("PYTHONPATH")]))
    env = {**os.environ, "TEST_DATABASE_URL": database_url, "PYTHONPATH": plugin_path,
           RESULTS_VARIABLE: str(results)}  # fmt: skip
    result = subprocess.run(
        command, cwd=base, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return result.returncode, result.stdout


def read_results(results: Path) -> tuple[list[str], list[str]]:
    """The tests that passed and those that failed (in setup, call or teardown), in order."""
    lines = results.read_text(encoding="utf-8").splitlines() if results.exists() else []
    outcomes = [line.split(" ", 1) for line in lines]
    passed = [test for outcome, test in outcomes if outcome == "passed"]
    failed = [test for outcome, test in outcomes if outcome == "failed"]
    return list(dict.fromkeys(passed)), list(dict.fromkeys(failed))


def failure_line(ref: str, failed: list[str]) -> str:
    named = ", ".join(failed[:NAMED_AT_MOST])
    if len(failed) > NAMED_AT_MOST:
        named += f" and {len(failed) - NAMED_AT_MOST} more (above)"
    tests = f"{len(failed)} tests of {ref} fail" if len(failed) > 1 else f"1 test of {ref} fails"
    return (
        f"check_compatibility: {tests} on this tree's schema,"
        f" so the release still serving would break: {named}; split the change (expand now,"
        f" contract in a later release), see {README_SECTION}"
    )


# The pytest plugin, in the base's test run --------------------------------------------


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed or (report.when == "call" and report.passed):
        record(report.outcome, report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        record("failed", report.nodeid)


def record(outcome: str, test: str) -> None:
    with open(os.environ[RESULTS_VARIABLE], "a", encoding="utf-8") as results:
        results.write(f"{outcome} {test}\n")


if __name__ == "__main__":
    sys.exit(main())
