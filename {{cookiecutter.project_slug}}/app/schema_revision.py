"""Which revision the database's schema is at, and whether this code may serve on it.

    python -m app.schema_revision    # wait until it may (a new pod's init container)

This code may serve at its head revision, and past it: at a revision it does not know,
which only a later release can have written. Every revision is safe for the code before it (CI
runs the base branch's tests on the new schema), so a pod of the previous release that is
started again during a rollout, or a rollback to it, serves on the newer schema instead of
waiting forever for a head it will never see. At a revision this code knows but has not
reached (or one that scripts/squash.py folded into its history), the migration has not run
yet: it waits.
"""

import asyncio
import logging
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app import logs
from app.config import settings

# Named, not __name__: run as `python -m`, this module is "__main__".
logger = logging.getLogger("app.schema_revision")

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
WAIT_INTERVAL = 3.0  # seconds between two looks at the database


def code_script() -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(ALEMBIC_INI))


def known_revisions(script: ScriptDirectory) -> set[str]:
    return {revision.revision for revision in script.walk_revisions()}


async def database_revisions(engine: AsyncEngine) -> set[str]:
    """The revisions the database is at; none for a database Alembic has not migrated."""
    async with engine.connect() as connection:
        if not await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return set()
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        return set(result.scalars())


def squashed_into(script: ScriptDirectory, revision_id: str) -> str | None:
    """The revision that scripts/squash.py folded `revision_id` into, if it did."""
    for revision in script.walk_revisions():
        if revision_id in getattr(revision.module, "squashed", ()):
            return revision.revision
    return None


def unknown_revision(script: ScriptDirectory, current: str) -> str | None:
    """What to do about a database at `current`, if this code does not have that revision."""
    if current in known_revisions(script):
        return None
    if squashed := squashed_into(script, current):
        return (
            f"the database is at {current}, which was squashed into {squashed}: migrate it"
            f" to {squashed} with a release from before the squash, then run this again"
        )
    return (
        f"the database is at {current}, a revision this code does not have (a later"
        " release's, or another branch's): run this with the code that has it, or downgrade"
        " from there to a revision this code has"
    )


def not_ready_because(revisions: set[str], script: ScriptDirectory) -> str | None:
    """Why this code must not serve on a database at `revisions` yet; None if it may."""
    if not revisions:
        return "the database has no schema yet"
    heads = set(script.get_heads())
    known = known_revisions(script)
    behind = {
        revision
        for revision in revisions - heads
        if revision in known or squashed_into(script, revision) is not None
    }
    if behind:
        return (
            f"the database is at {', '.join(sorted(behind))}, before this code's head"
            f" {', '.join(sorted(heads))}: its migration has not run yet"
        )
    return None


async def wait_until_ready(engine: AsyncEngine, script: ScriptDirectory) -> set[str]:
    """Return the database's revisions once this code (`script`) may serve on them, saying
    why it waits meanwhile (once for each reason, not every few seconds)."""
    said = None
    while True:
        try:
            revisions = await database_revisions(engine)
            reason = not_ready_because(revisions, script)
        except (SQLAlchemyError, OSError) as error:
            reason = f"the database does not answer ({type(error).__name__})"
        if reason is None:
            return revisions
        if reason != said:
            logger.info("waiting: %s", reason)
            said = reason
        await asyncio.sleep(WAIT_INTERVAL)


def main() -> None:
    # The app's engine, with its connect timeout and whatever PgBouncer needs; imported
    # here, as env.py imports this module too and has no use for it.
    from app.database import engine

    script = code_script()

    async def wait() -> set[str]:
        try:
            return await wait_until_ready(engine, script)
        finally:
            await engine.dispose()

    logs.configure(settings.log_level, settings.log_format)
    revisions = asyncio.run(wait())
    later = revisions - set(script.get_heads())
    if later:
        logger.info("ready: the database is at %s, a later release's", ", ".join(sorted(later)))
    else:
        logger.info("ready: the database is at this code's head")


if __name__ == "__main__":
    main()
