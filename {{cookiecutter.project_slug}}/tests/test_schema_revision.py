"""Whether this code may serve on the database's schema (a new pod's init container asks)."""

import asyncio
from collections.abc import Callable

from app.database import engine
from app.schema_revision import (
    code_script,
    database_revisions,
    not_ready_because,
    wait_until_ready,
)
from tests.conftest import on_engine


def test_at_this_codes_head_it_may_serve() -> None:
    script = code_script()
    assert not_ready_because(set(script.get_heads()), script) is None


def test_past_it_at_a_later_releases_revision_it_may_serve() -> None:
    """A rollback, or a pod of the release before restarted during a rollout."""
    assert not_ready_because({"c0ffee000001"}, code_script()) is None


def test_on_a_database_alembic_has_not_migrated_it_waits(
    create_empty_database: Callable[[], str],
) -> None:
    found = on_engine(create_empty_database(), database_revisions)
    assert found == set()
    assert not_ready_because(found, code_script()) == "the database has no schema yet"


async def test_the_wait_is_over_at_once_on_the_migrated_test_database() -> None:
    script = code_script()
    ready_at = await asyncio.wait_for(wait_until_ready(engine, script), timeout=10)
    assert ready_at == set(script.get_heads())
