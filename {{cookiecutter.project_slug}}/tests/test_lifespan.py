"""What the app does when the server starts and stops it."""

import gc

from app.database import engine
from app.main import app


async def test_startup_takes_what_is_loaded_out_of_the_collectors_view() -> None:
    gc.unfreeze()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0


async def test_shutdown_closes_the_pooled_connections() -> None:
    async with engine.connect():  # opened, then returned to the pool
        pass
    assert engine.pool.checkedin() >= 1
    async with app.router.lifespan_context(app):
        pass
    assert engine.pool.checkedin() == 0
