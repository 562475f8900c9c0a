"""Search post titles through a trigram index.

Revision ID: 7f3b9d2e4c18
Revises: 0b5d1c2e7a41
Create Date: 2026-11-28 09:00:00

`GET /posts/?search=` asks for titles that contain a word anywhere (`ILIKE '%word%'`),
which a b-tree index cannot serve: without this index every search reads every title.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7f3b9d2e4c18"
down_revision: str | None = "0b5d1c2e7a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_posts_title_trgm"


def upgrade() -> None:
    # A trusted extension (PostgreSQL 13 and later): the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # CONCURRENTLY: posts stay writable while the index builds. It cannot run inside a
    # transaction, hence the autocommit block. A build that failed part way leaves an
    # INVALID index behind, which the drop clears before the next try.
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, "posts", postgresql_concurrently=True, if_exists=True)
        op.create_index(
            INDEX,
            "posts",
            ["title"],
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, "posts", postgresql_concurrently=True, if_exists=True)
    # pg_trgm stays: it holds no data, other objects may use it, and on a managed database
    # the migration's role may not be the one allowed to drop it.
