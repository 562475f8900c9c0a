"""Answers the template cannot use are refused with one line, leaving nothing on disk."""

import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from hooks.answers import InvalidAnswer, check_answers
from tests.conftest import TEMPLATE

VALID = {"project_slug": "blog-api", "author_email": "jane@example.com", "database": "postgresql"}

BAD_ANSWERS = [
    pytest.param({"project_slug": "blog api"}, "project_slug", id="slug-space"),
    pytest.param({"project_slug": "Blog"}, "project_slug", id="slug-uppercase"),
    pytest.param({"project_slug": "1blog"}, "project_slug", id="slug-leading-digit"),
    pytest.param({"project_slug": "a/b"}, "project_slug", id="slug-slash"),
    pytest.param({"project_slug": ".."}, "project_slug", id="slug-dotdot"),
    pytest.param({"project_slug": "../escape"}, "project_slug", id="slug-parent-path"),
    pytest.param({"project_slug": ""}, "project_slug", id="slug-empty"),
    pytest.param({"author_email": "jane"}, "author_email", id="email-no-at"),
    pytest.param({"author_email": "jane@example"}, "author_email", id="email-no-dot"),
    pytest.param({"author_email": "jane doe@example.com"}, "author_email", id="email-space"),
    pytest.param({"project_name": "Blog\nAPI"}, "project_name", id="name-two-lines"),
    pytest.param({"description": "One\r\ntwo"}, "description", id="description-two-lines"),
    pytest.param({"author_name": "Jane\tDoe"}, "author_name", id="author-tab"),
]


@pytest.mark.parametrize(("answers", "key"), BAD_ANSWERS)
def test_check_answers_names_the_bad_answer(answers: dict[str, str], key: str) -> None:
    with pytest.raises(InvalidAnswer, match=key):
        check_answers({**VALID, **answers})


@pytest.mark.parametrize(
    "answers",
    [VALID, {**VALID, "project_slug": "a"}, {**VALID, "project_slug": "blog_api2"}],
    ids=["default", "one-letter", "underscore-digit"],
)
def test_check_answers_accepts_valid_answers(answers: dict[str, str]) -> None:
    check_answers(answers)


@pytest.mark.parametrize(("answers", "key"), BAD_ANSWERS)
def test_cli_refuses_with_one_line_and_leaves_nothing(
    answers: dict[str, str], key: str, tmp_path: Path
) -> None:
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    extra = [f"{name}={value}" for name, value in answers.items()]
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input",
         "--output-dir", str(output_dir), *extra],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: invalid {key}")
    assert list(output_dir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_bake_api_reports_a_refusal_as_a_hook_failure(cookies) -> None:  # type: ignore[no-untyped-def]
    result = cookies.bake(extra_context={"project_slug": "Not Valid"})
    assert isinstance(result.exception, FailedHookException)
    assert result.exit_code != 0
    assert result.project_path is None
