"""Votes: one per user and post, added with dir=1 and taken back with dir=0."""

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.database import SessionDep
from app.models import Post, Vote
from app.schemas import Message, VoteIn, error_responses
from app.security import CurrentUser

router = APIRouter(prefix="/vote", tags=["votes"], responses=error_responses(401))


@router.post("/", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 404, 409))
async def vote(body: VoteIn, session: SessionDep, user: CurrentUser) -> Message:
    if await session.scalar(select(Post.id).where(Post.id == body.post_id)) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Post {body.post_id} not found")
    if body.dir == 1:
        session.add(Vote(user_id=user.id, post_id=body.post_id))
        try:
            await session.commit()
        except IntegrityError:
            # The primary key decides, so a double click cannot count twice.
            await session.rollback()
            raise HTTPException(status.HTTP_409_CONFLICT, "Already voted for this post") from None
        return Message(message="Vote added")
    removed = await session.scalar(
        delete(Vote)
        .where(Vote.user_id == user.id, Vote.post_id == body.post_id)
        .returning(Vote.post_id)
    )
    if removed is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No vote to remove")
    await session.commit()
    return Message(message="Vote removed")
