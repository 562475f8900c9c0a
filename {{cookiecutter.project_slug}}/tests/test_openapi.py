"""The OpenAPI schema as a contract: operation ids clients can use, and openapi.json in step."""

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import app.routers
from app.main import app as served

PROJECT = Path(__file__).resolve().parents[1]


def route_functions() -> set[str]:
    """The names of the functions in app/routers/ that could serve a route."""
    modules = [
        importlib.import_module(f"app.routers.{module.name}")
        for module in pkgutil.iter_modules(app.routers.__path__)
    ]
    return {
        name
        for module in modules
        for name, function in vars(module).items()
        if inspect.iscoroutinefunction(function) and function.__module__ == module.__name__
    }


def test_operation_ids_are_the_route_functions_names() -> None:
    paths = served.openapi()["paths"].values()
    ids = [operation["operationId"] for path in paths for operation in path.values()]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id), operation_id
    assert set(ids) <= route_functions()
    assert {"create_user", "login", "list_posts", "read_post", "vote"} <= set(ids)


def test_openapi_json_is_the_schema_the_app_serves() -> None:
    check = subprocess.run(
        [sys.executable, "scripts/export_openapi.py", "--check"],
        cwd=PROJECT, capture_output=True, text=True,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
