"""What the app does when the server starts and stops it."""

import gc

from sqlalchemy.pool import QueuePool

from app.database import engine
from app.main import app


def idle_pooled_connections() -> int:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedin()


async def test_startup_takes_what_is_loaded_out_of_the_collectors_view() -> None:
    gc.unfreeze()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0


async def test_shutdown_closes_the_pooled_connections() -> None:
    async with engine.connect():  # opened, then returned to the pool
        pass
    assert idle_pooled_connections() >= 1
    async with app.router.lifespan_context(app):
        pass
    assert idle_pooled_connections() == 0
