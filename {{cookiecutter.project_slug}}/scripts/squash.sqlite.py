"""Collapsing old revisions into one is for PostgreSQL projects (see its README)."""

import sys

if __name__ == "__main__":
    sys.exit(
        "squash: scripts/squash.py is for PostgreSQL projects; on SQLite a new database"
        " replays every revision in moments, so keep them"
    )
