"""Migrating a database that is serving traffic: the migration lock, lock timeouts, retries.

A migration that waits for a table lock (an `ALTER TABLE` behind a long report) makes every
later query of that table queue behind it. So each attempt waits only briefly for its
locks; when that is not enough, its transaction is rolled back, freeing the queue, and the
revision runs again from its start after a pause, until the retry window runs out. Each
retry names the sessions that were in the way.

The window counts time spent waiting, not working: a revision that backfills for ten
minutes and is then blocked at its last statement is retried like any other. A retry runs
the whole revision again, so a revision that commits part of its work as it goes (an
autocommit block) must be written to be run again: `IF NOT EXISTS`, batches that skip
rows already done.
"""

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alembic.util import CommandError
from sqlalchemy import URL, Connection, pool, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

log = logging.getLogger("alembic.env")

# Any constant works, as long as every copy of the service uses the same one.
MIGRATION_LOCK_KEY = 4_218_093_557
# Seconds between two tries for the migration lock while another process holds it.
LOCK_POLL_INTERVAL = 0.5
# PostgreSQL's SQLSTATE for "canceling statement due to lock timeout".
LOCK_NOT_AVAILABLE = "55P03"
HIDDEN_QUERY = "<insufficient privilege>"
BLOCKERS = text(
    "SELECT pid, usename AS user, application_name AS application, state,"
    " extract(epoch FROM now() - xact_start)::float AS transaction_seconds,"
    " left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query"
    " FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids(:pid))"
)


def timeout_statements(
    lock_timeout: float, statement_timeout: float, *, scope: str = "SESSION"
) -> list[str]:
    """The settings every migration transaction runs under: for the session or, with scope
    LOCAL, for the current transaction only."""
    return [
        f"SET {scope} lock_timeout = '{round(lock_timeout * 1000)}ms'",
        f"SET {scope} statement_timeout = '{round(statement_timeout * 1000)}ms'",
    ]


@contextmanager
def migration_lock(connection: Connection, timeouts: Iterable[str]) -> Iterator[None]:
    """Hold the migration lock and the timeouts on `connection` until the block ends.

    Replicas that migrate at once queue here, and those after the first find the schema
    already at head. The lock is session-level, so it spans every migration's transaction,
    and it is committed before Alembic begins its own: Alembic would take an open
    transaction for the caller's, and never commit it.

    It is waited for by asking again and again, not by `pg_advisory_lock()`: a session
    waiting inside a statement holds a snapshot, and a `CREATE INDEX CONCURRENTLY` of the
    migration it waits for would wait for that snapshot in turn, for ever.
    """
    try_lock = text("SELECT pg_try_advisory_lock(:key)")
    for attempt in itertools.count():
        if connection.execute(try_lock, {"key": MIGRATION_LOCK_KEY}).scalar_one():
            break
        connection.rollback()
        if attempt == 0:
            log.info("another migration of this database is running; waiting for it to end")
        time.sleep(LOCK_POLL_INTERVAL)
    # Set after the lock: waiting for the lock is not subject to the lock timeout.
    for statement in timeouts:
        connection.execute(text(statement))
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()  # whatever a failed migration left open
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.execute(text("RESET lock_timeout"))
        connection.execute(text("RESET statement_timeout"))
        connection.commit()


def is_lock_timeout(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and (
        getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE
    )


@dataclass(frozen=True)
class Blocker:
    """A session holding a lock the migration waited for, as far as the migration may see.

    `pg_stat_activity` hides other roles' state, transaction and query unless the role has
    `pg_read_all_stats`; pid, user and application are always visible.
    """

    pid: int
    user: str | None
    application: str | None
    state: str | None
    transaction_seconds: float | None
    query: str | None

    def __str__(self) -> str:
        details = f'user {self.user or "?"}, application "{self.application or ""}"'
        if self.query in (None, HIDDEN_QUERY):
            return f"pid {self.pid} ({details}; state and query hidden without pg_read_all_stats)"
        if self.state:
            details += f", {self.state}"
        if self.transaction_seconds is not None:
            details += f", transaction open {self.transaction_seconds:.1f} s"
        return f"pid {self.pid} ({details}, query {self.query!r})"


def describe(blockers: Iterable[Blocker]) -> str:
    seen = ", ".join(str(blocker) for blocker in blockers)
    return f"blocked by {seen}" if seen else "the sessions in its way were gone before they showed"


class BlockerWatch:
    """Notes, from a connection of its own, which sessions block the migration's connection.

    Once a lock timeout has ended the wait, the migration waits for nothing and PostgreSQL
    no longer says for whom it waited: the answer has to be taken while it waits.
    """

    INTERVAL = 0.1

    def __init__(self, url: URL, pid: int) -> None:
        self._url = url
        self._pid = pid
        self._seen: dict[int, Blocker] = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=asyncio.run, args=(self._poll(),), daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def take(self) -> list[Blocker]:
        """The blockers seen since the last call."""
        with self._guard:
            seen, self._seen = self._seen, {}
        return list(seen.values())

    async def _poll(self) -> None:
        # Autocommit: a transaction held open here would itself hold up the migration.
        engine = create_async_engine(
            self._url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            async with engine.connect() as connection:
                while not self._stopping.is_set():
                    rows = (await connection.execute(BLOCKERS, {"pid": self._pid})).all()
                    with self._guard:
                        self._seen.update((row.pid, Blocker(**row._mapping)) for row in rows)
                    await asyncio.sleep(self.INTERVAL)
        except (DBAPIError, OSError) as error:
            log.warning("cannot watch for blocking sessions: %s", error.__class__.__name__)
        finally:
            await engine.dispose()


class LockRetries:
    """Runs a migration command, retrying each revision that cannot get its locks in time.

    The command's steps are worked out once, so a retry resumes with the blocked revision
    whatever the target (`-1` included), and the revisions already applied stay applied.
    """

    def __init__(self, watch: BlockerWatch, *, lock_timeout: float, window: float) -> None:
        self.watch = watch
        self.lock_timeout = lock_timeout
        self.window = window
        self.steps: list[Any] | None = None
        self.applied = 0

    def steps_of(self, command_steps: Callable[..., Iterable[Any]]) -> Callable[..., list[Any]]:
        """Wrap the command's step function (the `fn` Alembic configures) to run each once."""

        def remaining_steps(heads: Any, migration_context: Any) -> list[Any]:
            if self.steps is None:
                self.steps = list(command_steps(heads, migration_context))
                if self.steps:
                    self.watch.start()
            return self.steps[self.applied :]

        return remaining_steps

    def step_applied(self, **_: Any) -> None:
        self.applied += 1

    def blocked_step(self, error: DBAPIError) -> Any | None:
        """The revision a lock timeout stopped; None for any other error, or a lock wait
        outside the revisions (on alembic_version, say), which is not retried."""
        if not is_lock_timeout(error) or self.steps is None or self.applied >= len(self.steps):
            return None
        return self.steps[self.applied]

    def run(self, run_migrations: Callable[[], None], current: Callable[[], str]) -> None:
        waited = 0.0  # for locks, and in the pauses between attempts
        for attempt in itertools.count(1):
            try:
                run_migrations()
                return
            except DBAPIError as error:
                step = self.blocked_step(error)
                if step is None:
                    raise
            blockers = describe(self.watch.take())
            pause = min(0.5 * 2 ** (attempt - 1), 5.0)
            waited += self.lock_timeout
            if waited + pause > self.window:
                raise CommandError(
                    f"{step.short_log} gave up after {attempt} attempts"
                    f" ({waited:.1f} s spent waiting), {blockers};"
                    f" the database stays at {current() or 'base'}: end those sessions, or"
                    " migrate again once they are done"
                ) from None
            log.warning(
                "%s: no lock within %g s (attempt %d), %s; trying again in %g s",
                step.short_log, self.lock_timeout, attempt, blockers, pause,
            )  # fmt: skip
            time.sleep(pause)
            waited += pause
