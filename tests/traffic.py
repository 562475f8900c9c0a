"""Clients of a served project: accounts, one-connection clients, and a mixed load."""

import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

USER_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Account:
    email: str
    headers: dict[str, str]


def sign_up(base_url: str, email: str) -> Account:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        created = client.post("/users/", json={"email": email, "password": USER_PASSWORD})
        assert created.status_code == 201, created.text
        login = client.post("/login", data={"username": email, "password": USER_PASSWORD})
        assert login.status_code == 200, login.text
    return Account(email, {"Authorization": f"Bearer {login.json()['access_token']}"})


def sign_up_many(base_url: str, count: int) -> list[Account]:
    return [sign_up(base_url, f"user{n}@example.com") for n in range(count)]


def connection(base_url: str, timeout: float) -> httpx.AsyncClient:
    """A client of its own: one keep-alive connection, used back to back, never left idle
    long enough to race the server closing it."""
    limits = httpx.Limits(max_connections=1)
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)


@dataclass
class Load:
    """What a load run got back: answers per operation, and anything that was not one."""

    clients: int
    answered: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        total = sum(self.answered.values())
        percentiles = statistics.quantiles(self.latencies, n=100)
        return (
            f"{self.clients} clients, {total} requests in {self.seconds:.1f} s "
            f"({total / self.seconds:.0f}/s), p50 {percentiles[49] * 1000:.0f} ms, "
            f"p99 {percentiles[98] * 1000:.0f} ms, max {max(self.latencies) * 1000:.0f} ms: "
            f"{dict(self.answered)}; "
            f"{len(self.failures)} failed"
        )


def next_request(
    rng: random.Random, number: int, post_ids: list[int], own_post: int
) -> tuple[str, dict[str, Any], set[int]]:
    """One client's next request, mostly reads: its name, httpx arguments, and good answers."""
    operations = ["list", "get", "create", "update", "vote"]
    operation = rng.choices(operations, [32, 32, 13, 10, 13])[0]
    if operation == "list":
        return operation, {"method": "GET", "url": "/posts/?limit=10"}, {200}
    if operation == "get":
        return operation, {"method": "GET", "url": f"/posts/{rng.choice(post_ids)}"}, {200}
    if operation in {"create", "update"}:
        body = {"title": f"load {number}", "content": f"{operation}d under load"}
        if operation == "update":
            return operation, {"method": "PUT", "url": f"/posts/{own_post}", "json": body}, {200}
        return operation, {"method": "POST", "url": "/posts/", "json": body}, {201}
    direction = rng.choice([0, 1])
    body = {"post_id": rng.choice(post_ids), "dir": direction}
    # Voting twice is a conflict; taking back a vote never given is a 404.
    expected = {201, 409} if direction else {201, 404}
    return operation, {"method": "POST", "url": "/vote/", "json": body}, expected


async def drive_load(
    base_url: str,
    accounts: list[Account],
    *,
    clients: int,
    seconds: float,
    stop: asyncio.Event | None = None,
) -> Load:
    """Mixed reads and writes from `clients` clients for `seconds` (or until `stop` is set),
    each request timing out after 30 s; every answer not among the good ones is a failure."""
    stop = stop or asyncio.Event()
    load = Load(clients)
    post_ids: list[int] = []
    async with connection(base_url, 30) as client:
        for account in accounts:
            body = {"title": "seed", "content": "a post to read and vote on"}
            response = await client.post("/posts/", json=body, headers=account.headers)
            assert response.status_code == 201, response.text
            post_ids.append(response.json()["id"])

    async def one_client(number: int, deadline: float) -> None:
        rng = random.Random(number)
        headers = accounts[number % len(accounts)].headers
        own_post = post_ids[number % len(accounts)]  # the account's seed post
        async with connection(base_url, 30) as client:
            while time.monotonic() < deadline and not stop.is_set():
                operation, request, expected = next_request(rng, number, post_ids, own_post)
                sent = time.monotonic()
                try:
                    response = await client.request(**request, headers=headers)
                except httpx.HTTPError as error:
                    load.failures.append(f"{operation}: {error!r}")
                    continue
                load.latencies.append(time.monotonic() - sent)
                load.answered[operation] += 1
                if response.status_code not in expected:
                    load.failures.append(f"{operation}: {response.status_code} {response.text}")
                elif operation == "create":
                    post_ids.append(response.json()["id"])

    started = time.monotonic()
    await asyncio.gather(*(one_client(n, started + seconds) for n in range(clients)))
    load.seconds = time.monotonic() - started
    return load
