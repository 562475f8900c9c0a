"""Jinja filters for cookiecutter.json and the template's files.

``check_answers`` checks the answers while cookiecutter renders them, before anything is
written: cookiecutter creates the project directory (and the parents of a slug such as
``a/b``) before ``pre_gen_project`` runs, so a refusal there can leave directories behind.
Raising ``FailedHookException`` stops the bake earlier, and cookiecutter's command line
prints it as one line.

``quoted`` renders free text as a double-quoted string literal that TOML reads back
exactly. Jinja's ``tojson`` is not enough: it escapes characters outside the BMP as JSON
surrogate pairs, which Python reads as two broken characters. ``python_literal`` does the
same for Python, with the quotes ruff's formatter would choose (single ones when the text
has more double quotes than single), so a fresh bake passes ``ruff format --check``.
"""

import json
from typing import Any

from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment
from jinja2.ext import Extension

from hooks.answers import InvalidAnswer, check_answers


def _answers_problem(answers: dict[str, Any]) -> str | None:
    try:
        check_answers(answers)
    except InvalidAnswer as error:
        return str(error)
    return None


def _check_answers(answers: dict[str, Any]) -> str:
    problem = _answers_problem(answers)
    if problem is not None:
        raise FailedHookException(f"Error: {problem}")
    return "ok"


def _quoted(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)


def _python_literal(text: str) -> str:
    text = str(text)
    literal = _quoted(text)  # also valid Python: backslashes, quotes, controls escaped
    if text.count('"') <= text.count("'"):
        return literal
    # In JSON every double quote is escaped by the backslash right before it.
    body = literal[1:-1].replace('\\"', '"').replace("'", "\\'")
    return f"'{body}'"


class TemplateFilters(Extension):
    """Adds the ``check_answers``, ``answers_problem``, ``quoted`` and ``python_literal``
    filters."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["check_answers"] = _check_answers
        environment.filters["answers_problem"] = _answers_problem
        environment.filters["quoted"] = _quoted
        environment.filters["python_literal"] = _python_literal
