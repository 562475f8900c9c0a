"""The service behind PgBouncer in transaction pooling mode, with DATABASE_PGBOUNCER=true."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import Bake, Database
from tests.service import free_port, serve

CLIENTS = 16
ROUNDS = 10


def _pgbouncer() -> str:
    path = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if path is None:
        pytest.fail("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    return path


@contextmanager
def pgbouncer(database: Database) -> Iterator[Database]:
    """PgBouncer in transaction mode in front of `database`; yields the database through it."""
    settings = database.settings
    # PgBouncer refuses to run as root, so root runs it as the postgres user.
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    port = free_port()
    user, password = settings["DATABASE_USERNAME"], settings["DATABASE_PASSWORD"]
    # userlist.txt quotes each field and doubles any quote inside it.
    user_field, password_field = (
        '"' + value.replace('"', '""') + '"' for value in (user, password)
    )
    (workdir / "userlist.txt").write_text(f"{user_field} {password_field}\n")
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={settings["DATABASE_HOSTNAME"]} port={settings["DATABASE_PORT"]}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {workdir}/userlist.txt
pool_mode = transaction
default_pool_size = 5
max_client_conn = 500
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    if run_as:
        shutil.chown(workdir, "postgres")
        for path in workdir.iterdir():
            shutil.chown(path, "postgres")
    process = subprocess.Popen([*run_as, _pgbouncer(), str(workdir / "pgbouncer.ini")])
    try:
        through = Database(database.url.replace(f":{settings['DATABASE_PORT']}/", f":{port}/"))
        deadline = time.monotonic() + 10
        while True:
            try:
                through.psql("SELECT 1")
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    log = workdir / "pgbouncer.log"
                    pytest.fail(
                        f"pgbouncer did not start:\n{log.read_text() if log.exists() else ''}"
                    )
                time.sleep(0.2)
        yield through
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


async def _drive(base_url: str) -> list[str]:
    """Concurrent clients signing up, posting, reading and voting; returns every failure."""
    failures: list[str] = []

    async def client_run(number: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            email = f"user{number}@example.com"
            password = "correct horse battery staple"
            signup = await client.post("/users/", json={"email": email, "password": password})
            if signup.status_code != 201:
                failures.append(f"sign-up {signup.status_code} {signup.text}")
                return
            login = await client.post("/login", data={"username": email, "password": password})
            if login.status_code != 200:
                failures.append(f"login {login.status_code} {login.text}")
                return
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for round_number in range(ROUNDS):
                created = await client.post(
                    "/posts/", json={"title": f"t{round_number}", "content": "c"}, headers=headers
                )
                post_id = created.json().get("id")
                responses = [
                    created,
                    await client.get(f"/posts/{post_id}", headers=headers),
                    await client.get("/posts/", params={"limit": 10}, headers=headers),
                    await client.post(
                        "/vote/", json={"post_id": post_id, "dir": 1}, headers=headers
                    ),
                    await client.get("/users/me", headers=headers),
                ]
                failures.extend(
                    f"{r.request.method} {r.request.url.path} {r.status_code} {r.text[:200]}"
                    for r in responses
                    if r.status_code >= 300
                )

    await asyncio.gather(*(client_run(n) for n in range(CLIENTS)))
    return failures


def test_the_api_works_through_pgbouncer_in_transaction_mode(
    bake: Bake, new_database: Callable[[], Database], tmp_path: Path
) -> None:
    project = bake(database="postgresql")
    project.sync()
    database = new_database()
    # Migrations connect to PostgreSQL directly; only the app goes through PgBouncer.
    project.use_database(database)
    project.alembic("upgrade", "head")
    with pgbouncer(database) as pooled:
        env = {**pooled.settings, "DATABASE_PGBOUNCER": "true", "ARGON2_MEMORY_COST": "1024"}
        # A new pod's init container asks through PgBouncer too, with the app's engine.
        waited = project.run("uv", "run", "--no-sync", "python", "-m", "app.schema_revision",
                             env=env)  # fmt: skip
        assert "ready: the database is at this code's head" in waited.stderr
        with serve(project, tmp_path / "uvicorn.log", env) as service:
            failures = asyncio.run(_drive(service.base_url))
            log = service.log()
    assert failures == []
    assert "Traceback" not in log
    assert database.psql("SELECT count(*) FROM posts") == str(CLIENTS * ROUNDS)
