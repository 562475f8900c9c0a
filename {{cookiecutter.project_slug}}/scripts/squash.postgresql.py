"""Collapse the oldest revisions into one that builds the same schema.

    uv run python scripts/squash.py                  # from the first revision up to the head
    uv run python scripts/squash.py --through REV    # up to REV; the revisions after it stay

The new revision keeps REV's id, so a database at REV or past it needs nothing, and the
revisions after REV still apply. Its upgrade() is written from the schema the old
revisions build: they migrate a new database, which is then read back (extensions, enum
types, tables, columns, identities, server defaults, constraints and indexes, under their
names). A second new database migrates with the squashed history, and nothing changes
unless the two schemas (`pg_dump --schema-only`) are the same. The old files are removed;
git keeps them. A database still behind REV is told by env.py to migrate with a release
from before the squash.

Data steps (INSERT, UPDATE, DELETE, bulk_insert) are not part of a schema, so the script
stops and names them. --drop-data-steps leaves them out: a backfill has no rows to change
in a new database, but move seed data into a revision after REV first.

The databases are new ones on the server of TEST_DATABASE_URL if set, else on a throwaway
server, and are dropped afterwards. Exits 0 when squashed, 1 when it refuses (saying why),
2 when it cannot work (no database, a migration that fails).
"""

import argparse
import ast
import asyncio
import difflib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

from alembic.autogenerate import render_python_code
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import ops
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic_postgresql_enum.operations.drop_enum import DropEnumOp
from sqlalchemy import (
    BigInteger,
    Connection,
    Constraint,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.sql.elements import conv

PROJECT = Path(__file__).resolve().parents[1]
DATA_STATEMENT = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY)\b", re.IGNORECASE)
# An identity column's options when none were given, by type: these render as sa.Identity().
IDENTITY_MAXIMUM = {BigInteger: 2**63 - 1, Integer: 2**31 - 1, SmallInteger: 2**15 - 1}
# pg_dump lines that say nothing of the schema: comments, settings, psql's meta-commands.
DUMP_NOISE = ("--", "SET ", "SELECT pg_catalog.set_config", "\\")
DIFFERENCES_SHOWN = 40

REVISION_TEMPLATE = '''"""The schema revisions {first} to {revision} built (scripts/squash.py).

Revision ID: {revision}
Revises:
Create Date: {date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
{imports}
revision: str = "{revision}"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# The revisions this one replaced. A database still at one of them must reach this one
# with a release from before the squash; env.py says so instead of failing on the id.
squashed: tuple[str, ...] = ({squashed})


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


class Refused(Exception):
    """The squash would lose something, or the history is not one it can collapse."""


class CannotSquash(Exception):
    """Something other than the history failed: no database, a migration that fails."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--through", metavar="REV", help="the last revision to collapse (head)")
    parser.add_argument(
        "--drop-data-steps", action="store_true", help="leave out INSERT/UPDATE/DELETE steps"
    )
    args = parser.parse_args()
    os.chdir(PROJECT)  # where alembic.ini's paths, and env.py's imports, start
    sys.path.insert(0, str(PROJECT))  # for the tests' database helpers
    try:
        with ExitStack() as resources:
            squash(args.through, args.drop_data_steps, resources)
            return 0
    except Refused as error:
        print(f"squash: {error}", file=sys.stderr)
        return 1
    except CannotSquash as error:
        print(f"squash: {error}", file=sys.stderr)
        return 2


def squash(through: str | None, drop_data_steps: bool, resources: ExitStack) -> None:
    script = ScriptDirectory.from_config(Config(PROJECT / "alembic.ini"))
    chain = revisions_through(script, through)
    last = chain[-1].revision
    steps = data_steps(Path(revision.path) for revision in chain)
    if steps and not drop_data_steps:
        raise Refused(
            f"{'; '.join(steps)} changes data, which a squashed revision would not carry:"
            " move seed data into a revision after the squash, then run again with"
            " --drop-data-steps (a backfill has no rows to change in a new database)"
        )
    server_url = database_server(resources)
    full_history = new_database(server_url, resources)
    migrate(full_history, last)
    source = squashed_revision(full_history, chain)
    with replaced(chain, source) as path:
        squashed_history = new_database(server_url, resources)
        migrate(squashed_history, last)
        differences = compare(schema_of(full_history), schema_of(squashed_history))
        if differences:
            print("\n".join(differences[:DIFFERENCES_SHOWN]))
            raise Refused(
                "the squashed revision would build another schema than the old ones (pg_dump"
                " differences above: views, functions and triggers are not carried over);"
                " nothing changed"
            )
    for step in steps:
        print(f"squash: left out {step}")
    print(
        f"squash: {len(chain)} revisions, {chain[0].revision} to {last}, are now"
        f" {path.relative_to(PROJECT)}; a database at {last} or past it needs nothing, one"
        " behind it must first be migrated by a release from before the squash"
    )


def revisions_through(script: ScriptDirectory, through: str | None) -> list[Script]:
    """The revisions from the first up to `through` (the head), first to last."""
    heads = script.get_heads()
    if len(heads) != 1:
        raise Refused(f"several heads ({', '.join(heads)}): make history one line first")
    try:
        last = script.get_revision(through or heads[0])
    except RevisionError as error:
        raise Refused(str(error)) from None
    if last is None:
        raise Refused(f"no revision {through}")
    chain: list[Script] = []
    revision: Script | None = last
    while revision is not None:
        if revision.is_merge_point:
            raise Refused(f"{revision.revision} merges branches: squash through a later one")
        chain.append(revision)
        down = revision.down_revision
        revision = script.get_revision(down) if isinstance(down, str) else None
    collapsed = {revision.revision for revision in chain}
    for revision in script.walk_revisions():
        inside = revision.down_revision in collapsed - {last.revision}
        if inside and revision.revision not in collapsed:
            raise Refused(f"{revision.revision} branches off {revision.down_revision}")
    if len(chain) < 2:
        raise Refused(f"nothing to squash: {last.revision} is the first revision")
    return chain[::-1]


def data_steps(revision_files: Iterable[Path]) -> list[str]:
    """Where the upgrades of these revisions write rows: "file:line (statement)" each.

    scripts/check_compatibility.py names those of new revisions with it too.
    """
    steps = []
    for path in revision_files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        upgrades = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"]
        for call in (node for upgrade in upgrades for node in ast.walk(upgrade)):
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
                continue
            sql = " ".join(
                node.value
                for node in ast.walk(call)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
            )
            sql = re.sub(r"--[^\n]*", "", sql)
            is_data = call.func.attr in {"execute", "exec_driver_sql"} and DATA_STATEMENT.search(
                sql
            )
            if call.func.attr == "bulk_insert" or is_data:
                what = " ".join(sql.split())[:40] or call.func.attr
                steps.append(f"{path.name}:{call.lineno} ({what})")
    return steps


def database_server(resources: ExitStack) -> str:
    """TEST_DATABASE_URL's server if set, else a throwaway one, stopped with `resources`."""
    from tests.postgres_server import throwaway_server

    try:
        return os.environ.get("TEST_DATABASE_URL") or resources.enter_context(throwaway_server())
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        raise CannotSquash(f"no database: {str(error).splitlines()[0]}") from None


def new_database(server_url: str, resources: ExitStack) -> str:
    from tests.databases import create_empty_database

    try:
        return create_empty_database(server_url, resources)
    except (OSError, SQLAlchemyError) as error:
        raise CannotSquash(f"no database: {str(error).splitlines()[0]}") from None


def migrate(database_url: str, revision: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", revision], cwd=PROJECT,
        env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        print(result.stdout + result.stderr, end="", flush=True)
        raise CannotSquash(f"alembic upgrade {revision} failed on a new database (output above)")


# Writing the squashed revision ------------------------------------------------------------


def squashed_revision(database_url: str, chain: list[Script]) -> str:
    upgrade, downgrade = asyncio.run(read_schema(database_url))
    imports = "from sqlalchemy.dialects import postgresql\n" if "postgresql." in upgrade else ""
    return REVISION_TEMPLATE.format(
        first=chain[0].revision,
        revision=chain[-1].revision,
        date=datetime.now().replace(microsecond=0),
        imports=imports,
        squashed=" ".join(f'"{revision.revision}",' for revision in chain[:-1]),
        upgrade=upgrade,
        downgrade=downgrade,
    )


async def read_schema(database_url: str) -> tuple[str, str]:
    """The bodies of upgrade() and downgrade() for the schema of `database_url`."""
    engine = create_async_engine(make_url(database_url).set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(render_schema)
    finally:
        await engine.dispose()


def render_schema(connection: Connection) -> tuple[str, str]:
    metadata = MetaData()
    metadata.reflect(connection, only=lambda name, _: name != "alembic_version")
    extensions = connection.scalars(
        text("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname")
    ).all()
    quote = connection.dialect.identifier_preparer.quote
    upgrade: list[ops.MigrateOperation] = [
        ops.ExecuteSQLOp(f"CREATE EXTENSION IF NOT EXISTS {quote(name)}") for name in extensions
    ]
    enums: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        tidy(table, enums)
        upgrade.append(ops.CreateTableOp.from_table(table))
        upgrade += [
            ops.CreateIndexOp.from_index(index)
            for index in sorted(table.indexes, key=lambda index: str(index.name))
        ]
    downgrade: list[ops.MigrateOperation] = [
        ops.DropTableOp.from_table(table) for table in reversed(metadata.sorted_tables)
    ]
    # create_table makes the enum types its columns use; drop_table leaves them.
    schema = connection.dialect.default_schema_name or "public"
    downgrade += [DropEnumOp(schema, name, values) for name, values in enums.items()]
    # Extensions stay on downgrade, as the revision that made pg_trgm leaves it: they hold
    # no data, other objects may use them, and the role may not be allowed to drop them.
    context = MigrationContext.configure(connection)
    return (
        python_body(render_python_code(ops.UpgradeOps(upgrade), migration_context=context)),
        python_body(render_python_code(ops.DowngradeOps(downgrade), migration_context=context)),
    )


def tidy(table: Table, enums: dict[str, list[str]]) -> None:
    """Write the reflected table as a person would: generic types where they mean the same
    DDL, no options that say the default, names kept as they are (`op.f`)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    for key in [key for key, value in table.dialect_kwargs.items() if not value]:
        del table.dialect_kwargs[key]
    for column in table.columns:
        column.autoincrement = "auto"
        if isinstance(column.type, postgresql.ENUM):
            enums.setdefault(str(column.type.name), list(column.type.enums))
        else:
            try:
                generic = column.type.as_generic()
            except NotImplementedError:
                generic = column.type
            if generic.compile(dialect) == column.type.compile(dialect):
                column.type = generic
        identity = column.server_default
        if isinstance(identity, Identity) and is_default_identity(identity, column.type):
            column.server_default = Identity(always=identity.always)
    items: list[Constraint | Index] = [*table.constraints, *table.indexes]
    for item in items:
        if isinstance(item.name, str):
            item.name = conv(item.name)
        for key in [key for key, value in item.dialect_kwargs.items() if not value]:
            del item.dialect_kwargs[key]


def is_default_identity(identity: Identity, column_type: object) -> bool:
    maximum = next((m for t, m in IDENTITY_MAXIMUM.items() if isinstance(column_type, t)), None)
    options = (identity.start, identity.increment, identity.minvalue, identity.maxvalue)
    return options == (1, 1, 1, maximum) and not identity.cycle and identity.cache in (None, 1)


def python_body(rendered: str) -> str:
    """Alembic's rendering, without its "auto generated" markers, indented as a body."""
    lines = [line.strip() for line in rendered.splitlines() if "###" not in line]
    return "\n".join(f"    {line}" for line in lines if line)


@contextmanager
def replaced(chain: list[Script], source: str) -> Iterator[Path]:
    """Put the squashed revision in place of `chain`'s files; put them back on failure."""
    last, last_id = Path(chain[-1].path), chain[-1].revision
    # Named like the last one (its date first, so it still sorts before the later ones).
    path = last.with_name(f"{last.name.split(last_id)[0]}{last_id}_squashed.py")
    originals = {Path(revision.path): Path(revision.path).read_bytes() for revision in chain}
    try:
        for original in originals:
            original.unlink()
        path.write_text(source, encoding="utf-8")
        for ruff in (["format"], ["check", "--fix"]):
            subprocess.run([sys.executable, "-m", "ruff", *ruff, "--quiet", str(path)], check=True)
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        for original, content in originals.items():
            original.write_bytes(content)
        raise


# Comparing schemas ----------------------------------------------------------------------


def schema_of(database_url: str) -> list[str]:
    """The statements of `pg_dump --schema-only`, in a stable order."""
    from tests.postgres_server import find_bindir

    # The one beside the server programs the tests use, else any: it must not be older
    # than the server.
    bindir = find_bindir()
    beside = bindir / "pg_dump" if bindir else None
    pg_dump = str(beside) if beside and beside.exists() else shutil.which("pg_dump")
    if pg_dump is None:
        raise CannotSquash("pg_dump not found: install PostgreSQL's client programs")
    url = make_url(database_url)
    env = {
        **os.environ, "PGHOST": url.host or "", "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "", "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "",
    }  # fmt: skip
    result = subprocess.run(
        [pg_dump, "--schema-only", "--no-owner", "--no-privileges"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise CannotSquash(f"pg_dump: {result.stderr.strip().splitlines()[-1]}")
    lines = [line for line in result.stdout.splitlines() if not line.startswith(DUMP_NOISE)]
    statements = (statement.strip() for statement in "\n".join(lines).split(";\n"))
    return sorted(statement for statement in statements if statement)


def compare(old: list[str], new: list[str]) -> list[str]:
    if old == new:
        return []
    return list(difflib.unified_diff(old, new, "old history", "squashed", lineterm="", n=0))


if __name__ == "__main__":
    sys.exit(main())
