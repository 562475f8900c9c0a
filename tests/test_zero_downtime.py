"""Releases under live traffic: migrations on a busy database, and replicas stopped mid-load.

All parts are real: the baked project served by uvicorn on loopback, its own `alembic`
command, the shared throwaway PostgreSQL (hostile password), and psql sessions that hold
locks the way a long report or a session left idle in a transaction does.
"""

import asyncio
import http.client
import itertools
import math
import re
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import (
    HEAD,
    Bake,
    BakedProject,
    Database,
    database_of,
    migrated_project,
    revision_file,
    wait_until,
)
from tests.service import (
    Service,
    assert_clean,
    graceful_timeout,
    image_command,
    serve,
    signal_group,
    start_process_group,
)
from tests.traffic import (
    USER_PASSWORD,
    Account,
    Load,
    connection,
    drive_load,
)

# The template's defaults, which these tests hold it to.
LOCK_TIMEOUT = 0.5
# How much longer than one lock-timeout attempt a read may take: the read itself, and a
# machine busy with the other tests.
READ_MARGIN = 0.5
BLOCKER_APPLICATION = "nightly report"
TAGS_REVISION = "5e7c0a1d2b93"  # creates a table: locks nothing anyone uses
SUMMARY_REVISION = "9a3f6e2c1b74"  # adds a column to posts: waits for its readers
EXPAND_REVISION = "c4d8e1f5a2b6"  # the README's expand step


TAGS = revision_file(
    TAGS_REVISION,
    HEAD,
    "Add tags.",
    """def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tags")
""",
)
SUMMARY = revision_file(
    SUMMARY_REVISION,
    TAGS_REVISION,
    "Add a summary to posts.",
    """
def upgrade() -> None:
    op.add_column("posts", sa.Column("summary", sa.Text()))


def downgrade() -> None:
    op.drop_column("posts", "summary")
""".lstrip(),
)


@pytest.fixture(scope="module")
def project(bake_shared: Bake, postgres_server_url: str) -> Iterator[BakedProject]:
    with migrated_project(bake_shared, postgres_server_url) as project:
        yield project


@pytest.fixture(scope="module")
def post_id(service: Service, accounts: list[Account]) -> int:
    body = {"title": "read me", "content": "while the schema changes"}
    with httpx.Client(base_url=service.base_url, timeout=30) as client:
        response = client.post("/posts/", json=body, headers=accounts[0].headers)
    assert response.status_code == 201, response.text
    post: int = response.json()["id"]
    return post


@pytest.fixture
def add_revisions(project: BakedProject) -> Iterator[Callable[..., None]]:
    """Add revision files to the project for one test; afterwards the database goes back to
    the initial revision and the files go."""
    versions = project.path / "alembic" / "versions"
    added: list[Path] = []

    def add(*sources: str) -> None:
        for source in sources:
            revision = re.search(r'^revision: str = "(\w+)"', source, re.MULTILINE)
            assert revision is not None
            path = versions / f"2026_12_01_{len(added):04d}_{revision.group(1)}_test.py"
            path.write_text(source, encoding="utf-8")
            added.append(path)

    yield add
    project.alembic("downgrade", HEAD)
    for path in added:
        path.unlink()


def schema_state(db: Database) -> str:
    return db.psql(
        "SELECT (SELECT string_agg(version_num, ',') FROM alembic_version)"
        " || ' tags=' || (to_regclass('public.tags') IS NOT NULL)"
        " || ' summary=' || EXISTS (SELECT FROM information_schema.columns"
        "   WHERE table_name = 'posts' AND column_name = 'summary')"
    )


@contextmanager
def reading_posts_in_a_transaction(
    db: Database, query: str = "SELECT count(*) FROM posts"
) -> Iterator[int]:
    """A session that has read `posts` in a transaction it keeps open, as a long report
    would, until the block ends (or it is terminated); yields its pid."""
    holder = subprocess.Popen(
        ["psql", db.url, "-X", "-q"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert holder.stdin is not None
    try:
        holder.stdin.write(f"SET application_name = '{BLOCKER_APPLICATION}';\nBEGIN;\n{query};\n")
        holder.stdin.flush()
        holding = (
            "SELECT pid FROM pg_locks JOIN pg_stat_activity USING (pid)"
            f" WHERE relation = 'posts'::regclass AND granted"
            f" AND application_name = '{BLOCKER_APPLICATION}'"
        )
        wait_until(lambda: db.psql(holding) != "", 30, "the blocker's lock on posts")
        yield int(db.psql(holding))
    finally:
        holder.stdin.close()  # psql exits, and its transaction ends
        holder.wait(timeout=10)


def named_in(db: Database, blocker: int) -> str:
    """How a retry line names the blocker: pid, user and application, always visible."""
    user = db.settings["DATABASE_USERNAME"]
    return f'pid {blocker} (user {user}, application "{BLOCKER_APPLICATION}"'


@dataclass
class Reads:
    """What readers of `GET /posts/{id}` got while a migration ran."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.latencies)} reads, slowest {max(self.latencies) * 1000:.0f} ms, "
            f"{len(self.failures)} failed"
        )


@dataclass(frozen=True)
class Migration:
    returncode: int
    output: str  # what it printed, as a terminal shows it
    reads: Reads

    @property
    def retries(self) -> list[str]:
        return [line for line in self.output.splitlines() if "no lock within" in line]


async def read_post(base_url: str, account: Account, post_id: int, reads: Reads) -> None:
    async with connection(base_url, 30) as client:
        while True:
            sent = time.monotonic()
            try:
                response = await client.get(f"/posts/{post_id}", headers=account.headers)
            except httpx.HTTPError as error:
                reads.failures.append(repr(error))
                continue
            reads.latencies.append(time.monotonic() - sent)
            if response.status_code != 200:
                reads.failures.append(f"{response.status_code} {response.text}")
            await asyncio.sleep(0.01)


async def upgrade_head(
    project: BakedProject,
    env: dict[str, str] | None,
    on_line: Callable[[str], Awaitable[None]] | None,
) -> tuple[int, str]:
    """Run the project's `alembic upgrade head`, handing each line it prints to `on_line`
    as it comes; its exit code and its output, as a terminal shows it."""
    process = await asyncio.create_subprocess_exec(
        "uv", "run", "--no-sync", "alembic", "upgrade", "head",
        cwd=project.path, env=project.environ(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    lines = []
    async for raw in process.stdout:
        lines.append(raw.decode())
        if on_line is not None:
            await on_line(lines[-1])
    return await asyncio.wait_for(process.wait(), 30), "".join(lines)


async def upgrade_while_reading(
    project: BakedProject,
    service: Service,
    account: Account,
    post_id: int,
    on_line: Callable[[str], Awaitable[None]] | None = None,
    env: dict[str, str] | None = None,
) -> Migration:
    """Run `alembic upgrade head` while four clients read a post through the API."""
    reads = Reads()
    readers = [
        asyncio.create_task(read_post(service.base_url, account, post_id, reads)) for _ in range(4)
    ]
    await asyncio.sleep(0.3)
    returncode, output = await upgrade_head(project, env, on_line)
    await asyncio.sleep(0.3)  # reads after the migration, on the new schema
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return Migration(returncode, output, reads)


def assert_reads_never_stalled(reads: Reads) -> None:
    assert not reads.failures, reads.failures[:10]
    assert reads.latencies
    assert max(reads.latencies) < LOCK_TIMEOUT + READ_MARGIN, reads.summary()


# A migration blocked by a long transaction -----------------------------------------------


def test_a_blocked_migration_retries_without_stalling_reads_and_completes_once_freed(
    project: BakedProject,
    service: Service,
    accounts: list[Account],
    post_id: int,
    add_revisions: Callable[..., None],
    record_property: Callable[[str, object], None],
) -> None:
    add_revisions(TAGS, SUMMARY)
    db = database_of(project)
    terminated: list[int] = []

    async def end_blocker_after_two_retries(line: str) -> None:
        # As the README says to: the pid the retry line names, ended by pg_terminate_backend.
        if "no lock within" in line and "(attempt 2)" in line:
            match = re.search(r"blocked by pid (\d+)", line)
            assert match is not None, line
            terminated.append(int(match.group(1)))
            db.psql(f"SELECT pg_terminate_backend({terminated[0]})")

    with reading_posts_in_a_transaction(db) as blocker:
        migration = asyncio.run(
            upgrade_while_reading(
                project, service, accounts[0], post_id, end_blocker_after_two_retries
            )
        )
    record_property("figure", f"blocked migration: {migration.reads.summary()}")

    assert migration.returncode == 0, migration.output
    assert terminated == [blocker]
    assert len(migration.retries) == 2, migration.output
    first = migration.retries[0]
    assert f"upgrade {TAGS_REVISION} -> {SUMMARY_REVISION}: no lock within 0.5 s" in first
    assert named_in(db, blocker) in first
    assert "idle in transaction" in first
    assert "query 'SELECT count(*) FROM posts;'" in first
    # The first revision was applied once; the blocked one ran again from its start.
    assert migration.output.count(f"Running upgrade {HEAD} -> {TAGS_REVISION}") == 1
    assert migration.output.count(f"Running upgrade {TAGS_REVISION} -> {SUMMARY_REVISION}") == 3
    assert schema_state(db) == f"{SUMMARY_REVISION} tags=true summary=true"
    assert_reads_never_stalled(migration.reads)


def test_a_migration_blocked_past_its_window_gives_up_naming_the_blocker(
    project: BakedProject,
    service: Service,
    accounts: list[Account],
    post_id: int,
    add_revisions: Callable[..., None],
) -> None:
    add_revisions(TAGS, SUMMARY)
    db = database_of(project)
    with reading_posts_in_a_transaction(db) as blocker:
        migration = asyncio.run(
            upgrade_while_reading(
                project, service, accounts[0], post_id, env={"MIGRATION_RETRY_WINDOW": "3"}
            )
        )
    assert migration.returncode != 0
    last_line = migration.output.strip().splitlines()[-1]
    assert last_line.startswith(
        f"FAILED: upgrade {TAGS_REVISION} -> {SUMMARY_REVISION} gave up after 3 attempts"
    )
    assert named_in(db, blocker) in last_line
    assert f"the database stays at {TAGS_REVISION}" in last_line
    assert "Traceback" not in migration.output
    assert len(migration.retries) == 2, migration.output
    # The revision before the blocked one stays applied.
    assert schema_state(db) == f"{TAGS_REVISION} tags=true summary=false"
    assert_reads_never_stalled(migration.reads)


def test_an_unblocked_migration_runs_at_once(
    project: BakedProject,
    service: Service,
    accounts: list[Account],
    post_id: int,
    add_revisions: Callable[..., None],
) -> None:
    add_revisions(TAGS, SUMMARY)
    migration = asyncio.run(upgrade_while_reading(project, service, accounts[0], post_id))
    assert migration.returncode == 0, migration.output
    assert migration.retries == []
    assert schema_state(database_of(project)) == f"{SUMMARY_REVISION} tags=true summary=true"
    assert_reads_never_stalled(migration.reads)


def test_a_migration_killed_midway_leaves_the_previous_revision(
    project: BakedProject, add_revisions: Callable[..., None]
) -> None:
    add_revisions(TAGS, SUMMARY)
    db = database_of(project)
    with reading_posts_in_a_transaction(db):
        upgrade = start_process_group(
            ["uv", "run", "--no-sync", "alembic", "upgrade", "head"],
            project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            waiting = "SELECT count(*) FROM pg_locks WHERE relation = 'posts'::regclass"
            wait_until(lambda: db.psql(f"{waiting} AND NOT granted") == "1", 30, "a waiting ALTER")
        finally:
            signal_group(upgrade, signal.SIGKILL)
        _, stderr = upgrade.communicate(timeout=10)
    assert upgrade.returncode == -signal.SIGKILL
    assert f"Running upgrade {TAGS_REVISION} -> {SUMMARY_REVISION}" in stderr
    # The killed migration's session goes once it notices its client is gone.
    alter = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE posts%'"
    wait_until(lambda: db.psql(f"{alter} AND pid <> pg_backend_pid()") == "0", 30, "cleanup")
    assert schema_state(db) == f"{TAGS_REVISION} tags=true summary=false"

    project.alembic("upgrade", "head")
    assert schema_state(db) == f"{SUMMARY_REVISION} tags=true summary=true"


# The expand step of a release, under load ------------------------------------------------

EXPAND_CLIENTS = 32


def readme_expand_step(project: BakedProject) -> str:
    """The README's example of a new column and its index."""
    return project.readme_python("Rolling out a migration safely")[0]


async def upgrade_under_load(
    project: BakedProject,
    service: Service,
    accounts: list[Account],
    *,
    env: dict[str, str] | None = None,
    on_line: Callable[[str], Awaitable[None]] | None = None,
) -> tuple[int, str, Load]:
    """Run `alembic upgrade head` while EXPAND_CLIENTS clients read and write through the
    API (and a second longer); its exit code, what it logged, and what the clients got."""
    migrated = asyncio.Event()
    load = asyncio.create_task(
        drive_load(service.base_url, accounts, clients=EXPAND_CLIENTS, seconds=180, stop=migrated)
    )
    await asyncio.sleep(1.5)
    returncode, output = await upgrade_head(project, env, on_line)
    assert not load.done(), "the load ended before the migration did"
    await asyncio.sleep(1)  # and a little traffic on the new schema
    migrated.set()
    return returncode, output, await load


def test_the_expand_step_runs_under_load_without_a_failed_request(
    project: BakedProject,
    service: Service,
    accounts: list[Account],
    add_revisions: Callable[..., None],
    record_property: Callable[[str, object], None],
) -> None:
    functions = readme_expand_step(project)
    assert "postgresql_concurrently=True" in functions
    assert "autocommit_block()" in functions
    assert "op.add_column(" in functions
    add_revisions(revision_file(EXPAND_REVISION, HEAD, "Expand.", functions))
    # The pattern passes the lint CI runs on new revisions.
    project.run("uv", "run", "--no-sync", "python", "scripts/lint_migrations.py", EXPAND_REVISION)

    returncode, output, load = asyncio.run(upgrade_under_load(project, service, accounts))
    record_property("figure", f"expand step under load: {load.summary()}")
    assert returncode == 0, output
    assert f"Running upgrade {HEAD} -> {EXPAND_REVISION}" in output
    assert not load.failures, load.failures[:10]
    db = database_of(project)
    assert (
        db.psql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_posts_edited_at'::regclass")
        == "t"
    )


# A member added to an enum type, under load ---------------------------------------------

VISIBILITY_REVISION = "f7a8b9c0d1e2"
PRIVATE_REVISION = "a8b9c0d1e2f3"
# As autogenerate writes them (test_enums): a new enum column, then a member appended.
VISIBILITY = revision_file(
    VISIBILITY_REVISION,
    HEAD,
    "Add post visibility.",
    """def upgrade() -> None:
    sa.Enum("public", "followers", name="visibility").create(op.get_bind())
    op.add_column(
        "posts",
        sa.Column(
            "visibility",
            postgresql.ENUM("public", "followers", name="visibility", create_type=False),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("posts", "visibility")
    sa.Enum("public", "followers", name="visibility").drop(op.get_bind())
""",
    imports="from sqlalchemy.dialects import postgresql\n",
)
PRIVATE = revision_file(
    PRIVATE_REVISION,
    VISIBILITY_REVISION,
    "Add private visibility.",
    """def upgrade() -> None:
    op.add_enum_value(enum_schema="public", enum_name="visibility", new_value="private")


def downgrade() -> None:
    op.sync_enum_values(
        enum_schema="public",
        enum_name="visibility",
        new_values=["public", "followers"],
        affected_columns=[
            TableReference(table_schema="public", table_name="posts", column_name="visibility")
        ],
        enum_values_to_rename=[],
    )
""",
    imports="from alembic_postgresql_enum import TableReference\n",
)


def test_a_member_is_added_to_an_enum_at_once_beside_a_long_transaction_under_load(
    project: BakedProject,
    service: Service,
    accounts: list[Account],
    add_revisions: Callable[..., None],
    record_property: Callable[[str, object], None],
) -> None:
    add_revisions(VISIBILITY, PRIVATE)
    project.alembic("upgrade", VISIBILITY_REVISION)
    db = database_of(project)
    db.psql("UPDATE posts SET visibility = 'public' WHERE id % 2 = 0")
    reading_the_type = "SELECT count(*) FROM posts WHERE visibility = 'public'"
    with reading_posts_in_a_transaction(db, reading_the_type) as blocker:
        returncode, output, load = asyncio.run(upgrade_under_load(project, service, accounts))
        blocker_still_open = db.psql(f"SELECT state FROM pg_stat_activity WHERE pid = {blocker}")
    record_property("figure", f"enum member added under load: {load.summary()}")
    assert returncode == 0, output
    assert f"Running upgrade {VISIBILITY_REVISION} -> {PRIVATE_REVISION}" in output
    # It waited for no one: no retry, and the long transaction was still open when it ended.
    assert "no lock within" not in output
    assert blocker_still_open == "idle in transaction"
    assert not load.failures, load.failures[:10]
    assert db.psql("SELECT enum_range(NULL::visibility)") == "{public,followers,private}"


# A backfill on a big table, under load -----------------------------------------------------

BACKFILL_POSTS = 120_000
ADD_COLUMN_REVISION = "d5e6f7a8b9c0"  # the README's first backfill revision
BACKFILL_REVISION = "e6f7a8b9c0d1"  # and its second: fill, then NOT NULL
# Shorter than the backfill takes, so the retry that follows proves the window counts only
# time spent waiting; long enough for the one retry the blocker causes.
SHORT_WINDOW = 1.0


# The service's queries waiting for a lock, and for how long so far. The migration's own
# statements and the blocker's are not the service's.
LOCK_WAITS = f"""
SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start)), 0)
FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND backend_type = 'client backend'
  AND application_name <> '{BLOCKER_APPLICATION}'
  AND query !~* '^\\s*(ALTER TABLE|UPDATE posts SET updated_at)'
"""


@contextmanager
def watching_lock_waits(db: Database) -> Iterator[list[float]]:
    """Sample, from the database, how long the service's queries wait for locks while the
    block runs (a request's latency also holds its time queued for a busy CPU); the list
    yielded holds the longest wait seen."""
    longest = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            longest[0] = max(longest[0], float(db.psql(LOCK_WAITS)))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield longest
    finally:
        stop.set()
        sampler.join()


def readme_backfill(project: BakedProject) -> list[str]:
    """The README's two backfill revisions' functions, and its test of them."""
    return project.readme_python("Backfilling a column on a big, busy table")


def test_the_readme_backfill_runs_under_load_and_is_retried_past_a_blocker(
    project: BakedProject,
    service: Service,
    accounts: list[Account],
    add_revisions: Callable[..., None],
    record_property: Callable[[str, object], None],
) -> None:
    add_column, backfill, _ = readme_backfill(project)
    add_revisions(
        revision_file(ADD_COLUMN_REVISION, HEAD, "Add updated_at.", add_column),
        revision_file(BACKFILL_REVISION, ADD_COLUMN_REVISION, "Require updated_at.", backfill),
    )
    project.run(
        "uv", "run", "--no-sync", "python", "scripts/lint_migrations.py",
        ADD_COLUMN_REVISION, BACKFILL_REVISION,
    )  # fmt: skip
    db = database_of(project)
    db.psql(
        "INSERT INTO posts (title, content, owner_id) SELECT 'old post ' || n, 'written before',"
        f" (SELECT min(id) FROM users) FROM generate_series(1, {BACKFILL_POSTS}) AS n"
    )
    # Autovacuum, woken by the backfill's updates, would be one more lock holder in the
    # way of the one retry the short window allows; it is not what this test is about.
    db.psql("ALTER TABLE posts SET (autovacuum_enabled = false)")
    blocker = ExitStack()
    retries: list[tuple[float, str]] = []
    backfill_started: list[float] = []

    async def block_the_backfill_then_end_the_blocker(line: str) -> None:
        # The retry logs the same "Running upgrade" line: block only the first attempt.
        if f"Running upgrade {ADD_COLUMN_REVISION} -> {BACKFILL_REVISION}" in line:
            if backfill_started:
                return
            backfill_started.append(time.monotonic())
            # Reads posts in a transaction it keeps open: NOT NULL must wait for it.
            await asyncio.to_thread(blocker.enter_context, reading_posts_in_a_transaction(db))
        elif "no lock within" in line:
            retries.append((time.monotonic(), line))
            await asyncio.to_thread(blocker.close)

    try:
        with watching_lock_waits(db) as longest_lock_wait:
            returncode, output, load = asyncio.run(
                upgrade_under_load(
                    project,
                    service,
                    accounts,
                    env={"MIGRATION_RETRY_WINDOW": str(SHORT_WINDOW)},
                    on_line=block_the_backfill_then_end_the_blocker,
                )
            )
    finally:
        blocker.close()
        db.psql("ALTER TABLE posts RESET (autovacuum_enabled)")
        db.psql("DELETE FROM posts WHERE content = 'written before'")
    [(retried, line)] = retries
    worked = retried - backfill_started[0]
    waited = f"longest lock wait of a request {longest_lock_wait[0] * 1000:.0f} ms"
    record_property(
        "figure",
        f"backfill of {BACKFILL_POSTS} posts under load: {load.summary()}; {waited};"
        f" blocked after {worked:.1f} s of work",
    )
    assert returncode == 0, output
    assert not load.failures, load.failures[:10]
    assert all(load.answered[operation] for operation in ("create", "update", "vote"))
    # Requests queued behind the blocked NOT NULL, and for no longer than one attempt.
    assert 0.1 < longest_lock_wait[0] < LOCK_TIMEOUT + READ_MARGIN, waited
    # Blocked once, after working longer than the whole window, and retried all the same.
    assert f"{ADD_COLUMN_REVISION} -> {BACKFILL_REVISION}: no lock within" in line, output
    assert worked > SHORT_WINDOW, output
    assert output.count(f"Running upgrade {ADD_COLUMN_REVISION} -> {BACKFILL_REVISION}") == 2
    # Required, filled everywhere, and the helper check gone.
    assert (
        db.psql(
            "SELECT is_nullable FROM information_schema.columns"
            " WHERE table_name = 'posts' AND column_name = 'updated_at'"
        )
        == "NO"
    )
    assert db.psql("SELECT count(*) FROM posts WHERE updated_at IS NULL") == "0"
    assert db.psql("SELECT count(*) FROM pg_constraint WHERE conrelid = 'posts'::regclass"
                   " AND contype = 'c'") == "0"  # fmt: skip


def test_the_readme_test_of_the_backfill_passes_on_its_revisions(
    project: BakedProject,
    add_revisions: Callable[..., None],
    new_database: Callable[[], Database],
) -> None:
    """Saved where the README says, with the two revisions' ids put in, as it asks."""
    add_column, backfill, test = readme_backfill(project)
    add_revisions(
        revision_file(ADD_COLUMN_REVISION, HEAD, "Add updated_at.", add_column),
        revision_file(BACKFILL_REVISION, ADD_COLUMN_REVISION, "Require updated_at.", backfill),
    )
    ids = f'"{HEAD}", "1a2b3c4d5e6f", "2b3c4d5e6f70"'
    assert ids in test
    path = project.path / "tests" / "test_backfill_updated_at.py"
    path.write_text(test.replace(ids, f'"{HEAD}", "{ADD_COLUMN_REVISION}", "{BACKFILL_REVISION}"'))
    try:
        # test_shipping lints and type-checks it.
        env = {"TEST_DATABASE_URL": new_database().url}
        result = project.run("uv", "run", "--no-sync", "pytest", "-p", "no:cacheprovider",
                             str(path), env=env)  # fmt: skip
        assert "1 passed" in result.stdout, result.stdout
    finally:
        path.unlink()


# A replica stopped under load ------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    what: str
    sent: float  # when its last byte was written to the socket; inf if it never was
    answered: float | None
    outcome: str  # the status code, or the error


@dataclass
class Rollout:
    """Requests sent to a replica around the SIGTERM it got, and how it exited."""

    requests: list[Request] = field(default_factory=list)
    signalled: float = math.inf
    exit_code: int | None = None
    seconds_to_exit: float = 0.0


def replica_calls(account: Account) -> list[tuple[str, dict[str, Any], int]]:
    """Slow (argon2) and quick requests, so that some are in flight at the signal."""
    form = {"username": account.email, "password": USER_PASSWORD}
    post = {"title": "written during a rollout", "content": "must be answered"}
    return [
        ("login", {"method": "POST", "url": "/login", "data": form}, 200),
        ("me", {"method": "GET", "url": "/users/me", "headers": account.headers}, 200),
        ("create", {"method": "POST", "url": "/posts/", "headers": account.headers,
                    "json": post}, 201),
    ]  # fmt: skip


class Written:
    """An httpcore trace hook noting when a request's last byte went out.

    That, not when the client began, is what decides whether the replica could have read
    it before the signal: bytes still unwritten when uvicorn closes an idle keep-alive
    connection were never accepted, and HTTP leaves retrying them to the client.
    """

    def __init__(self) -> None:
        self.at = math.inf

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            self.at = time.monotonic()


async def stop_under_load(replica: Service, accounts: list[Account], clients: int) -> Rollout:
    """Load the replica from `clients` clients, then send it SIGTERM and wait for its exit."""
    rollout = Rollout()

    async def client(number: int) -> None:
        calls = itertools.cycle(replica_calls(accounts[number % len(accounts)]))
        async with connection(replica.base_url, 30) as http:
            for what, call, expected in itertools.islice(calls, number, None):
                if rollout.exit_code is not None:
                    return
                written = Written()
                try:
                    response = await http.request(**call, extensions={"trace": written})
                except httpx.HTTPError as error:
                    rollout.requests.append(Request(what, written.at, None, type(error).__name__))
                    if time.monotonic() > rollout.signalled:
                        return  # the replica takes no more requests
                    continue
                outcome = str(response.status_code)
                if response.status_code != expected:
                    outcome += f" {response.text}"
                rollout.requests.append(Request(what, written.at, time.monotonic(), outcome))

    tasks = [asyncio.create_task(client(n)) for n in range(clients)]
    await asyncio.sleep(2)
    rollout.signalled = time.monotonic()
    signal_group(replica.process, signal.SIGTERM)
    rollout.exit_code = await asyncio.to_thread(replica.process.wait, 60)
    rollout.seconds_to_exit = time.monotonic() - rollout.signalled
    await asyncio.gather(*tasks)
    return rollout


ANSWERED = {"200", "201"}
# uvicorn closes each idle keep-alive connection the moment it starts shutting down (up to
# 0.1 s after the signal, when it next checks for one), without reading what has just
# arrived on it. A request written in the moments before that is refused as a closed
# connection, which HTTP leaves the client to retry; in Kubernetes the preStop pause
# keeps such requests from coming at all.
CLOSING_RACE = 0.1  # seconds before the signal


def test_a_replica_told_to_stop_finishes_every_request_it_accepted(
    project: BakedProject,
    accounts: list[Account],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    command = image_command(project)
    with serve(project, tmp_path / "uvicorn.log", command=command) as replica:
        rollout = asyncio.run(stop_under_load(replica, accounts, clients=16))
        log = replica.log()

    # uvicorn re-raises the signal once it has shut down, as programs should.
    assert rollout.exit_code in {0, -signal.SIGTERM}, log
    before = [r for r in rollout.requests if r.sent < rollout.signalled]
    in_flight = [r for r in before if r.answered is not None and r.answered > rollout.signalled]
    record_property(
        "figure",
        f"rollout: {len(in_flight)} requests in flight at SIGTERM, all answered;"
        f" exited after {rollout.seconds_to_exit:.1f} s",
    )
    assert in_flight, "no request was in flight at the signal"
    # Written before that race: the replica had them, and must answer every one.
    door_closing = rollout.signalled - CLOSING_RACE
    bad = [r for r in rollout.requests if r.sent < door_closing and r.outcome not in ANSWERED]
    assert not bad, f"requests written before the door closed that failed: {bad[:10]}"
    # Later ones find the door closing or closed: refused, never an error answer.
    late = [r for r in rollout.requests if r.sent >= door_closing and r.answered]
    assert all(r.outcome in ANSWERED for r in late), late[:10]
    assert rollout.seconds_to_exit < graceful_timeout(command) + 2
    assert "Application shutdown complete" in log
    assert_clean(log)


# The idle timeouts of the proxies most often in front (nginx's ingress, AWS's load
# balancers), and uvicorn's own default: a proxy reusing a connection uvicorn has just
# closed answers the request 502.
PROXY_IDLE_TIMEOUT = 60
UVICORN_KEEP_ALIVE_DEFAULT = 5


def test_the_image_keeps_idle_connections_open_longer_than_a_proxy_does(
    project: BakedProject, tmp_path: Path
) -> None:
    command = image_command(project)
    assert float(command[command.index("--timeout-keep-alive") + 1]) > PROXY_IDLE_TIMEOUT
    with serve(project, tmp_path / "uvicorn.log", command=command) as replica:
        address = urlsplit(replica.base_url)
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
        with closing(connection) as proxy:
            proxy.request("GET", "/health/live")
            proxy.getresponse().read()
            first_socket = proxy.sock
            time.sleep(UVICORN_KEEP_ALIVE_DEFAULT + 1)
            # Down the same connection, as a proxy's pool would: uvicorn has not closed it.
            proxy.request("GET", "/health/live")
            answer = proxy.getresponse()
            assert (answer.status, proxy.sock) == (200, first_socket)
