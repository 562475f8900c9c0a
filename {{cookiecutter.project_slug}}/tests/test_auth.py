"""POST /login and the bearer tokens it hands out."""

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from httpx import AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import settings
from app.models import User
from tests.conftest import PASSWORD, Account


def token(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    secret = key if key is not None else settings.secret_key.get_secret_value()
    return jwt.encode(claims, secret, algorithm=algorithm)


def valid_claims(user_id: int) -> dict[str, Any]:
    return {"sub": str(user_id), "exp": datetime.now(UTC) + timedelta(minutes=5)}


async def me_with(client: AsyncClient, authorization: str) -> int:
    response = await client.get("/users/me", headers={"Authorization": authorization})
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    return response.status_code


async def test_login_returns_a_bearer_token(client: AsyncClient, alice: Account) -> None:
    response = await client.post("/login", data={"username": alice.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert await me_with(client, f"Bearer {body['access_token']}") == 200


async def test_login_takes_the_email_in_any_case(client: AsyncClient, alice: Account) -> None:
    form = {"username": alice.email.upper(), "password": PASSWORD}
    response = await client.post("/login", data=form)
    assert response.status_code == 200


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: AsyncClient, alice: Account
) -> None:
    form = {"username": alice.email, "password": "wrong password"}
    wrong_password = await client.post("/login", data=form)
    form = {"username": "nobody@example.com", "password": PASSWORD}
    unknown_email = await client.post("/login", data=form)
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()


async def test_login_wants_a_form_not_json(client: AsyncClient, alice: Account) -> None:
    response = await client.post("/login", json={"username": alice.email, "password": PASSWORD})
    assert response.status_code == 422


async def test_the_token_works_until_it_expires(client: AsyncClient, alice: Account) -> None:
    assert await me_with(client, f"Bearer {token(valid_claims(alice.id))}") == 200
    expired = {"sub": str(alice.id), "exp": datetime.now(UTC) - timedelta(seconds=1)}
    assert await me_with(client, f"Bearer {token(expired)}") == 401


async def test_a_token_signed_with_another_key_is_refused(
    client: AsyncClient, alice: Account
) -> None:
    forged = token(valid_claims(alice.id), key="another-key-of-at-least-32-characters!")
    assert await me_with(client, f"Bearer {forged}") == 401


async def test_an_unsigned_token_is_refused(client: AsyncClient, alice: Account) -> None:
    unsigned = jwt.encode(valid_claims(alice.id), key=None, algorithm="none")
    assert await me_with(client, f"Bearer {unsigned}") == 401


async def test_a_tampered_token_is_refused(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    header, _, signature = token(valid_claims(alice.id)).split(".")
    _, bobs_claims, _ = token(valid_claims(bob.id)).split(".")
    assert await me_with(client, f"Bearer {header}.{bobs_claims}.{signature}") == 401


async def test_a_token_without_expiry_is_refused(client: AsyncClient, alice: Account) -> None:
    assert await me_with(client, f"Bearer {token({'sub': str(alice.id)})}") == 401


async def test_a_token_of_a_deleted_user_is_refused(
    client: AsyncClient, session: AsyncSession, alice: Account
) -> None:
    await session.execute(delete(User).where(User.id == alice.id))
    await session.commit()
    assert await me_with(client, alice.headers["Authorization"]) == 401


@pytest.mark.parametrize(
    "authorization", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer not.a.jwt", "Bearer ", "token"]
)
async def test_a_malformed_authorization_header_is_refused(
    client: AsyncClient, authorization: str
) -> None:
    assert await me_with(client, authorization) == 401
