"""Lint the SQL of Alembic revisions with squawk, to catch migrations that lock or break prod.

    uv run python scripts/lint_migrations.py                   # every revision
    uv run python scripts/lint_migrations.py --since origin/main   # revisions added since a ref
    uv run python scripts/lint_migrations.py 3f2a9c1d0b7e      # given revisions

Each revision's SQL comes from `alembic upgrade <down>:<rev> --sql`, so no database is needed.
Squawk reads its rules from `.squawk.toml`.
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

PROJECT = Path(__file__).resolve().parents[1]
# Alembic's own bookkeeping table is not ours to lint.
VERSION_TABLE_SQL = re.compile(
    r"^CREATE TABLE alembic_version \([^;]*\);\n|^(INSERT INTO|UPDATE) alembic_version [^\n]*;\n",
    re.MULTILINE,
)


def revisions_added_since(script: ScriptDirectory, ref: str) -> list[str]:
    versions = Path(script.versions)
    added = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=A", f"{ref}...HEAD", "--", str(versions)],
        cwd=PROJECT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    names = {Path(name).name for name in added}
    return [
        revision.revision
        for revision in script.walk_revisions()
        if revision.path and Path(revision.path).name in names
    ]


def revision_sql(script: ScriptDirectory, revision: str) -> str:
    down = script.get_revision(revision).down_revision
    if isinstance(down, tuple):  # a merge point: lint from its first parent
        down = down[0]
    # In this process rather than `alembic ... --sql` in a new one: several times faster.
    sql = io.StringIO()
    config = Config(PROJECT / "alembic.ini", output_buffer=sql)
    command.upgrade(config, f"{down or 'base'}:{revision}", sql=True)
    return VERSION_TABLE_SQL.sub("", sql.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description="Lint Alembic revisions with squawk.")
    parser.add_argument("revisions", nargs="*", help="revision ids (default: all)")
    parser.add_argument("--since", metavar="GIT_REF", help="lint revisions added since this ref")
    args = parser.parse_args()
    os.chdir(PROJECT)  # where alembic.ini's paths, and env.py's imports, start

    script = ScriptDirectory.from_config(Config(PROJECT / "alembic.ini"))
    if args.since:
        revisions = revisions_added_since(script, args.since)
    else:
        revisions = args.revisions or [r.revision for r in script.walk_revisions()]
    if not revisions:
        print("No migrations to lint.")
        return 0
    with tempfile.TemporaryDirectory() as directory:
        files = []
        for revision in revisions:
            path = Path(directory) / f"{revision}.sql"
            path.write_text(revision_sql(script, revision), encoding="utf-8")
            files.append(str(path))
        return subprocess.run(["squawk", *files], cwd=PROJECT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
