"""Refuses unusable answers before any file is rendered.

The Jinja extension in ``local_extensions.py`` already checks the answers as they are
rendered; this hook repeats the check for tools that render the context their own way.
"""

import json
import sys

# Answers arrive as JSON data, never spliced into code.
ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")


def main() -> int:
    # Hooks run from a temporary copy: the rules are imported from the template itself.
    sys.path.insert(0, ANSWERS["_repo_dir"])
    from hooks.answers import InvalidAnswer, check_answers

    try:
        check_answers(ANSWERS)
    except InvalidAnswer as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
