"""Password hashing, access tokens, and the dependency that resolves the calling user."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import bindparam, select

from app.config import settings
from app.database import SessionDep
from app.models import User

password_hash = PasswordHash(
    (Argon2Hasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost),)
)
# Verified against when the email is unknown, so that answer takes as long as a wrong password.
DUMMY_HASH = password_hash.hash("not-a-real-password")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="login")
# Built once: cheaper per request than session.get's identity-map lookup and load.
USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


async def hash_password(password: str) -> str:
    # Argon2 is deliberately slow: hash off the event loop so other requests go on.
    return await run_in_threadpool(password_hash.hash, password)


async def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password; with no hash (unknown user), spend the same time and say no."""
    matches = await run_in_threadpool(password_hash.verify, password, hashed or DUMMY_HASH)
    return matches and hashed is not None


def create_access_token(user_id: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_expire_minutes),
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), settings.algorithm)


def user_id_from_token(token: str) -> int | None:
    """The user id a valid, unexpired token was issued for; None for any other token."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            # Pinned: the token's own header never chooses the algorithm (no "none").
            algorithms=[settings.algorithm],
            options={"require": ["exp", "sub"]},
        )
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError):
        return None


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], session: SessionDep
) -> User:
    user_id = user_id_from_token(token)
    user = None
    if user_id is not None:
        user = await session.scalar(USER_BY_ID, {"user_id": user_id})
    if user is None:
        raise unauthorized("Could not validate credentials")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
