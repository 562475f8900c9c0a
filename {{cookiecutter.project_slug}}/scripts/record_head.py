"""Keep alembic/head.txt naming the head revision, so that history stays a line.

Two branches that each add a revision both rewrite this one line, so git stops the second
merge with a conflict instead of leaving main with two heads. Alembic runs this after it
writes a revision (a post-write hook in alembic.ini); CI and the tests run it with --check.

    uv run python -m scripts.record_head            # rewrite alembic/head.txt
    uv run python -m scripts.record_head --check    # fail unless it names the single head
"""

import argparse
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

PROJECT = Path(__file__).resolve().parents[1]
HEAD_FILE = PROJECT / "alembic" / "head.txt"


def script_heads() -> list[str]:
    return sorted(ScriptDirectory.from_config(Config(PROJECT / "alembic.ini")).get_heads())


def recorded_heads() -> list[str]:
    return HEAD_FILE.read_text(encoding="utf-8").split() if HEAD_FILE.exists() else []


def problem() -> str | None:
    """What is wrong with the history or alembic/head.txt, if anything."""
    heads = script_heads()
    if len(heads) > 1:
        return (
            f"several heads ({', '.join(heads)}): rebase the newer revision onto the other "
            "(set its down_revision), or `alembic merge heads` if both must stay"
        )
    if recorded_heads() != heads:
        return (
            f"alembic/head.txt names {' '.join(recorded_heads()) or 'nothing'} but the head is"
            f" {' '.join(heads)}: run `uv run python -m scripts.record_head`"
        )
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    # Alembic's hook passes the revision it wrote; the head is read from all of them.
    parser.add_argument("revision_file", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.check:
        HEAD_FILE.write_text("".join(f"{head}\n" for head in script_heads()), encoding="utf-8")
    if message := problem():
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
