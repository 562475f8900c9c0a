"""The baked project's Alembic setup, driven with real `alembic` commands on real databases."""

import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from tests.conftest import (
    HEAD,
    INITIAL_REVISION,
    Bake,
    BakedProject,
    Database,
    database_of,
    git,
    revision_operations,
    wait_until,
)

# The seed's create_all made its tables, without the trigram index that came later.
CREATE_ALL = """
import asyncio

from app.database import engine
from app.models import Base

posts = Base.metadata.tables["posts"]
posts.indexes = {index for index in posts.indexes if index.name != "ix_posts_title_trgm"}


async def main() -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def pg_project(bake_shared: Bake) -> BakedProject:
    project = bake_shared(database="postgresql")
    project.sync()
    return project


@pytest.fixture
def pg(pg_project: BakedProject, new_database: Callable[[], Database]) -> BakedProject:
    """The shared PostgreSQL project, pointed at a new empty database."""
    pg_project.use_database(new_database())
    return pg_project


def test_upgrade_creates_the_schema_the_models_describe(pg: BakedProject) -> None:
    upgrade = pg.alembic("upgrade", "head")
    # The log says what ran, each thing once.
    assert upgrade.stderr.count("Context impl PostgresqlImpl.") == 1
    assert upgrade.stderr.count(f"Running upgrade  -> {INITIAL_REVISION}") == 1
    db = database_of(pg)
    columns = db.psql(
        "SELECT table_name, column_name, data_type, is_nullable, is_identity,"
        " coalesce(column_default, '') FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
        " ORDER BY table_name, ordinal_position"
    ).splitlines()
    tz = "timestamp with time zone"
    assert columns == [
        "posts|id|bigint|NO|YES|",
        "posts|title|text|NO|NO|",
        "posts|content|text|NO|NO|",
        "posts|published|boolean|NO|NO|true",
        f"posts|created_at|{tz}|NO|NO|now()",
        "posts|owner_id|bigint|NO|NO|",
        "users|id|bigint|NO|YES|",
        "users|email|text|NO|NO|",
        "users|password|text|NO|NO|",
        f"users|created_at|{tz}|NO|NO|now()",
        "votes|user_id|bigint|NO|NO|",
        "votes|post_id|bigint|NO|NO|",
    ]
    indexes = db.psql(
        "SELECT indexname || ' ' || regexp_replace(indexdef, '.* USING ', '') FROM pg_indexes"
        " WHERE schemaname = 'public' ORDER BY 1"
    ).splitlines()
    assert indexes == [
        "alembic_version_pkc btree (version_num)",
        "ix_posts_owner_id btree (owner_id)",
        "ix_posts_title_trgm gin (title gin_trgm_ops)",
        "ix_votes_post_id btree (post_id)",
        "pk_posts btree (id)",
        "pk_users btree (id)",
        "pk_votes btree (user_id, post_id)",
        "uq_users_email btree (email)",
    ]
    foreign_keys = db.psql(
        "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' ORDER BY 1"
    ).splitlines()
    assert foreign_keys == [
        "fk_posts_owner_id_users FOREIGN KEY (owner_id) REFERENCES users(id) ON DELETE CASCADE",
        "fk_votes_post_id_posts FOREIGN KEY (post_id) REFERENCES posts(id) ON DELETE CASCADE",
        "fk_votes_user_id_users FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
    ]
    assert db.psql("SELECT version_num FROM alembic_version") == HEAD


def test_check_finds_no_drift_after_upgrade(pg: BakedProject) -> None:
    pg.alembic("upgrade", "head")
    result = pg.alembic("check")
    assert "No new upgrade operations detected" in result.stdout
    # Said once, without Alembic's lines about its own plugins.
    assert "Context impl PostgresqlImpl" in result.stderr
    assert "autogenerate plugin" not in result.stderr


def test_downgrade_base_leaves_only_alembic_version_and_upgrade_restores(pg: BakedProject) -> None:
    db = database_of(pg)
    tables = (
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
        " WHERE schemaname = 'public'"
    )
    pg.alembic("upgrade", "head")
    pg.alembic("downgrade", "base")
    assert db.psql(tables) == "alembic_version"
    assert db.psql("SELECT count(*) FROM alembic_version") == "0"
    pg.alembic("upgrade", "head")
    assert db.psql(tables) == "alembic_version,posts,users,votes"


def test_database_url_wins_over_the_parts(pg: BakedProject) -> None:
    db = database_of(pg)
    env = {"DATABASE_URL": db.url, "DATABASE_HOSTNAME": "no-such-host.invalid"}
    pg.alembic("upgrade", "head", env=env)
    assert db.psql("SELECT version_num FROM alembic_version") == HEAD


def test_offline_sql_needs_no_database(pg_project: BakedProject) -> None:
    unreachable = {"DATABASE_HOSTNAME": "no-such-host.invalid", "DATABASE_PORT": "1"}
    result = pg_project.alembic("upgrade", "head", "--sql", env=unreachable)
    for statement in ("CREATE TABLE users", "CREATE TABLE posts", "CREATE TABLE votes",
                      "CREATE INDEX ix_votes_post_id ON votes (post_id)",
                      f"INSERT INTO alembic_version (version_num) VALUES ('{INITIAL_REVISION}')",
                      "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_posts_title_trgm ON posts",
                      f"UPDATE alembic_version SET version_num='{HEAD}'"):  # fmt: skip
        assert statement in result.stdout


def test_adopting_alembic_on_a_create_all_database(pg: BakedProject) -> None:
    """The seed's readers made their tables with create_all; the README's commands adopt them."""
    db = database_of(pg)
    pg.run("uv", "run", "--no-sync", "python", "-c", CREATE_ALL)
    assert "users" in db.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    readme = pg.read("README.md")
    adopt = readme.split("### Adopting Alembic on an existing database")[1].split("\n## ")[0]
    commands = re.findall(r"^uv run (alembic [^#\n]+?)\s*(?:#.*)?$", adopt, re.MULTILINE)
    assert [c.split()[1] for c in commands] == ["stamp", "upgrade", "check"]
    for command in commands:
        result = pg.alembic(*command.split()[1:])
    assert "No new upgrade operations detected" in result.stdout
    assert db.psql("SELECT version_num FROM alembic_version") == HEAD


def test_a_database_at_a_revision_the_code_lacks_gets_one_line_saying_what_to_do(
    pg: BakedProject,
) -> None:
    """A later release's revision (after a rollback), or another branch's."""
    db = database_of(pg)
    pg.alembic("upgrade", "head")
    db.psql("UPDATE alembic_version SET version_num = 'c0ffee000001'")
    assert_each_command_says_what_to_do(pg)
    assert db.psql("SELECT version_num FROM alembic_version") == "c0ffee000001"


def assert_each_command_says_what_to_do(project: BakedProject) -> None:
    """On a database at c0ffee000001: one line, instead of Alembic's "Can't locate"."""
    for command in (("upgrade", "head"), ("current",), ("check",)):
        result = project.alembic(*command, check=False)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert result.stdout.strip().splitlines()[-1] == (
            "FAILED: the database is at c0ffee000001, a revision this code does not have"
            " (a later release's, or another branch's): run this with the code that has it,"
            " or downgrade from there to a revision this code has"
        )


def test_a_new_pod_waits_for_its_head_and_not_for_a_later_one(
    pg: BakedProject, tmp_path: Path
) -> None:
    """The Kubernetes init container's command: behind this code's head it waits, saying
    why, until the migration has run; past it (a rollback, or a pod of the release before
    restarted during a rollout) it lets the pod start at once."""
    db = database_of(pg)
    pg.alembic("upgrade", INITIAL_REVISION)
    log = tmp_path / "wait.log"
    waiting = in_background(["uv", "run", "--no-sync", "python", "-m", "app.schema_revision"],
                            pg, log)  # fmt: skip
    try:
        wait_until(lambda: "waiting:" in log.read_text(), 20, "the wait to say why")
        time.sleep(1)
        assert waiting.poll() is None, log.read_text()
        pg.alembic("upgrade", "head")
        assert waiting.wait(timeout=20) == 0
    finally:
        waiting.kill()
    lines = log.read_text().splitlines()
    assert any(
        f"waiting: the database is at {INITIAL_REVISION}, before this code's head {HEAD}" in line
        for line in lines
    ), lines
    assert "ready: the database is at this code's head" in lines[-1]
    assert sum("waiting:" in line for line in lines) == 1  # said once, not every 3 s

    later = "c0ffee000001"
    db.psql(f"UPDATE alembic_version SET version_num = '{later}'")
    ready = pg.run("uv", "run", "--no-sync", "python", "-m", "app.schema_revision")
    assert f"ready: the database is at {later}, a later release's" in ready.stderr
    assert "waiting" not in ready.stderr


WAITING_LINE = "another migration of this database is running; waiting for it to end"


def in_background(
    args: list[str], project: BakedProject, log_path: Path
) -> "subprocess.Popen[str]":
    """Start a command in the project, its output going to `log_path`."""
    with log_path.open("w", encoding="utf-8") as log:
        return subprocess.Popen(
            args, cwd=project.path, env=project.environ({"PYTHONPATH": "."}), stdout=log,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip


def waits_for_the_migration_lock(log_path: Path) -> bool:
    return WAITING_LINE in log_path.read_text(encoding="utf-8")


@contextmanager
def holding_the_migration_lock(project: BakedProject) -> Iterator[Database]:
    """Hold the project's migration lock from psql until the block ends."""
    db = database_of(project)
    match = re.search(r"MIGRATION_LOCK_KEY = ([\d_]+)", project.read("app/migration_locks.py"))
    assert match is not None
    lock_key = int(match.group(1).replace("_", ""))
    holder = subprocess.Popen(
        ["psql", db.url, "-X", "-q"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert holder.stdin is not None
    holder.stdin.write(f"SELECT pg_advisory_lock({lock_key});\n")
    holder.stdin.flush()
    try:
        wait_until(lambda: "advisory" in db.psql("SELECT locktype FROM pg_locks"), 10, "the lock")
        yield db
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_six_concurrent_upgrades_apply_the_schema_once(pg: BakedProject, tmp_path: Path) -> None:
    # Hold the migration lock so that all six processes queue behind it, then let them race:
    # on two cores, six processes started in a row would otherwise rarely overlap.
    logs = [tmp_path / f"upgrade-{n}.log" for n in range(6)]
    with holding_the_migration_lock(pg) as db:
        upgrades = [
            in_background(["uv", "run", "--no-sync", "alembic", "upgrade", "head"], pg, log)
            for log in logs
        ]
        wait_until(lambda: all(map(waits_for_the_migration_lock, logs)), 60, "six waiting")
    for process in upgrades:
        process.wait(timeout=120)
    outputs = [log.read_text(encoding="utf-8") for log in logs]
    assert [process.returncode for process in upgrades] == [0] * 6, outputs
    applied = [s for s in outputs if f"Running upgrade  -> {INITIAL_REVISION}" in s]
    assert len(applied) == 1
    assert db.psql("SELECT version_num FROM alembic_version") == HEAD


# Programs and test tools that hand env.py a connection ---------------------------------

CALLER = """
import asyncio
import sys

from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import greenlet_spawn

from app.config import settings

config = Config("alembic.ini")


def upgrade(connectable):
    config.attributes["connection"] = connectable
    command.upgrade(config, sys.argv[2])


async def main(case):
    engine = create_async_engine(settings.sqlalchemy_url, poolclass=pool.NullPool)
    if case == "cookbook":  # Alembic's cookbook: a connection in the caller's transaction
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    elif case == "cookbook-rolled-back":
        async with engine.connect() as connection:
            await connection.begin()
            await connection.run_sync(upgrade)
            await connection.rollback()
    elif case == "connection":
        async with engine.connect() as connection:
            await connection.run_sync(upgrade)
    elif case == "engine":
        await greenlet_spawn(upgrade, engine.sync_engine)
    await engine.dispose()


if sys.argv[1] == "async-engine":  # pytest-alembic's asyncio setup, outside any event loop
    upgrade(create_async_engine(settings.sqlalchemy_url))
else:
    asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.parametrize(
    ("caller", "target"),
    [
        # In a transaction the caller began, no revision may build an index CONCURRENTLY.
        ("cookbook", INITIAL_REVISION),
        ("cookbook-rolled-back", INITIAL_REVISION),
        ("connection", HEAD),
        ("engine", HEAD),
        ("async-engine", HEAD),
    ],
)
def test_env_py_migrates_on_what_a_caller_hands_over(
    pg: BakedProject, caller: str, target: str, tmp_path: Path
) -> None:
    # Each waits for the migration lock, whoever owns the connection: in the caller's
    # transaction, as a lock held until it ends, in a statement that waits.
    log = tmp_path / "caller.log"
    with holding_the_migration_lock(pg) as db:
        process = run_as_a_caller(pg, caller, target, log)
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
        wait_until(
            lambda: waits_for_the_migration_lock(log) or db.psql(waiting) == "1",
            60, "the caller to wait for the lock",
        )  # fmt: skip
    process.wait(timeout=60)
    output = log.read_text(encoding="utf-8")
    assert process.returncode == 0, output
    tables = db.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'users'")
    if caller == "cookbook-rolled-back":  # the caller's transaction was the caller's to end
        assert tables == "0"
    else:
        assert tables == "1"
        assert db.psql("SELECT version_num FROM alembic_version") == target


def test_a_caller_transaction_refuses_an_autocommit_block_in_one_line(
    pg: BakedProject, tmp_path: Path
) -> None:
    log = tmp_path / "caller.log"
    process = run_as_a_caller(pg, "cookbook", HEAD, log)
    process.wait(timeout=60)
    output = log.read_text(encoding="utf-8")
    assert process.returncode != 0
    last_line = output.strip().splitlines()[-1]
    assert "outside any transaction (an autocommit block)" in last_line
    assert "hand env.py an engine, or a connection with no transaction begun" in last_line
    # The caller's transaction rolled back with the error: nothing is left behind.
    db = database_of(pg)
    assert db.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0"


def run_as_a_caller(
    project: BakedProject, caller: str, target: str, log_path: Path
) -> "subprocess.Popen[str]":
    """Run CALLER's `caller` in the project, to migrate to `target`."""
    script = log_path.with_suffix(".py")
    script.write_text(CALLER, encoding="utf-8")
    args = ["uv", "run", "--no-sync", "python", str(script), caller, target]
    return in_background(args, project, log_path)


PYTEST_ALEMBIC_CONFTEST = """
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import settings


@pytest.fixture
def alembic_engine():
    return create_async_engine(settings.sqlalchemy_url)
"""
PYTEST_ALEMBIC_TESTS = """
from pytest_alembic.tests import (  # noqa: F401
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
"""


def test_pytest_alembic_ready_made_tests_pass(pg: BakedProject, tmp_path: Path) -> None:
    """Wired as pytest-alembic's asyncio documentation shows, in a folder of their own: its
    plugin stops at collection in a suite with a tests/conftest.py on pytest 9.2."""
    checks = pg.path / "migration_checks"
    checks.mkdir()
    try:
        (checks / "conftest.py").write_text(PYTEST_ALEMBIC_CONFTEST, encoding="utf-8")
        (checks / "test_pytest_alembic.py").write_text(PYTEST_ALEMBIC_TESTS, encoding="utf-8")
        result = pg.run(
            "uv", "run", "--no-sync", "--with", "pytest-alembic==0.13.1",
            "python", "-m", "pytest", "-p", "no:cacheprovider", "-v", checks.name,
        )  # fmt: skip
    finally:
        shutil.rmtree(checks)
    for name in ("test_single_head_revision", "test_upgrade", "test_model_definitions_match_ddl",
                 "test_up_down_consistency"):  # fmt: skip
        assert f"{name} PASSED" in result.stdout, result.stdout
    assert "4 passed" in result.stdout


# The seed's daily workflow, on both databases -------------------------------------------

BIO_COLUMN = "    bio: Mapped[str | None] = mapped_column(Text)\n"


def _add_bio_column(project: BakedProject) -> None:
    models = project.path / "app" / "models.py"
    source = models.read_text(encoding="utf-8")
    anchor = "    password: Mapped[str]"
    assert anchor in source
    line_end = source.index("\n", source.index(anchor)) + 1
    models.write_text(source[:line_end] + BIO_COLUMN + source[line_end:], encoding="utf-8")


@pytest.fixture(params=["postgresql", "sqlite"])
def fresh_project(
    request: pytest.FixtureRequest, bake: Bake, new_database: Callable[[], Database]
) -> BakedProject:
    project = bake(database=request.param)
    project.sync()
    if request.param == "postgresql":
        project.use_database(new_database())
    return project


def test_autogenerate_writes_just_the_model_change(fresh_project: BakedProject) -> None:
    project = fresh_project
    project.alembic("upgrade", "head")
    _add_bio_column(project)
    project.alembic("revision", "--autogenerate", "-m", "add user bio")

    [revision] = project.new_revisions()
    assert re.fullmatch(r"\d{4}_\d{2}_\d{2}_\d{4}_[0-9a-f]{12}_add_user_bio\.py", revision.name)
    assert revision_operations(revision, "upgrade") == ["add_column"]
    assert revision_operations(revision, "downgrade") == ["drop_column"]
    assert '"bio"' in revision.read_text(encoding="utf-8")
    # The post-write hooks left it formatted and lint-clean.
    project.run("uv", "run", "--no-sync", "ruff", "format", "--check", str(revision))
    project.run("uv", "run", "--no-sync", "ruff", "check", str(revision))

    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    project.alembic("downgrade", "-1")
    assert project.alembic("current").stdout.split() == [project.head]


@pytest.fixture
def sqlite_fresh(bake: Bake, tmp_path: Path) -> BakedProject:
    """A project of the test's own, on a SQLite file: free to gain revisions."""
    project = bake(database="sqlite")
    project.sync()
    project.env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"}
    return project


def new_revision(project: BakedProject, message: str) -> Path:
    project.alembic("revision", "-m", message)
    slug = message.replace(" ", "_")
    [path] = (project.path / "alembic" / "versions").glob(f"*_{slug}.py")
    return path


def test_a_hand_written_revision_is_ready_to_edit(sqlite_fresh: BakedProject) -> None:
    project = sqlite_fresh
    revision = new_revision(project, "add summary")
    source = revision.read_text(encoding="utf-8")
    assert "import sqlalchemy as sa\n" in source
    assert "from alembic import op\n" in source
    project.run("uv", "run", "--no-sync", "ruff", "check", str(revision))
    project.run("uv", "run", "--no-sync", "ruff", "format", "--check", str(revision))

    # What its author writes next.
    upgrade = 'op.add_column("posts", sa.Column("summary", sa.Text()))'
    downgrade = 'op.drop_column("posts", "summary")'
    assert source.count("    pass\n") == 2
    source = source.replace("    pass\n", f"    {upgrade}\n", 1).replace(
        "    pass\n", f"    {downgrade}\n"
    )
    revision.write_text(source, encoding="utf-8")
    project.alembic("upgrade", "head")
    database = project.env["DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(posts)")}
    assert "summary" in columns
    project.alembic("downgrade", "-1")
    assert project.alembic("current").stdout.split() == [project.head]


def test_two_branches_that_each_add_a_revision_conflict_in_git(sqlite_fresh: BakedProject) -> None:
    project = sqlite_fresh
    head_file = "alembic/head.txt"
    assert project.read(head_file) == f"{project.head}\n"
    git(project.path, "init", "--quiet", "--initial-branch=main")
    git(project.path, "add", "-A")
    git(project.path, "commit", "--quiet", "-m", "Bake")
    git(project.path, "switch", "--quiet", "-c", "tags")
    tags = new_revision(project, "add tags").name.split("_")[4]
    assert project.read(head_file) == f"{tags}\n"  # the post-write hook rewrote it
    git(project.path, "add", "-A")
    git(project.path, "commit", "--quiet", "-m", "Add tags")
    git(project.path, "switch", "--quiet", "main")
    git(project.path, "switch", "--quiet", "-c", "bios")
    bios_path = new_revision(project, "add bios")
    git(project.path, "add", "-A")
    git(project.path, "commit", "--quiet", "-m", "Add bios")

    merged = git(project.path, "merge", "tags", check=False)
    merge = merged.stdout + merged.stderr
    assert f"CONFLICT (content): Merge conflict in {head_file}" in merge
    assert "Automatic merge failed" in merge

    # Resolved as the README says: rebase the newer revision onto the other, rewrite the file.
    git(project.path, "merge", "--abort")
    git(project.path, "rebase", "--quiet", "tags", check=False)
    git(project.path, "checkout", "--ours", head_file)  # the upstream side: rewritten next
    source = bios_path.read_text(encoding="utf-8")
    assert f'down_revision: str | None = "{project.head}"' in source
    bios_path.write_text(source.replace(f'"{project.head}"', f'"{tags}"'), encoding="utf-8")
    # Python's bytecode cache trusts a source whose size and mtime (in whole seconds) match:
    # this edit keeps the size, and may fall in the second the revision was compiled in.
    shutil.rmtree(bios_path.parent / "__pycache__", ignore_errors=True)
    check = ("uv", "run", "--no-sync", "python", "-m", "scripts.record_head", "--check")
    assert project.run(*check, check=False).returncode != 0
    project.run("uv", "run", "--no-sync", "python", "-m", "scripts.record_head")
    project.run(*check)
    bios = bios_path.name.split("_")[4]
    assert project.read(head_file) == f"{bios}\n"
    project.alembic("upgrade", "head")
    assert project.alembic("current").stdout.split() == [bios, "(head)"]


# SQLite ---------------------------------------------------------------------------------


def sqlite_tables(connection: sqlite3.Connection) -> set[str]:
    return {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.fixture(scope="module")
def sqlite_project(bake_shared: Bake) -> BakedProject:
    project = bake_shared(database="sqlite")
    project.sync()
    return project


def test_sqlite_at_a_revision_the_code_lacks_gets_the_same_line(
    sqlite_project: BakedProject, tmp_path: Path
) -> None:
    """Another branch's revision, most often, on a developer's own database file."""
    database = tmp_path / "app.db"
    sqlite_project.env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    sqlite_project.alembic("upgrade", "head")
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = 'c0ffee000001'")
    assert_each_command_says_what_to_do(sqlite_project)


def test_sqlite_upgrade_check_downgrade(sqlite_project: BakedProject, tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    project = sqlite_project
    project.env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    project.alembic("upgrade", "head")

    with sqlite3.connect(database) as connection:
        tables = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert tables == {"alembic_version", "users", "posts", "votes"}
        cascades = {
            (table, row[2], row[6])
            for table in ("posts", "votes")
            for row in connection.execute(f"PRAGMA foreign_key_list({table})")
        }
        assert cascades == {("posts", "users", "CASCADE"), ("votes", "users", "CASCADE"),
                            ("votes", "posts", "CASCADE")}  # fmt: skip
        indexes = {r[1] for r in connection.execute("PRAGMA index_list(votes)")}
        assert "ix_votes_post_id" in indexes

    assert "No new upgrade operations detected" in project.alembic("check").stdout
    project.alembic("downgrade", "base")
    with sqlite3.connect(database) as connection:
        tables = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    assert tables == {"alembic_version"}


# Migration safety lint (PostgreSQL) ------------------------------------------------------


def test_squawk_passes_the_initial_revision_and_flags_a_dangerous_one(
    bake: Bake, new_database: Callable[[], Database]
) -> None:
    project = bake(database="postgresql")
    project.sync()
    project.use_database(new_database())
    lint = ("uv", "run", "--no-sync", "python", "scripts/lint_migrations.py")
    assert project.run(*lint).returncode == 0
    git(project.path, "init", "--quiet", "--initial-branch=main")
    git(project.path, "add", "-A")
    git(project.path, "commit", "--quiet", "-m", "Bake")

    # A required column without a default, and an index built with the table locked.
    models = project.path / "app" / "models.py"
    source = models.read_text(encoding="utf-8")
    assert "    title: Mapped[str] = mapped_column(Text)\n" in source
    source = source.replace(
        "    title: Mapped[str] = mapped_column(Text)\n",
        "    title: Mapped[str] = mapped_column(Text, index=True)\n"
        "    summary: Mapped[str] = mapped_column(Text)\n",
    )
    models.write_text(source, encoding="utf-8")
    project.alembic("upgrade", "head")
    project.alembic("revision", "--autogenerate", "-m", "dangerous change")
    [revision] = project.new_revisions()
    revision_id = revision.name.split("_")[4]

    result = project.run(*lint, revision_id, check=False)
    assert result.returncode != 0
    assert "adding-required-field" in result.stdout
    assert "require-concurrent-index-creation" in result.stdout

    # As CI runs it on a pull request: only the revisions the branch adds.
    git(project.path, "switch", "--quiet", "-c", "dangerous")
    git(project.path, "add", "-A")
    git(project.path, "commit", "--quiet", "-m", "Dangerous change")
    since_main = project.run(*lint, "--since", "main", check=False)
    assert since_main.returncode != 0
    assert "adding-required-field" in since_main.stdout
    assert f"{revision_id}.sql" in since_main.stdout  # squawk names the files it linted
    assert f"{HEAD}.sql" not in since_main.stdout
    assert f"{INITIAL_REVISION}.sql" not in since_main.stdout
