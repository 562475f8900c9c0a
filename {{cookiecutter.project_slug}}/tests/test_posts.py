"""The /posts/ routes: reading for anyone signed in, changes for the owner only."""

import re
from typing import Any

import pytest
from httpx import AsyncClient, Response

from tests.conftest import Account, create_post, recording_statements


async def test_create_a_post_owned_by_the_caller(client: AsyncClient, alice: Account) -> None:
    post = await create_post(client, alice, title="Hi", content="There")
    assert post["title"] == "Hi"
    assert post["content"] == "There"
    assert post["published"] is True
    assert post["owner_id"] == alice.id
    assert post["owner"] == {"id": alice.id, "created_at": post["owner"]["created_at"]}
    assert post["votes"] == 0


async def test_create_an_unpublished_post(client: AsyncClient, alice: Account) -> None:
    post = await create_post(client, alice, published=False)
    assert post["published"] is False


@pytest.mark.parametrize(
    "body",
    [{"content": "no title"}, {"title": "no content"}, {"title": "", "content": "x"},
     {"title": "x", "content": "y", "published": "maybe"},
     {"title": "x", "content": "y", "published": 0}, {"title": 1, "content": "y"}],
    ids=["no-title", "no-content", "empty-title", "bad-published", "number-as-published",
         "number-as-title"],
)  # fmt: skip
async def test_create_an_invalid_post_is_rejected(
    client: AsyncClient, alice: Account, body: dict[str, Any]
) -> None:
    response = await client.post("/posts/", json=body, headers=alice.headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/posts/"), ("GET", "/posts/1"), ("POST", "/posts/"), ("PUT", "/posts/1"),
     ("DELETE", "/posts/1")],
)  # fmt: skip
async def test_posts_need_a_token(client: AsyncClient, method: str, path: str) -> None:
    body = {"title": "t", "content": "c"}
    response = await client.request(method, path, json=body if method in {"POST", "PUT"} else None)
    assert response.status_code == 401


async def test_list_posts_with_owner_and_votes(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    first = await create_post(client, alice, title="First")
    await create_post(client, bob, title="Second")
    await client.post("/vote/", json={"post_id": first["id"], "dir": 1}, headers=bob.headers)

    response = await client.get("/posts/", headers=alice.headers)
    assert response.status_code == 200
    posts = {post["title"]: post for post in response.json()}
    assert set(posts) == {"First", "Second"}
    assert posts["First"]["votes"] == 1
    assert posts["First"]["owner"]["id"] == alice.id
    assert posts["Second"]["votes"] == 0
    assert posts["Second"]["owner"]["id"] == bob.id


async def test_list_posts_pages_with_limit_and_skip(client: AsyncClient, alice: Account) -> None:
    ids = [(await create_post(client, alice, title=f"Post {n}"))["id"] for n in range(5)]
    newest_first = sorted(ids, reverse=True)

    page = await client.get("/posts/", params={"limit": 2, "skip": 1}, headers=alice.headers)
    assert [post["id"] for post in page.json()] == newest_first[1:3]
    default = await client.get("/posts/", headers=alice.headers)
    assert len(default.json()) == 5


async def test_list_posts_defaults_to_ten(client: AsyncClient, alice: Account) -> None:
    for n in range(12):
        await create_post(client, alice, title=f"Post {n}")
    response = await client.get("/posts/", headers=alice.headers)
    assert len(response.json()) == 10


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"skip": -1}])
async def test_list_posts_rejects_out_of_range_paging(
    client: AsyncClient, alice: Account, params: dict[str, int]
) -> None:
    response = await client.get("/posts/", params=params, headers=alice.headers)
    assert response.status_code == 422


async def test_search_matches_titles_ignoring_case(client: AsyncClient, alice: Account) -> None:
    await create_post(client, alice, title="Alembic tips")
    await create_post(client, alice, title="FastAPI tricks")
    await create_post(client, alice, title="100% coverage")

    async def titles(search: str) -> list[str]:
        response = await client.get("/posts/", params={"search": search}, headers=alice.headers)
        return [post["title"] for post in response.json()]

    assert await titles("ALEMBIC") == ["Alembic tips"]
    assert await titles("%") == ["100% coverage"]  # a literal %, not a wildcard
    assert await titles("nothing like this") == []


async def test_read_a_post(client: AsyncClient, alice: Account, bob: Account) -> None:
    post = await create_post(client, alice)
    response = await client.get(f"/posts/{post['id']}", headers=bob.headers)
    assert response.status_code == 200
    assert response.json() == post


async def test_read_an_unknown_post_is_not_found(client: AsyncClient, alice: Account) -> None:
    response = await client.get("/posts/999999", headers=alice.headers)
    assert response.status_code == 404


async def test_the_owner_updates_a_post(client: AsyncClient, alice: Account) -> None:
    post = await create_post(client, alice)
    body = {"title": "Edited", "content": "New words", "published": False}
    response = await client.put(f"/posts/{post['id']}", json=body, headers=alice.headers)
    assert response.status_code == 200
    assert {k: response.json()[k] for k in body} == body
    fetched = await client.get(f"/posts/{post['id']}", headers=alice.headers)
    assert fetched.json()["title"] == "Edited"


async def test_updating_someone_elses_post_is_forbidden(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    post = await create_post(client, alice)
    body = {"title": "Mine now", "content": "x"}
    response = await client.put(f"/posts/{post['id']}", json=body, headers=bob.headers)
    assert response.status_code == 403
    unchanged = await client.get(f"/posts/{post['id']}", headers=alice.headers)
    assert unchanged.json()["title"] == post["title"]


async def test_updating_an_unknown_post_is_not_found(client: AsyncClient, alice: Account) -> None:
    body = {"title": "t", "content": "c"}
    response = await client.put("/posts/999999", json=body, headers=alice.headers)
    assert response.status_code == 404


async def test_the_owner_deletes_a_post(client: AsyncClient, alice: Account) -> None:
    post = await create_post(client, alice)
    response = await client.delete(f"/posts/{post['id']}", headers=alice.headers)
    assert response.status_code == 204
    assert response.content == b""
    gone = await client.get(f"/posts/{post['id']}", headers=alice.headers)
    assert gone.status_code == 404


async def test_deleting_someone_elses_post_is_forbidden(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    post = await create_post(client, alice)
    response = await client.delete(f"/posts/{post['id']}", headers=bob.headers)
    assert response.status_code == 403
    still_there = await client.get(f"/posts/{post['id']}", headers=alice.headers)
    assert still_there.status_code == 200


async def test_deleting_an_unknown_post_is_not_found(client: AsyncClient, alice: Account) -> None:
    response = await client.delete("/posts/999999", headers=alice.headers)
    assert response.status_code == 404


def selects(statements: list[tuple[str, Any]]) -> list[str]:
    return [sql for sql, _ in statements if sql.lstrip().upper().startswith("SELECT")]


async def test_listing_posts_takes_one_query_however_many_posts(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    for n in range(20):
        post = await create_post(client, alice if n % 2 else bob, title=f"Post {n}")
        await client.post("/vote/", json={"post_id": post["id"], "dir": 1}, headers=alice.headers)

    with recording_statements() as statements:
        await client.get("/posts/", params={"limit": 1}, headers=alice.headers)
    one_post = selects(statements)
    with recording_statements() as statements:
        response = await client.get("/posts/", params={"limit": 20}, headers=alice.headers)
    twenty_posts = selects(statements)

    assert len(response.json()) == 20
    assert all(post["votes"] == 1 for post in response.json())
    # One query finds the caller, one fetches the posts with their owners and vote counts.
    assert len(twenty_posts) == len(one_post) == 2, twenty_posts


def next_link(response: Response) -> str | None:
    """The URL of the `rel="next"` link of a response, if it has one."""
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return match.group(1) if match else None


@pytest.mark.parametrize("search", [None, "tip"])
async def test_paging_by_link_alone_reaches_every_post_once(
    client: AsyncClient, alice: Account, search: str | None
) -> None:
    posts = [await create_post(client, alice, title=f"{'Tip' if n % 2 else 'Note'} {n}")
             for n in range(7)]  # fmt: skip
    wanted = [p["id"] for p in reversed(posts) if search is None or "Tip" in p["title"]]
    params: dict[str, str | int] = {"limit": 2}
    if search is not None:
        params["search"] = search

    response = await client.get("/posts/", params=params, headers=alice.headers)
    seen = [post["id"] for post in response.json()]
    while (url := next_link(response)) is not None:
        assert "before=" in url
        assert "limit=2" in url
        assert search is None or f"search={search}" in url
        response = await client.get(url, headers=alice.headers)
        assert response.status_code == 200
        seen += [post["id"] for post in response.json()]
    assert seen == wanted


async def test_a_page_before_a_post_holds_the_older_ones(
    client: AsyncClient, alice: Account
) -> None:
    ids = [(await create_post(client, alice, title=f"Post {n}"))["id"] for n in range(4)]
    response = await client.get("/posts/", params={"before": ids[2]}, headers=alice.headers)
    assert [post["id"] for post in response.json()] == [ids[1], ids[0]]
    assert next_link(response) is None  # the last page says so by having no link


async def test_skip_past_its_bound_points_to_before(client: AsyncClient, alice: Account) -> None:
    response = await client.get("/posts/", params={"skip": 1001}, headers=alice.headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "skip"]
    assert "before=" in error["msg"]
    allowed = await client.get("/posts/", params={"skip": 1000}, headers=alice.headers)
    assert allowed.status_code == 200
