"""No response carries another user's email, and nobody reads anything without a token.

Both checks run over every operation of the OpenAPI schema, so a new route cannot slip by.
"""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Account, create_post

# The only operations anyone may call without signing in.
PUBLIC = {("POST", "/users/"), ("POST", "/login"), ("GET", "/health"), ("GET", "/health/live")}


async def operations(client: AsyncClient) -> dict[tuple[str, str], dict[str, Any]]:
    paths = (await client.get("/openapi.json")).json()["paths"]
    return {
        (method.upper(), path): operation
        for path, methods in paths.items()
        for method, operation in methods.items()
    }


async def test_only_sign_up_login_and_health_are_open_to_anonymous_callers(
    client: AsyncClient,
) -> None:
    schema = await operations(client)
    assert {key for key, operation in schema.items() if "security" not in operation} == PUBLIC
    for method, path in set(schema) - PUBLIC:
        response = await client.request(method, path.format(post_id=1, user_id=1))
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_no_answer_to_another_user_carries_your_email(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    post = await create_post(client, alice, title="Alice writes")
    bobs = await create_post(client, bob, title="Bob writes")
    # Bob calls every signed-in operation, on Alice's things wherever it takes an id.
    calls: dict[tuple[str, str], tuple[str, dict[str, Any] | None, int]] = {
        ("GET", "/users/me"): ("/users/me", None, 200),
        ("GET", "/users/{user_id}"): (f"/users/{alice.id}", None, 200),
        ("GET", "/posts/"): ("/posts/?search=alice", None, 200),
        ("GET", "/posts/{post_id}"): (f"/posts/{post['id']}", None, 200),
        ("POST", "/posts/"): ("/posts/", {"title": "Reply", "content": "Hi Alice"}, 201),
        ("PUT", "/posts/{post_id}"): (f"/posts/{post['id']}", {"title": "x", "content": "y"}, 403),
        ("DELETE", "/posts/{post_id}"): (f"/posts/{bobs['id']}", None, 204),
        ("POST", "/vote/"): ("/vote/", {"post_id": post["id"], "dir": 1}, 201),
    }
    assert set(calls) == set(await operations(client)) - PUBLIC, "a route is missing here"
    answers = {}
    for key, (url, body, expected) in calls.items():
        response = await client.request(key[0], url, json=body, headers=bob.headers)
        assert response.status_code == expected, (key, response.text)
        answers[key] = response
        assert alice.email not in response.text, key
    # Alice's things were in the answers, so the email had its chance to show.
    [listed] = answers["GET", "/posts/"].json()
    assert listed["owner"]["id"] == answers["GET", "/posts/{post_id}"].json()["owner"]["id"]
    assert listed["owner"]["id"] == answers["GET", "/users/{user_id}"].json()["id"] == alice.id


async def test_the_schema_keeps_the_account_apart_from_the_public_profile(
    client: AsyncClient,
) -> None:
    openapi = (await client.get("/openapi.json")).json()
    schemas = openapi["components"]["schemas"]
    assert set(schemas["UserProfile"]["properties"]) == {"id", "created_at"}
    assert set(schemas["UserAccount"]["properties"]) == {"id", "email", "created_at"}
    assert schemas["PostOut"]["properties"]["owner"] == {"$ref": "#/components/schemas/UserProfile"}

    def answer(method: str, path: str, status: str) -> Any:
        response = openapi["paths"][path][method]["responses"][status]
        return response["content"]["application/json"]["schema"]

    account = {"$ref": "#/components/schemas/UserAccount"}
    profile = {"$ref": "#/components/schemas/UserProfile"}
    assert answer("get", "/users/me", "200") == account
    assert answer("post", "/users/", "201") == account
    assert answer("get", "/users/{user_id}", "200")["anyOf"] == [account, profile]
