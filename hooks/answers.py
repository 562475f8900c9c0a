"""Rules for the answers given to the template, shared by the hooks and the Jinja extension."""

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

SLUG = re.compile(r"[a-z][a-z0-9_-]{0,63}")
# Deliberately loose: one "@", no spaces, a dot in the domain. Deliverability is not our business.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
DATABASES = ("postgresql", "sqlite")
# Rendered into a Markdown heading, a TOML string and a Python literal: one line each.
FREE_TEXT = ("project_name", "description", "author_name")


class InvalidAnswer(ValueError):
    """An answer the template cannot render a working project from."""


def check_answers(answers: Mapping[str, Any]) -> None:
    """Raise InvalidAnswer, with a one-line reason, for the first answer that is not usable."""
    for key in FREE_TEXT:
        text = str(answers.get(key, ""))
        if any(unicodedata.category(character) == "Cc" for character in text):
            raise InvalidAnswer(
                f"invalid {key} {text!r}: use one line of text, without tabs or control characters"
            )
    slug = str(answers.get("project_slug", ""))
    if not SLUG.fullmatch(slug):
        raise InvalidAnswer(
            f"invalid project_slug {slug!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting with a letter"
        )
    email = str(answers.get("author_email", ""))
    if not EMAIL.fullmatch(email):
        raise InvalidAnswer(
            f"invalid author_email {email!r}: expected an address like name@example.com"
        )
    database = answers.get("database")
    if database not in DATABASES:
        raise InvalidAnswer(f"invalid database {database!r}: choose one of {', '.join(DATABASES)}")
    if answers.get("kubernetes") and not (database == "postgresql" and answers.get("docker")):
        raise InvalidAnswer(
            "invalid kubernetes=yes: the manifests run the Docker image against PostgreSQL; "
            "answer database=postgresql and docker=yes, or kubernetes=no"
        )
