"""The tables, as typed SQLAlchemy models. Alembic compares migrations against these."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
{%- if cookiecutter.database == "postgresql" %}
    Index,
{%- endif %}
    Integer,
    MetaData,
    Text,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, query_expression, relationship

# Constraint names are part of the schema: migrations that drop or alter a constraint
# need to know its name, so every database must generate the same one.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements a column typed exactly INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntId, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    password: Mapped[str] = mapped_column(Text)  # an argon2 hash, never the password itself
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Post(Base):
    __tablename__ = "posts"
{%- if cookiecutter.database == "postgresql" %}
    # Serves `?search=` (ILIKE '%word%'); built by the second revision.
    __table_args__ = (
        Index(
            "ix_posts_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
    )
{%- endif %}

    id: Mapped[int] = mapped_column(BigIntId, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Indexed: PostgreSQL does not index foreign keys by itself.
    owner_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )

    owner: Mapped[User] = relationship(lazy="raise")
    # Not a column: filled in by the queries that ask for it (see routers/posts.py).
    votes: Mapped[int] = query_expression()


class Vote(Base):
    __tablename__ = "votes"

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The primary key leads with user_id, so counting a post's votes needs this index.
    post_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
