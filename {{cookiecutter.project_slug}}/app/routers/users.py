"""Signing up and looking users up: an account's email is shown to that account alone."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.exc import IntegrityError

from app.database import SessionDep
from app.models import User
from app.schemas import DatabaseId, UserAccount, UserCreate, UserProfile, error_responses
from app.security import CurrentUser, hash_password

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "/",
    status_code=status.HTTP_201_CREATED,
    response_model=UserAccount,
    responses=error_responses(400, 409),
)
async def create_user(body: UserCreate, session: SessionDep) -> User:
    user = User(email=body.email.lower(), password=await hash_password(body.password))
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        # The unique constraint decides, so two sign-ups racing for one email cannot both win.
        await session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "Email already registered") from None
    return user


@router.get("/me", response_model=UserAccount, responses=error_responses(401))
async def read_me(user: CurrentUser) -> User:
    return user


@router.get("/{user_id}", responses=error_responses(401, 404))
async def read_user(
    user_id: DatabaseId, session: SessionDep, caller: CurrentUser
) -> UserAccount | UserProfile:
    """The caller's own account, or anyone else's public profile (no email)."""
    if user_id == caller.id:
        return UserAccount.model_validate(caller)
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return UserProfile.model_validate(user)
