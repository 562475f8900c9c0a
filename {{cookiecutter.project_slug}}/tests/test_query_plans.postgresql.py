"""Queries whose cost does not grow with the tables: plans PostgreSQL picks for the app."""

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import engine
from tests.conftest import Account, create_post, recording_statements


async def test_the_app_connects_with_jit_off() -> None:
    async with engine.connect() as connection:
        assert await connection.scalar(text("SHOW jit")) == "off"


async def test_a_search_can_use_the_trigram_index(
    client: AsyncClient, alice: Account, session: AsyncSession
) -> None:
    await create_post(client, alice, title="Alembic tips")
    with recording_statements() as statements:
        response = await client.get("/posts/", params={"search": "tips"}, headers=alice.headers)
    assert [post["title"] for post in response.json()] == ["Alembic tips"]
    [(search, parameters)] = [(sql, p) for sql, p in statements if "ILIKE" in sql]

    # On a table this small the planner rightly prefers reading it all, or walking the
    # primary key newest first and filtering (as it may on a database the suite has used
    # before); forbid both for this one transaction to see that the search can use the index.
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    await session.execute(text("SET LOCAL enable_indexscan = off"))
    connection = await session.connection()
    plan = (await connection.exec_driver_sql(f"EXPLAIN {search}", parameters)).scalars().all()
    assert "ix_posts_title_trgm" in "\n".join(plan), plan
