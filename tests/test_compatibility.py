"""Old code on the new schema: the base branch's tests against a pull request's revisions.

Each case is a pull request as a user would make it: a branch off `main` in the baked
project's own repository (pushed to an `origin`), new revisions and the model change they go
with, then the command the README and the generated CI run. squawk flags drops, renames and
required columns by their syntax; the check constraint it approves of, and only the meaning
of the change says that the release still serving breaks.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    HEAD,
    Bake,
    BakedProject,
    Database,
    git,
    postgres_server,
    revision_file,
    wait_until,
)

COMMAND = ("uv", "run", "--no-sync", "python", "scripts/check_compatibility.py")
# As the README shows it; the tests run it with --no-sync, the project being synced once.
README_COMMAND = "uv run python scripts/check_compatibility.py --base origin/main"
BASE = "origin/main"
README_SECTION = 'see README "Rolling out a migration safely"'
# The old suite signs up, then creates a post titled "Hi": most changes to posts break it.
CREATES_A_POST = "tests/test_posts.py::test_create_a_post_owned_by_the_caller"
POST_CONTENT = "    content: Mapped[str] = mapped_column(Text)\n"


@dataclass(frozen=True)
class Revision:
    id: str
    slug: str
    upgrade: str
    downgrade: str


@dataclass(frozen=True)
class Change:
    """A pull request: revisions, in order, and what it does to the model (a line replaced)."""

    branch: str
    revisions: tuple[Revision, ...]
    model: tuple[str, str] | None = None


# With a data step, which the check names: its new database has no rows to change.
NULLABLE_COLUMN = Change(
    "nullable-column",
    (Revision("3c5e7a9b1d20", "add_posts_summary",
              '    op.add_column("posts", sa.Column("summary", sa.Text(), nullable=True))',
              '    op.drop_column("posts", "summary")'),
     Revision("3c5e7a9b1d21", "fill_posts_summary",
              '    op.execute("UPDATE posts SET summary = title WHERE summary IS NULL")',
              "    pass")),
    (POST_CONTENT, POST_CONTENT + "    summary: Mapped[str | None] = mapped_column(Text)\n"),
)  # fmt: skip
DROPPED_COLUMN = Change(
    "dropped-column",
    (Revision("4d6f8b0c2e31", "drop_posts_content",
              '    op.drop_column("posts", "content")',
              '    op.add_column("posts", sa.Column("content", sa.Text(), nullable=True))'),),
)  # fmt: skip
# The new code keeps its attribute and maps it to the new name: were the new code imported
# instead of the old, every test would pass.
RENAMED_COLUMN = Change(
    "renamed-column",
    (Revision("5e7a9c1d3f42", "rename_posts_content_to_body",
              '    op.alter_column("posts", "content", new_column_name="body")',
              '    op.alter_column("posts", "body", new_column_name="content")'),),
    (POST_CONTENT, '    content: Mapped[str] = mapped_column("body", Text)\n'),
)  # fmt: skip
REQUIRED_COLUMN = Change(
    "required-column",
    (Revision("6f8b0d2e4a53", "add_posts_summary_not_null",
              '    op.add_column("posts", sa.Column("summary", sa.Text(), nullable=False))',
              '    op.drop_column("posts", "summary")'),),
    (POST_CONTENT, POST_CONTENT + "    summary: Mapped[str] = mapped_column(Text)\n"),
)  # fmt: skip
# squawk's way: added NOT VALID (no scan under the lock), validated in a transaction of its
# own (a scan that blocks no writes).
CHECK_CONSTRAINT = Change(
    "check-constraint",
    (Revision("7a9c1e3f5b64", "add_posts_title_length_check",
              "    op.execute(\n"
              '        "ALTER TABLE posts ADD CONSTRAINT ck_posts_title_length"\n'
              '        " CHECK (char_length(title) >= 3) NOT VALID"\n'
              "    )",
              '    op.drop_constraint("ck_posts_title_length", "posts", type_="check")'),
     Revision("8b0d2f4a6c75", "validate_posts_title_length_check",
              '    op.execute("ALTER TABLE posts VALIDATE CONSTRAINT ck_posts_title_length")',
              "    pass")),
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def figure(self, case: str) -> str:
        """What the case printed last and how long it took, for the run's summary."""
        last = (self.stderr or self.stdout).strip().splitlines()[-1]
        return (
            f"check_compatibility, {case}: exit {self.returncode} in {self.seconds:.1f} s: {last}"
        )


@pytest.fixture(scope="module")
def project(bake_shared: Bake) -> BakedProject:
    """A PostgreSQL bake, installed, committed on `main` and pushed to an `origin`."""
    project = bake_shared(database="postgresql")
    project.sync()
    git(project.path, "init", "--quiet", "-b", "main")
    git(project.path, "add", "-A")
    git(project.path, "commit", "--quiet", "-m", "Bake")
    origin = project.path.parent / f"{project.path.name}-origin.git"
    git(project.path.parent, "clone", "--quiet", "--bare", str(project.path), str(origin))
    git(project.path, "remote", "add", "origin", str(origin))
    git(project.path, "fetch", "--quiet", "origin")
    return project


@pytest.fixture
def pull_request(project: BakedProject) -> Iterator[Callable[[Change], None]]:
    """Open a branch off main holding a change, committed; main is checked out afterwards."""

    def open_branch(change: Change) -> None:
        git(project.path, "checkout", "--quiet", "-b", change.branch, "main")
        down_revision = HEAD
        for minute, revision in enumerate(change.revisions):
            write_revision(project, revision, down_revision, minute)
            down_revision = revision.id
        if change.model:
            models = project.read("app/models.py")
            assert change.model[0] in models
            (project.path / "app" / "models.py").write_text(
                models.replace(*change.model), encoding="utf-8"
            )
        project.run("uv", "run", "--no-sync", "python", "-m", "scripts.record_head")
        assert project.read("alembic/head.txt") == f"{down_revision}\n"
        git(project.path, "add", "-A")
        git(project.path, "commit", "--quiet", "-m", change.branch)

    yield open_branch
    git(project.path, "checkout", "--quiet", "--force", "main")
    git(project.path, "clean", "--quiet", "--force", "-d")  # keeps the git-ignored .venv


def write_revision(project: BakedProject, revision: Revision, down: str, minute: int) -> None:
    message = revision.slug.replace("_", " ").capitalize() + "."
    functions = (
        f"def upgrade() -> None:\n{revision.upgrade}\n\n\n"
        f"def downgrade() -> None:\n{revision.downgrade}\n"
    )
    source = revision_file(revision.id, down, message, functions)
    name = f"2026_12_01_10{minute:02}_{revision.id}_{revision.slug}.py"
    (project.path / "alembic" / "versions" / name).write_text(source, encoding="utf-8")


@pytest.fixture
def temp_dir() -> Iterator[Path]:
    """The TMPDIR of the check, to see what it leaves; a throwaway server's user, not
    root, must reach its data directory there."""
    directory = Path(tempfile.mkdtemp(prefix="compatibility-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def check(
    project: BakedProject, temp_dir: Path, test_database: Database | None, *, base: str = BASE
) -> Outcome:
    """Run the check as the README says, on `test_database` or on a throwaway server; then
    see that it left nothing behind."""
    env = check_environment(project, temp_dir, test_database)
    databases_before = server_databases(test_database) if test_database else set()
    started = time.monotonic()
    result = subprocess.run(
        [*COMMAND, "--base", base], cwd=project.path, env=env, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    assert_nothing_left(project, temp_dir, test_database, databases_before)
    return Outcome(result.returncode, result.stdout, result.stderr, seconds)


def check_environment(
    project: BakedProject, temp_dir: Path, test_database: Database | None
) -> dict[str, str]:
    env = project.environ({"TMPDIR": str(temp_dir)})
    env.pop("TEST_DATABASE_URL", None)
    if test_database:
        env["TEST_DATABASE_URL"] = test_database.url
    return env


def assert_nothing_left(
    project: BakedProject, temp_dir: Path, test_database: Database | None, databases: set[str]
) -> None:
    """No files, worktree, change in the tree, or database left by the check."""
    assert left_in(temp_dir) == []
    assert len(git(project.path, "worktree", "list").stdout.splitlines()) == 1
    assert git(project.path, "status", "--porcelain").stdout == ""
    if test_database:
        # A database of its own beside the one named, dropped; the one named stays empty.
        assert server_databases(test_database) == databases
        tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        assert test_database.psql(tables) == "0"


def left_in(temp_dir: Path) -> list[Path]:
    """What is left in the check's TMPDIR, but for the lock files of uv itself."""
    return [path for path in temp_dir.iterdir() if not path.name.startswith("uv-")]


def server_databases(database: Database) -> set[str]:
    return set(database.psql("SELECT datname FROM pg_database").split())


def assert_breaks(outcome: Outcome, *tests: str) -> None:
    """Exit 1, and one line on stderr naming the failing tests and pointing to the README."""
    assert outcome.returncode == 1, outcome.stderr
    [line] = outcome.stderr.splitlines()
    assert line.startswith("check_compatibility: "), line
    assert re.search(rf"\d+ tests? of {BASE} fails? on this tree's schema", line), line
    for test in tests:
        assert test in line
    assert README_SECTION in line
    assert "expand now" in line
    assert "contract" in line


def test_a_nullable_column_keeps_the_old_code_working(
    project: BakedProject, pull_request: Callable[[Change], None], temp_dir: Path,
    new_database: Callable[[], Database],
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    pull_request(NULLABLE_COLUMN)
    outcome = check(project, temp_dir, new_database())
    record_property("figure", outcome.figure("a nullable column (TEST_DATABASE_URL)"))
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    [unseen, verdict] = outcome.stdout.splitlines()
    assert re.fullmatch(
        rf"check_compatibility: all \d+ tests of {BASE} pass on this tree's schema", verdict
    )
    assert "not seen by these tests" in unseen
    assert "_3c5e7a9b1d21_fill_posts_summary.py:" in unseen
    assert "(UPDATE posts SET summary = title" in unseen
    assert "add_posts_summary" not in unseen
    assert outcome.stderr == ""


def test_dropping_a_column_the_old_code_reads_breaks_it(
    project: BakedProject, pull_request: Callable[[Change], None], temp_dir: Path,
    new_database: Callable[[], Database],
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    pull_request(DROPPED_COLUMN)
    outcome = check(project, temp_dir, new_database())
    record_property("figure", outcome.figure("a dropped column (TEST_DATABASE_URL)"))
    assert_breaks(outcome, CREATES_A_POST, "tests/test_posts.py::test_read_a_post")
    # What broke, a line per failing test, above the verdict.
    assert "content" in outcome.stdout
    assert "does not exist" in outcome.stdout


def test_renaming_a_column_the_old_code_reads_breaks_it(
    project: BakedProject, pull_request: Callable[[Change], None], temp_dir: Path,
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    """On a throwaway server of the check's own, as without TEST_DATABASE_URL."""
    if postgres_server.find_bindir() is None:
        pytest.skip("PostgreSQL's server binaries are not installed")
    pull_request(RENAMED_COLUMN)
    outcome = check(project, temp_dir, None)
    record_property("figure", outcome.figure("a renamed column (throwaway server)"))
    assert_breaks(outcome, CREATES_A_POST)


def test_a_required_column_without_default_breaks_the_old_inserts(
    project: BakedProject, pull_request: Callable[[Change], None], temp_dir: Path,
    new_database: Callable[[], Database],
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    pull_request(REQUIRED_COLUMN)
    outcome = check(project, temp_dir, new_database())
    record_property(
        "figure", outcome.figure("a NOT NULL column without default (TEST_DATABASE_URL)")
    )
    assert_breaks(outcome, CREATES_A_POST)
    assert 'null value in column "summary"' in outcome.stdout


def test_a_check_constraint_the_old_writes_violate_breaks_them(
    project: BakedProject, pull_request: Callable[[Change], None], temp_dir: Path,
    new_database: Callable[[], Database],
    record_property: Callable[[str, object], None],
) -> None:  # fmt: skip
    pull_request(CHECK_CONSTRAINT)
    # squawk approves of the revision: it is the meaning that breaks the release.
    lint = ("uv", "run", "--no-sync", "python", "scripts/lint_migrations.py", "--since", "main")
    project.run(*lint)
    outcome = check(project, temp_dir, new_database())
    record_property("figure", outcome.figure("a CHECK the old writes violate (TEST_DATABASE_URL)"))
    assert_breaks(outcome, CREATES_A_POST)
    assert "ck_posts_title_length" in outcome.stdout


def test_an_interrupted_check_leaves_nothing_behind(
    project: BakedProject, temp_dir: Path, new_database: Callable[[], Database]
) -> None:
    """Ctrl-C while the base's tests run: the whole process group gets SIGINT, as from a
    terminal (and `uv run` passes it on once more)."""
    database = new_database()
    databases_before = server_databases(database)
    process = subprocess.Popen(
        [*COMMAND, "--base", BASE], cwd=project.path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
        env=check_environment(project, temp_dir, database),
    )  # fmt: skip
    # The check's results file appears with the first test of the base that ends.
    wait_until(lambda: any(temp_dir.glob("*/results.txt")), 60, "the base's tests to run")
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.splitlines() == ["check_compatibility: interrupted"]
    assert_nothing_left(project, temp_dir, database, databases_before)


@pytest.mark.parametrize(
    ("base", "git_dir", "says"),
    [("origin/no-such-branch", None, "unknown git ref 'origin/no-such-branch'"),
     (BASE, "/nonexistent", "not a git repository")],
    ids=["unknown-ref", "not-a-git-repository"],
)  # fmt: skip
def test_a_check_that_cannot_run_says_why_in_one_line(
    project: BakedProject, temp_dir: Path, base: str, git_dir: str | None, says: str
) -> None:
    env = project.environ({"TMPDIR": str(temp_dir), **({"GIT_DIR": git_dir} if git_dir else {})})
    result = subprocess.run(
        [*COMMAND, "--base", base], cwd=project.path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("check_compatibility: "), line
    assert says in line, line
    assert left_in(temp_dir) == []


def test_the_readme_and_the_ci_run_the_command_tested_here(project: BakedProject) -> None:
    readme = project.read("README.md")
    # The failure line's pointer leads to the section, which holds this one.
    rollout = readme.split("### Rolling out a migration safely")[1].split("\n## ")[0]
    section = rollout.split("### The old code on the new schema")[1]
    assert README_COMMAND in section
    assert README_COMMAND.replace("uv run", "uv run --no-sync") == " ".join(
        [*COMMAND, "--base", BASE]
    )
    workflow = yaml.safe_load(project.read(".github/workflows/ci.yml"))
    [job] = workflow["jobs"].values()
    [step] = [s for s in job["steps"] if "check_compatibility.py" in s.get("run", "")]
    assert step["if"] == "github.event_name == 'pull_request'"
    assert step["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    assert (
        step["run"].strip()
        == 'uv run python scripts/check_compatibility.py --base "origin/$BASE_REF"'
    )
