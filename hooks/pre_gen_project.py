"""Refuses unusable answers before any file is rendered.

The Jinja extension in ``local_extensions.py`` checks the answers earlier still, while
cookiecutter renders them, so a refusal leaves no directory behind. This hook repeats the
check for callers that bypass that rendering (a replay file, an edited context): the same
extension renders this file, and writes in what it finds wrong with the answers, if anything.
"""

import json
import sys

PROBLEM = json.loads(r"""{{ cookiecutter | answers_problem | tojson }}""")


def main() -> int:
    if PROBLEM is None:
        return 0
    print(f"Error: {PROBLEM}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
