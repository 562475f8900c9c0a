"""Logging in: trade an email and password for a bearer token."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from app.database import SessionDep
from app.models import User
from app.schemas import Token, error_responses
from app.security import create_access_token, unauthorized, verify_password

router = APIRouter(tags=["auth"])


@router.post("/login", responses=error_responses(400, 401))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep
) -> Token:
    """OAuth2 password flow: `username` is the email."""
    user = await session.scalar(select(User).where(User.email == form.username.lower()))
    password_ok = await verify_password(form.password, user.password if user else None)
    # One answer for an unknown email and a wrong password, so neither reveals which it was.
    if user is None or not password_ok:
        raise unauthorized("Incorrect email or password")
    return Token(access_token=create_access_token(user.id))
