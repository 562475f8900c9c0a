"""What another service does with the Python client generated from a bake's openapi.json:
every call goes through the generated package, and every answer is read as its models.

    python flow.py BASE_URL      (with the generated `api_client` package beside it)
"""

import re
import sys
import uuid
from urllib.parse import parse_qs, urljoin, urlsplit

from api_client import AuthenticatedClient, Client
from api_client.api.auth import login
from api_client.api.posts import create_post, delete_post, list_posts, read_post, update_post
from api_client.api.users import create_user, read_me
from api_client.api.votes import vote
from api_client.models import (
    BodyLogin,
    ErrorOut,
    PostIn,
    PostOut,
    Token,
    UserAccount,
    UserCreate,
    VoteIn,
)


def expect(condition: object, what: str) -> None:
    if not condition:
        raise SystemExit(f"{what}: not as expected")


def main(base_url: str) -> None:
    anonymous = Client(base_url=base_url)
    email = f"py-{uuid.uuid4().hex[:12]}@example.com"
    password = "a passphrase long enough"

    signed_up = create_user.sync_detailed(
        client=anonymous, body=UserCreate(email=email, password=password)
    )
    expect(signed_up.status_code == 201 and isinstance(signed_up.parsed, UserAccount), "sign up")
    twice = create_user.sync_detailed(
        client=anonymous, body=UserCreate(email=email, password=password)
    )
    expect(twice.status_code == 409 and isinstance(twice.parsed, ErrorOut), "409 on sign-up")
    print("signed up; 409 for the same email")

    unauthorized = read_me.sync_detailed(
        client=AuthenticatedClient(base_url=base_url, token="not-a-token")
    )
    expect(unauthorized.status_code == 401 and isinstance(unauthorized.parsed, ErrorOut), "401")
    token = login.sync(client=anonymous, body=BodyLogin(username=email, password=password))
    expect(isinstance(token, Token), "login")
    assert isinstance(token, Token)
    signed_in = AuthenticatedClient(base_url=base_url, token=token.access_token)
    me = read_me.sync(client=signed_in)
    expect(isinstance(me, UserAccount) and me.email == email, "the token is sent")
    print("401 without a valid token; logged in with the form")

    created: list[PostOut] = []
    for title in ("first", "second", "third"):
        post = create_post.sync(client=signed_in, body=PostIn(title=title, content=f"{title} post"))
        expect(isinstance(post, PostOut) and post.title == title, f"create {title}")
        assert isinstance(post, PostOut)
        created.append(post)
    read = read_post.sync(client=signed_in, post_id=created[0].id)
    expect(isinstance(read, PostOut) and read.content == "first post", "read")
    missing = read_post.sync_detailed(client=signed_in, post_id=9_000_000_000)
    expect(missing.status_code == 404 and isinstance(missing.parsed, ErrorOut), "404")
    print("created 3 posts, read one; 404 for an unknown post")

    first_page = list_posts.sync_detailed(client=signed_in, limit=2)
    expect(isinstance(first_page.parsed, list) and len(first_page.parsed) == 2, "first page")
    link = re.search(r'<([^>]+)>;\s*rel="next"', first_page.headers.get("link", ""))
    expect(link, "a Link to the next page")
    assert link is not None
    before = int(parse_qs(urlsplit(urljoin(base_url, link.group(1))).query)["before"][0])
    second_page = list_posts.sync(client=signed_in, limit=2, before=before)
    expect(isinstance(second_page, list) and second_page, "second page")
    assert isinstance(second_page, list)
    expect(all(post.id < before for post in second_page), "older posts")
    print(f"listed 2 posts, then followed Link to {len(second_page)} more")

    updated = update_post.sync(
        client=signed_in,
        post_id=created[1].id,
        body=PostIn(title="second, edited", content="edited"),
    )
    expect(isinstance(updated, PostOut) and updated.title == "second, edited", "update")
    voted = vote.sync_detailed(client=signed_in, body=VoteIn(post_id=created[1].id, dir_=1))
    expect(voted.status_code == 201, "vote")
    again = vote.sync_detailed(client=signed_in, body=VoteIn(post_id=created[1].id, dir_=1))
    expect(again.status_code == 409 and isinstance(again.parsed, ErrorOut), "409 on a vote")
    deleted = delete_post.sync_detailed(client=signed_in, post_id=created[2].id)
    expect(deleted.status_code == 204, "delete")
    gone = read_post.sync_detailed(client=signed_in, post_id=created[2].id)
    expect(gone.status_code == 404, "deleted")
    print("updated, voted (409 the second time), deleted")
    print("all done")


if __name__ == "__main__":
    main(sys.argv[1])
