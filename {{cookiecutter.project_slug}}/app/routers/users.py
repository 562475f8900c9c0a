"""Signing up and looking users up."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy.exc import IntegrityError

from app.database import SessionDep
from app.models import User
from app.schemas import DatabaseId, UserCreate, UserOut, error_responses
from app.security import CurrentUser, hash_password

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "/",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
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


@router.get("/me", response_model=UserOut, responses=error_responses(401))
async def read_me(user: CurrentUser) -> User:
    return user


@router.get("/{user_id}", response_model=UserOut, responses=error_responses(404))
async def read_user(user_id: DatabaseId, session: SessionDep) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return user
