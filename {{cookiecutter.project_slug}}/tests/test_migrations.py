"""The migrations: one head, a clean round trip, and no drift from the models.

Written by hand rather than taken from pytest-alembic, whose ready-made tests check the
same: its plugin (0.13.1) stops pytest 9.2 at collection in any suite with a
tests/conftest.py. env.py takes the AsyncEngine it hands over, so they can replace these
once that is fixed.
"""

from collections.abc import Callable
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.conftest import run_alembic

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


def revisions_from_base() -> list[str]:
    script = ScriptDirectory.from_config(Config(ALEMBIC_INI))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def test_there_is_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(Config(ALEMBIC_INI))
    assert len(script.get_heads()) == 1


def test_head_file_names_the_single_head() -> None:
    """Two branches that each add a revision then conflict in git, on alembic/head.txt."""
    script = ScriptDirectory.from_config(Config(ALEMBIC_INI))
    recorded = (ALEMBIC_INI.parent / "alembic" / "head.txt").read_text(encoding="utf-8")
    assert recorded.split() == list(script.get_heads())


def test_upgrade_downgrade_round_trip(create_empty_database: Callable[[], str]) -> None:
    url = create_empty_database()
    run_alembic("upgrade", "head", database_url=url)
    run_alembic("downgrade", "base", database_url=url)
    assert run_alembic("current", database_url=url).strip() == ""
    run_alembic("upgrade", "head", database_url=url)
    assert run_alembic("current", database_url=url).split() == [
        revisions_from_base()[-1],
        "(head)",
    ]


def test_each_revision_steps_down_and_up_again(create_empty_database: Callable[[], str]) -> None:
    url = create_empty_database()
    for revision in revisions_from_base():
        run_alembic("upgrade", revision, database_url=url)
        run_alembic("downgrade", "-1", database_url=url)
        run_alembic("upgrade", revision, database_url=url)


def test_migrations_match_the_models(create_empty_database: Callable[[], str]) -> None:
    url = create_empty_database()
    run_alembic("upgrade", "head", database_url=url)
    assert "No new upgrade operations" in run_alembic("check", database_url=url)
