"""A project made with `cruft create` follows a later template change with `cruft update`."""

import shutil
import subprocess
from pathlib import Path

from tests.conftest import TEMPLATE, clean_environ, git, tool

HEALTH = "{{cookiecutter.project_slug}}/app/routers/health.py"
LOCAL_EDIT = "Notes the team added after baking.\n"


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("cruft"), *args], cwd=cwd, env=clean_environ(), capture_output=True, text=True,
        check=False,
    )  # fmt: skip


def copy_template(destination: Path) -> Path:
    """The template's tracked files (as committed or edited now) in a fresh git repository."""
    tracked = git(TEMPLATE, "ls-files", "-z").stdout.split("\0")
    for name in filter(None, tracked):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TEMPLATE / name, target)
    git(destination, "init", "-q")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "template v1")
    return destination


def test_cruft_update_brings_template_changes_and_keeps_local_edits(tmp_path: Path) -> None:
    template = copy_template(tmp_path / "template")
    created = cruft(tmp_path, "create", str(template), "--no-input", "--output-dir", "out")
    assert created.returncode == 0, created.stderr
    project = tmp_path / "out" / "fastapi-service"
    secret_before = (project / ".env").read_text()
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "baked")
    with (project / "README.md").open("a") as readme:
        readme.write(LOCAL_EDIT)
    git(project, "commit", "-q", "-am", "local edit")

    health = template / HEALTH
    health.write_text(health.read_text() + "\n# Changed in template v2.\n")
    git(template, "commit", "-q", "-am", "template v2")
    assert cruft(project, "check").returncode != 0

    updated = cruft(project, "update", "--skip-apply-ask")
    assert updated.returncode == 0, updated.stderr
    assert "# Changed in template v2." in (project / "app/routers/health.py").read_text()
    assert (project / "README.md").read_text().endswith(LOCAL_EDIT)
    assert (project / ".env").read_text() == secret_before
    assert not list(project.rglob("*.rej"))
    assert cruft(project, "check").returncode == 0
