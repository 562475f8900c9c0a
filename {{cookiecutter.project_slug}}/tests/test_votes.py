"""POST /vote/: one vote per user and post."""

from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Vote
from tests.conftest import Account, create_post


async def vote(client: AsyncClient, voter: Account, post_id: int, direction: Any) -> Response:
    return await client.post(
        "/vote/", json={"post_id": post_id, "dir": direction}, headers=voter.headers
    )


async def votes_on(client: AsyncClient, reader: Account, post_id: int) -> int:
    response = await client.get(f"/posts/{post_id}", headers=reader.headers)
    count: int = response.json()["votes"]
    return count


async def test_vote_for_a_post(client: AsyncClient, alice: Account, bob: Account) -> None:
    post = await create_post(client, alice)
    response = await vote(client, bob, post["id"], 1)
    assert response.status_code == 201
    assert response.json() == {"message": "Vote added"}
    assert await votes_on(client, alice, post["id"]) == 1


async def test_whole_numbers_written_as_floats_are_integers(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    # JSON Schema's "integer" includes 1.0, so the documented contract accepts it.
    post = await create_post(client, alice)
    body = {"post_id": float(post["id"]), "dir": 1.0}
    response = await client.post("/vote/", json=body, headers=bob.headers)
    assert response.status_code == 201
    assert await votes_on(client, alice, post["id"]) == 1


async def test_vote_twice_is_a_conflict(client: AsyncClient, alice: Account, bob: Account) -> None:
    post = await create_post(client, alice)
    await vote(client, bob, post["id"], 1)
    response = await vote(client, bob, post["id"], 1)
    assert response.status_code == 409
    assert await votes_on(client, alice, post["id"]) == 1


async def test_take_a_vote_back(client: AsyncClient, alice: Account, bob: Account) -> None:
    post = await create_post(client, alice)
    await vote(client, bob, post["id"], 1)
    response = await vote(client, bob, post["id"], 0)
    assert response.status_code == 201
    assert response.json() == {"message": "Vote removed"}
    assert await votes_on(client, alice, post["id"]) == 0


async def test_taking_back_a_missing_vote_is_not_found(client: AsyncClient, alice: Account) -> None:
    post = await create_post(client, alice)
    response = await vote(client, alice, post["id"], 0)
    assert response.status_code == 404


async def test_voting_on_an_unknown_post_is_not_found(client: AsyncClient, alice: Account) -> None:
    response = await vote(client, alice, 999999, 1)
    assert response.status_code == 404


@pytest.mark.parametrize("direction", [2, -1, "up", None, "1", True, 0.5])
async def test_direction_must_be_zero_or_one(
    client: AsyncClient, alice: Account, direction: Any
) -> None:
    post = await create_post(client, alice)
    response = await vote(client, alice, post["id"], direction)
    assert response.status_code == 422


async def test_voting_needs_a_token(client: AsyncClient) -> None:
    response = await client.post("/vote/", json={"post_id": 1, "dir": 1})
    assert response.status_code == 401


async def test_deleting_a_post_deletes_its_votes(
    client: AsyncClient, session: AsyncSession, alice: Account, bob: Account
) -> None:
    post = await create_post(client, alice)
    await vote(client, alice, post["id"], 1)
    await vote(client, bob, post["id"], 1)
    await client.delete(f"/posts/{post['id']}", headers=alice.headers)
    remaining = await session.scalar(select(func.count()).where(Vote.post_id == post["id"]))
    assert remaining == 0
