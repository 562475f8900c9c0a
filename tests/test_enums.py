"""Enum columns through a schema's life, as autogenerate writes them from the README's model.

PostgreSQL's project is installed at the floors it declares (`uv sync --resolution
lowest-direct`), so its enum support is proven on the oldest versions a user may get; the
newest serve traffic while a member is added, in test_zero_downtime.
"""

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import (
    Bake,
    BakedProject,
    Database,
    database_of,
    revision_id,
    revision_operations,
)

# The README's model: its class, and the column it puts on Post.
VISIBILITY = 'class Visibility(enum.Enum):\n    public = "public"\n    followers = "followers"\n'
COLUMN = "visibility: Mapped[Visibility | None]"
LINT = ("uv", "run", "--no-sync", "python", "scripts/lint_migrations.py")
MODELS = "app/models.py"


def add_the_enum_column(project: BakedProject) -> None:
    """What the README asks of app/models.py: the class, and its column on Post."""
    published = "    published: Mapped[bool] = mapped_column(server_default=true())\n"
    project.edit(MODELS, published, f"{published}    {COLUMN}\n")
    project.edit(MODELS, "\n\nclass Base(", f"\n\n{VISIBILITY}\n\nclass Base(")
    project.edit(MODELS, "from datetime import", "import enum\nfrom datetime import")


def function_source(revision: Path, name: str) -> str:
    source = revision.read_text(encoding="utf-8")
    return source.split(f"def {name}() -> None:\n")[1].split("\n\ndef ")[0]


def enum_types(db: Database) -> str:
    return db.psql(
        "SELECT coalesce(string_agg(typname || '=' || array_to_string(enum_range, ','), ' '), '')"
        " FROM (SELECT typname, (SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum"
        "   WHERE enumtypid = pg_type.oid) AS enum_range FROM pg_type WHERE typtype = 'e') AS t"
    )


@pytest.fixture
def floors_project(bake: Bake, new_database: Callable[[], Database]) -> BakedProject:
    project = bake(database="postgresql")
    project.sync(lowest=True)
    project.use_database(new_database())
    return project


def test_the_readme_shows_the_model_these_tests_use(floors_project: BakedProject) -> None:
    assert floors_project.readme_python("Enums") == [VISIBILITY]
    assert f"on `Post`, `{COLUMN}`" in floors_project.read("README.md")


def test_an_enum_column_is_created_grown_and_shrunk_by_autogenerate(
    floors_project: BakedProject,
) -> None:
    project = floors_project
    db = database_of(project)
    project.alembic("upgrade", "head")

    # A new column: its type is made before it, and dropped after it.
    add_the_enum_column(project)
    revision = project.autogenerate("add post visibility")
    added = revision_id(revision)
    upgrade = function_source(revision, "upgrade")
    assert upgrade.index(".create(op.get_bind())") < upgrade.index("op.add_column(")
    downgrade = function_source(revision, "downgrade")
    assert downgrade.index("op.drop_column(") < downgrade.index(".drop(op.get_bind())")
    assert "TABLE REWRITE" not in upgrade
    project.run(*LINT, added)
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    assert enum_types(db) == "visibility=public,followers"
    db.psql(
        "WITH author AS (INSERT INTO users (email, password) VALUES ('e@example.com', 'x')"
        " RETURNING id) INSERT INTO posts (title, content, owner_id, visibility)"
        " SELECT 't', 'c', id, v FROM author, (VALUES ('public'::visibility), ('followers')) m(v)"
    )

    # A member appended: ADD VALUE in place, which the lint passes.
    project.edit(MODELS, '    followers = "followers"\n',
                   '    followers = "followers"\n    private = "private"\n')  # fmt: skip
    revision = project.autogenerate("add private visibility")
    appended = revision_id(revision)
    assert revision_operations(revision, "upgrade") == ["add_enum_value"]
    project.run(*LINT, appended)
    sql = project.alembic("upgrade", f"{added}:{appended}", "--sql").stdout
    assert "ALTER TYPE" in sql
    assert "ALTER TABLE" not in sql
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    assert enum_types(db) == "visibility=public,followers,private"

    # A member removed: a rewrite, said in the revision and failed by the lint until the
    # author keeps it on purpose.
    db.psql("UPDATE posts SET visibility = 'public' WHERE visibility = 'followers'")
    project.edit(MODELS, '    followers = "followers"\n', "")
    revision = project.autogenerate("retire followers")
    removed = revision_id(revision)
    upgrade = function_source(revision, "upgrade")
    assert revision_operations(revision, "upgrade") == ["sync_enum_values"]
    assert upgrade.index("# TABLE REWRITE.") < upgrade.index("op.sync_enum_values(")
    assert "posts.visibility" in " ".join(upgrade.split())
    # Going back rewrites too, and says so; the lint reads upgrades only.
    downgrade = function_source(revision, "downgrade")
    assert downgrade.index("# TABLE REWRITE.") < downgrade.index("op.sync_enum_values(")
    assert "op.execute(" not in downgrade
    lint = project.run(*LINT, removed, check=False)
    assert lint.returncode != 0
    assert "changing-column-type" in lint.stdout
    acknowledge(revision)
    project.run("uv", "run", "--no-sync", "ruff", "check", str(revision))
    project.run(*LINT, removed)
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    assert enum_types(db) == "visibility=public,private"
    assert db.psql("SELECT string_agg(DISTINCT visibility::text, ',') FROM posts") == "public"

    # And all the way back: no type outlives its column.
    project.alembic("downgrade", "base")
    assert enum_types(db) == ""
    tables = "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'"
    assert db.psql(tables) == "alembic_version"


def acknowledge(revision: Path) -> None:
    """Uncomment the acknowledgement the revision carries, as its author would."""
    lines = revision.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("    # op.execute(\n")
    end = lines.index("    # )\n", start)
    lines[start : end + 1] = [line.replace("# ", "", 1) for line in lines[start : end + 1]]
    revision.write_text("".join(lines), encoding="utf-8")


def test_sqlite_takes_the_same_enum_column(bake: Bake, tmp_path: Path) -> None:
    project = bake(database="sqlite")
    assert project.readme_python("Enums") == [VISIBILITY]
    assert f"on `Post`, `{COLUMN}`" in project.read("README.md")
    project.sync()
    database = tmp_path / "app.db"
    project.env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    project.alembic("upgrade", "head")
    add_the_enum_column(project)
    revision = project.autogenerate("add post visibility")
    assert revision_operations(revision, "upgrade") == ["add_column"]
    project.alembic("upgrade", "head")
    with closing(sqlite3.connect(database)) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(posts)")}
    assert "visibility" in columns
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    # A member longer than the others: the declared length grows, which SQLite ignores, so
    # there is no table to copy.
    project.edit(MODELS, '    followers = "followers"\n',
                   '    followers = "followers"\n    subscribers = "subscribers"\n')  # fmt: skip
    assert "No new upgrade operations detected" in project.alembic("check").stdout
    project.alembic("downgrade", "base")
    project.alembic("upgrade", "head")
    assert "No new upgrade operations detected" in project.alembic("check").stdout
