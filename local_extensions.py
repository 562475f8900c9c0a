"""Checks the answers while cookiecutter renders them, before anything is written to disk.

Cookiecutter creates the project directory (and the parents of a slug such as ``a/b``)
before ``pre_gen_project`` runs, so a refusal there can leave directories behind. Raising
``FailedHookException`` here stops the bake earlier, and cookiecutter's command line prints
it as one line.
"""

from typing import Any

from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment
from jinja2.ext import Extension

from hooks.answers import InvalidAnswer, check_answers


def _check_answers_filter(answers: dict[str, Any]) -> str:
    try:
        check_answers(answers)
    except InvalidAnswer as error:
        raise FailedHookException(f"Error: {error}") from None
    return "ok"


class AnswerChecks(Extension):
    """Adds the ``check_answers`` filter used by ``cookiecutter.json``."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["check_answers"] = _check_answers_filter
