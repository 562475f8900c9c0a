"""Every combination of options renders a complete project with nothing left unrendered."""

import ast
import json
import re
import tomllib
from typing import Any

import pytest
import yaml

from tests.conftest import Bake, BakedProject, tool
from tests.matrix import RENDER_ROWS, row_id

COMMON_FILES = {
    "README.md",
    "pyproject.toml",
    "alembic.ini",
    ".env.example",
    ".env",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    "alembic/env.py",
    "alembic/head.txt",
    "alembic/script.py.mako",
    "app/__init__.py",
    "app/body_limit.py",
    "app/cors.py",
    "app/errors.py",
    "app/logs.py",
    "app/main.py",
    "app/config.py",
    "app/database.py",
    "app/models.py",
    "app/schemas.py",
    "app/schema_revision.py",
    "app/security.py",
    "app/routers/__init__.py",
    "app/routers/auth.py",
    "app/routers/health.py",
    "app/routers/posts.py",
    "app/routers/users.py",
    "app/routers/votes.py",
    "openapi.json",
    "scripts/export_openapi.py",
    "scripts/record_head.py",
    "scripts/squash.py",
    "tests/databases.py",
}
POSTGRESQL_FILES = {
    "tests/postgres_server.py", ".squawk.toml", "scripts/lint_migrations.py",
    "scripts/check_compatibility.py", "app/migration_locks.py", "app/migration_enums.py",
}  # fmt: skip
DOCKER_FILES = {"Dockerfile", ".dockerignore", "compose.yaml"}
GITHUB_ACTIONS_FILES = {".github/workflows/ci.yml"}
KUBERNETES_FILES = {
    f"deploy/kubernetes/{name}.yaml"
    for name in ("kustomization", "configmap", "deployment", "service", "hpa", "pdb",
                 "migration-job")
}  # fmt: skip
COMMON_FILES |= {".gitattributes"}
METRICS_FILES = {"app/metrics.py"}
TRACING_FILES = {"app/tracing.py"}

COMBINATIONS = [pytest.param(row, id=row_id(row)) for row in RENDER_ROWS]
# Jinja left unrendered; GitHub Actions' own ${{ }} expressions are not ours.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")


def expected_files(options: dict[str, Any]) -> set[str]:
    files = set(COMMON_FILES)
    if options["database"] == "postgresql":
        files |= POSTGRESQL_FILES
    if options["docker"]:
        files |= DOCKER_FILES
    if options["github_actions"]:
        files |= GITHUB_ACTIONS_FILES
    if options["kubernetes"]:
        files |= KUBERNETES_FILES
    if options["metrics"]:
        files |= METRICS_FILES
    if options["tracing"]:
        files |= TRACING_FILES
    return files


def migration_files(project: BakedProject) -> set[str]:
    return {f for f in project.files() if f.startswith("alembic/versions/")}


@pytest.mark.parametrize("options", COMBINATIONS)
def test_bake_has_exactly_the_files_its_options_call_for(
    bake: Bake, options: dict[str, Any]
) -> None:
    project = bake(**options)
    files = project.files() - migration_files(project)
    test_modules = {f for f in files if re.fullmatch(r"tests/(test_\w+|conftest|__init__)\.py", f)}
    assert files - test_modules == expected_files(options)
    slugs = ["create_users_posts_votes"]
    if options["database"] == "postgresql":
        slugs.append("search_post_titles")  # the trigram index, which SQLite has no use for
    migrations = sorted(migration_files(project))
    assert len(migrations) == len(slugs), migrations
    for migration, slug in zip(migrations, slugs, strict=True):
        assert re.fullmatch(
            rf"alembic/versions/\d{{4}}_\d{{2}}_\d{{2}}_\d{{4}}_[0-9a-f]{{12}}_{slug}\.py",
            migration,
        )


@pytest.mark.parametrize("options", COMBINATIONS)
def test_bake_leaves_no_template_syntax_and_parses(bake: Bake, options: dict[str, Any]) -> None:
    project = bake(**options)
    for name in project.files():
        assert not LEFTOVER.search(name), name
        text = project.read(name)
        assert not LEFTOVER.search(text), f"{name}: {LEFTOVER.search(text)}"
        if name.endswith(".py"):
            ast.parse(text, filename=name)
        elif name.endswith(".toml"):
            tomllib.loads(text)
        elif name.endswith((".yml", ".yaml")):
            yaml.safe_load(text)


def test_each_bake_gets_its_own_secret_key(bake: Bake) -> None:
    def secret_key(project: BakedProject) -> str:
        [key] = re.findall(r"(?m)^SECRET_KEY=(.*)$", project.read(".env"))
        return key

    first, second = secret_key(bake()), secret_key(bake())
    assert first != second
    assert len(first) >= 32
    placeholder = re.search(r"(?m)^SECRET_KEY=(.*)$", bake().read(".env.example"))
    assert placeholder is not None
    assert first != placeholder.group(1)


def test_dotenv_is_git_ignored(bake: Bake) -> None:
    ignored = bake().read(".gitignore").splitlines()
    assert ".env" in ignored


def test_alembic_ini_holds_no_credentials(bake: Bake) -> None:
    ini = bake().read("alembic.ini")
    assert not re.search(r"(?m)^\s*sqlalchemy\.url", ini)
    assert "postgresql://" not in ini


def test_slug_derives_from_project_name(bake: Bake) -> None:
    project = bake(project_name="Blog API for Écoles")
    assert project.path.name == "blog-api-for-ecoles"
    assert tomllib.loads(project.read("pyproject.toml"))["project"]["name"] == project.path.name


HOSTILE_ANSWERS = {
    "project_name": 'Tom\'s "Blog" \\ API #1 $HOME ${USER} `x` — Ünïcødé 🚀',
    "project_slug": "hostile-blog",
    "description": 'It\'s a "test" with \\backslashes\\, # hashes, $PATH, {braces} — ✓',
    "author_name": 'Seán O\'Brien "Bob" \\ #$',
}


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_hostile_answers_render_as_data(bake: Bake, database: str) -> None:
    project = bake(database=database, **HOSTILE_ANSWERS)
    pyproject = tomllib.loads(project.read("pyproject.toml"))["project"]
    assert pyproject["description"] == HOSTILE_ANSWERS["description"]
    assert pyproject["authors"][0]["name"] == HOSTILE_ANSWERS["author_name"]

    assert app_title(project) == HOSTILE_ANSWERS["project_name"]
    project.run(tool("ruff"), "format", "--check", "app/main.py")
    # openapi.json holds the title as scripts/export_openapi.py writes it (json.dumps).
    assert json.loads(project.read("openapi.json"))["info"]["title"] == app_title(project)
    title_line = f'    "title": {json.dumps(HOSTILE_ANSWERS["project_name"])},\n'
    assert title_line in project.read("openapi.json")
    assert project.read("README.md").startswith(f"# {HOSTILE_ANSWERS['project_name']}\n")
    for name in project.files():
        if name.endswith((".yml", ".yaml")):
            yaml.safe_load(project.read(name))


def app_title(project: BakedProject) -> object:
    """The `title=` argument of `app/main.py`, read back as Python reads it."""
    main = ast.parse(project.read("app/main.py"))
    [title] = [
        keyword.value
        for node in ast.walk(main)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "title"
    ]
    return ast.literal_eval(title)


@pytest.mark.parametrize("name", ['Say "hi"', "Tom's blog", 'Tom\'s "blog" \\ \'x\' "y"'])
def test_the_app_title_is_exact_and_already_formatted(bake: Bake, name: str) -> None:
    project = bake(project_name=name, project_slug="quoted-title", docker=False)
    assert app_title(project) == name
    project.run(tool("ruff"), "format", "--check", "app/main.py")


def test_hostile_project_name_derives_a_valid_slug(bake: Bake) -> None:
    project = bake(project_name=HOSTILE_ANSWERS["project_name"])
    assert re.fullmatch(r"[a-z][a-z0-9_-]*", project.path.name)


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_the_readme_opening_says_each_thing_once(bake: Bake, database: str) -> None:
    project = bake(database=database)
    rest = project.read("README.md").partition("\n")[2]  # past the title
    opening = rest.split("\n## ")[0]
    assert project.context["description"] in opening
    for word in ("FastAPI", "SQLAlchemy", "Alembic", "PostgreSQL" if database == "postgresql"
                 else "SQLite", "migration"):  # fmt: skip
        assert opening.lower().count(word.lower()) == 1, (word, opening)
