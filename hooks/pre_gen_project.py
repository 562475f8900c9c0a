"""Refuses unusable answers before any file is rendered.

The Jinja extension in ``local_extensions.py`` checks the answers earlier still, while
cookiecutter renders them, so a refusal leaves no directory behind. This hook repeats the
check for callers that bypass that rendering (a replay file, an edited context).
"""

import json
import sys

# Answers arrive as JSON data, never spliced into code.
ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")


def main() -> int:
    repo_dir = ANSWERS.get("_repo_dir")
    if repo_dir is None:
        # Tools such as cruft render the context themselves, through the same extension,
        # and do not say where the template is: the answers were already checked.
        return 0
    # Hooks run from a temporary copy: the rules are imported from the template itself.
    sys.path.insert(0, repo_dir)
    from hooks.answers import InvalidAnswer, check_answers

    try:
        check_answers(ANSWERS)
    except InvalidAnswer as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
