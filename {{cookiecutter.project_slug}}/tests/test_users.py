"""POST /users/, GET /users/{id}, GET /users/me."""

from datetime import datetime

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import User
from tests.conftest import PASSWORD, Account


async def test_sign_up_returns_the_user_without_the_password(client: AsyncClient) -> None:
    response = await client.post("/users/", json={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "created_at"}
    assert body["email"] == "ann@example.com"


async def test_password_is_stored_as_an_argon2_hash(
    client: AsyncClient, session: AsyncSession, alice: Account
) -> None:
    stored = await session.scalar(select(User.password).where(User.id == alice.id))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_sign_up_with_a_taken_email_is_a_conflict(
    client: AsyncClient, alice: Account
) -> None:
    body = {"email": alice.email, "password": PASSWORD}
    response = await client.post("/users/", json=body)
    assert response.status_code == 409


async def test_emails_differing_only_in_case_are_the_same_account(
    client: AsyncClient, alice: Account
) -> None:
    body = {"email": alice.email.upper(), "password": PASSWORD}
    response = await client.post("/users/", json=body)
    assert response.status_code == 409


async def test_sign_up_with_an_invalid_email_is_rejected(client: AsyncClient) -> None:
    response = await client.post("/users/", json={"email": "not-an-email", "password": PASSWORD})
    assert response.status_code == 422


async def test_sign_up_with_a_short_password_is_rejected(client: AsyncClient) -> None:
    response = await client.post("/users/", json={"email": "ann@example.com", "password": "short"})
    assert response.status_code == 422


async def test_another_user_is_seen_by_their_public_profile_only(
    client: AsyncClient, alice: Account, bob: Account
) -> None:
    response = await client.get(f"/users/{alice.id}", headers=bob.headers)
    assert response.status_code == 200
    assert set(response.json()) == {"id", "created_at"}
    assert response.json()["id"] == alice.id


async def test_a_user_reading_themself_by_id_sees_their_account(
    client: AsyncClient, alice: Account
) -> None:
    response = await client.get(f"/users/{alice.id}", headers=alice.headers)
    assert response.status_code == 200
    assert set(response.json()) == {"id", "email", "created_at"}
    assert response.json()["email"] == alice.email


async def test_read_a_user_without_a_token_is_unauthorized(
    client: AsyncClient, alice: Account
) -> None:
    response = await client.get(f"/users/{alice.id}")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_read_an_unknown_user_is_not_found(client: AsyncClient, alice: Account) -> None:
    response = await client.get("/users/999999", headers=alice.headers)
    assert response.status_code == 404


async def test_me_is_the_caller(client: AsyncClient, alice: Account, bob: Account) -> None:
    response = await client.get("/users/me", headers=bob.headers)
    assert response.status_code == 200
    assert response.json()["id"] == bob.id
    assert set(response.json()) == {"id", "email", "created_at"}


async def test_me_without_a_token_is_unauthorized(client: AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_timestamps_carry_a_time_zone(client: AsyncClient, alice: Account) -> None:
    response = await client.get(f"/users/{alice.id}", headers=alice.headers)
    created_at = datetime.fromisoformat(response.json()["created_at"])
    assert created_at.utcoffset() is not None
