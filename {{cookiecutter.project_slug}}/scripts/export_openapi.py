"""Keep openapi.json, the API's schema as its clients see it, in step with the code.

Clients are generated from the committed file (README "API clients"), and a change to the
API shows in a pull request's diff of it. CI and the tests run this with --check.

    uv run python scripts/export_openapi.py            # rewrite openapi.json
    uv run python scripts/export_openapi.py --check    # fail unless it matches the code
"""

import argparse
import json
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = PROJECT / "openapi.json"


def current_schema() -> str:
    """The app's OpenAPI schema as the file holds it: keys sorted, so it reads the same
    whatever the order routes and models were declared in."""
    sys.path.insert(0, str(PROJECT))
    from app.main import app

    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args()
    schema = current_schema()
    committed = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    if args.check:
        if committed != schema:
            print(
                "openapi.json does not match the API: run"
                " `uv run python scripts/export_openapi.py` and commit it",
                file=sys.stderr,
            )
            return 1
        return 0
    if committed != schema:
        SCHEMA_FILE.write_text(schema, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
