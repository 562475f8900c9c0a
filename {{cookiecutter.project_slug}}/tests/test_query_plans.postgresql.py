"""Queries whose cost does not grow with the tables: plans PostgreSQL picks for the app."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.database import engine
from app.routers.posts import latest_posts, literal_like


async def test_the_app_connects_with_jit_off() -> None:
    async with engine.connect() as connection:
        assert await connection.scalar(text("SHOW jit")) == "off"


async def test_a_search_can_use_the_trigram_index(session: AsyncSession) -> None:
    # On a table this small the planner rightly prefers reading it all; forbid that for
    # this one transaction to see which index it would use instead.
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    search = latest_posts(before=False, search=True).params(
        limit=11, skip=0, search=literal_like("tips")
    )
    sql = search.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
    plan = "\n".join((await session.scalars(text(f"EXPLAIN {sql}"))).all())
    assert "ix_posts_title_trgm" in plan, plan
