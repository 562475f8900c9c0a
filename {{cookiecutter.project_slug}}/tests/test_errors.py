"""Failures no route handles itself still get a JSON answer with a fitting status."""

from collections.abc import AsyncIterator

from httpx import AsyncClient

from app.config import settings
from tests.conftest import Account

BEYOND_BIGINT = 2**64


async def test_an_id_beyond_64_bits_is_invalid_input(client: AsyncClient, alice: Account) -> None:
    response = await client.get(f"/posts/{BEYOND_BIGINT}", headers=alice.headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert "64 bits" in error["msg"]


async def test_a_vote_for_an_id_beyond_64_bits_is_invalid_input(
    client: AsyncClient, alice: Account
) -> None:
    body = {"post_id": BEYOND_BIGINT, "dir": 1}
    response = await client.post("/vote/", json=body, headers=alice.headers)
    assert response.status_code == 422


async def test_text_with_an_unpaired_surrogate_is_invalid_input(
    client: AsyncClient, alice: Account
) -> None:
    # Valid JSON, but no UTF-8 can encode the string it decodes to.
    body = b'{"title": "Hello", "content": "\\ud800"}'
    headers = {**alice.headers, "Content-Type": "application/json"}
    response = await client.post("/posts/", content=body, headers=headers)
    assert response.status_code == 422


async def test_a_body_over_the_limit_is_refused(client: AsyncClient, alice: Account) -> None:
    content = "x" * settings.max_request_body_bytes
    response = await client.post(
        "/posts/", json={"title": "Big", "content": content}, headers=alice.headers
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}


async def test_a_chunked_body_over_the_limit_is_refused(client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        chunk = b"x" * 65536
        for _ in range(settings.max_request_body_bytes // len(chunk) + 1):
            yield chunk

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post("/login", content=chunks(), headers=headers)
    assert response.status_code == 413


async def test_api_calls_answer_503_when_the_database_is_down(
    client_without_database: AsyncClient,
) -> None:
    response = await client_without_database.get("/users/1")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json() == {"detail": "The database is unavailable; try again shortly"}
