"""Failures no route handles itself still get a JSON answer with a fitting status."""

from collections.abc import AsyncIterator

from httpx import AsyncClient

from app.config import settings
from tests.conftest import Account, bearer

BEYOND_BIGINT = 2**64


async def test_an_id_beyond_64_bits_is_invalid_input(client: AsyncClient, alice: Account) -> None:
    response = await client.get(f"/posts/{BEYOND_BIGINT}", headers=alice.headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["path", "post_id"], "less_than")


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
    # The 503 comes from looking the token's user up.
    response = await client_without_database.get("/users/1", headers=bearer(1))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json() == {"detail": "The database is unavailable; try again shortly"}


async def test_the_openapi_schema_lists_the_errors_each_route_gives(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    statuses = {
        (method.upper(), path): set(operation["responses"])
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    # Everywhere: a body over the limit, the database down.
    assert all({"413", "503"} <= codes for codes in statuses.values())
    assert {"400", "401", "403", "404", "422"} <= statuses["PUT", "/posts/{post_id}"]
    assert {"400", "404", "409"} <= statuses["POST", "/vote/"]
    assert {"400", "409"} <= statuses["POST", "/users/"]
    assert "401" in statuses["POST", "/login"]
    assert {"401", "404"} <= statuses["GET", "/users/{user_id}"]
    not_found = paths["/posts/{post_id}"]["get"]["responses"]["404"]
    assert not_found["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }


async def test_the_openapi_schema_gives_ids_the_range_of_a_bigint(client: AsyncClient) -> None:
    openapi = (await client.get("/openapi.json")).json()
    [in_path] = openapi["paths"]["/posts/{post_id}"]["get"]["parameters"]
    in_body = openapi["components"]["schemas"]["VoteIn"]["properties"]["post_id"]
    for schema in (in_path["schema"], in_body):
        assert (schema["minimum"], schema["exclusiveMaximum"]) == (-(2**63), 2**63)


async def test_a_method_the_path_lacks_is_405_naming_every_method_it_has(
    client: AsyncClient,
) -> None:
    # /posts/ and /posts/{post_id} each take their methods from more than one route.
    cases = [("DELETE", "/posts/", "GET, POST"), ("PATCH", "/posts/1", "DELETE, GET, PUT")]
    for method, path, allowed in cases:
        response = await client.request(method, path)
        assert response.status_code == 405
        assert response.headers["allow"] == allowed
        assert response.json() == {"detail": "Method Not Allowed"}
