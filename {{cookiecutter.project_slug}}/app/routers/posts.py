"""Posts: anyone signed in reads them, only their owner changes them."""

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import joinedload, with_expression

from app.database import SessionDep
from app.models import Post, User, Vote
from app.schemas import BIGINT_END, DatabaseId, PostIn, PostOut, error_responses
from app.security import CurrentUser

router = APIRouter(prefix="/posts", tags=["posts"], responses=error_responses(401))


def select_posts() -> Select[Post]:
    """Posts with their owner and vote count, in one query however many posts it returns."""
    vote_count = (
        select(func.count()).where(Vote.post_id == Post.id).correlate(Post).scalar_subquery()
    )
    return select(Post).options(joinedload(Post.owner), with_expression(Post.votes, vote_count))


# Built once, not per request: building and hashing a statement costs more than running
# it, and SQLAlchemy finds the SQL of a prebuilt one in its compiled cache.
POST_BY_ID = select_posts().where(Post.id == bindparam("post_id"))
LATEST_POSTS = (
    select_posts().order_by(Post.id.desc()).limit(bindparam("limit")).offset(bindparam("skip"))
)


async def get_post_or_404(session: SessionDep, post_id: int) -> Post:
    post = await session.scalar(POST_BY_ID, {"post_id": post_id})
    if post is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Post {post_id} not found")
    return post


async def get_own_post(session: SessionDep, post_id: int, user: User) -> Post:
    post = await get_post_or_404(session, post_id)
    if post.owner_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not the owner of this post")
    return post


@router.get("/", response_model=list[PostOut])
async def list_posts(
    session: SessionDep,
    _: CurrentUser,
    limit: int = Query(10, ge=1, le=100),
    skip: int = Query(0, ge=0, lt=BIGINT_END),
    search: str = Query("", max_length=200, description="Only posts whose title contains this"),
) -> list[Post]:
    query = LATEST_POSTS
    if search:
        query = query.where(Post.title.icontains(search, autoescape=True))
    return list(await session.scalars(query, {"limit": limit, "skip": skip}))


@router.get("/{post_id}", response_model=PostOut, responses=error_responses(404))
async def read_post(post_id: DatabaseId, session: SessionDep, _: CurrentUser) -> Post:
    return await get_post_or_404(session, post_id)


@router.post(
    "/", status_code=status.HTTP_201_CREATED, response_model=PostOut, responses=error_responses(400)
)
async def create_post(body: PostIn, session: SessionDep, user: CurrentUser) -> Post:
    # A new post has no votes yet; the INSERT itself returns its id and created_at.
    post = Post(**body.model_dump(), owner=user, votes=0)
    session.add(post)
    await session.commit()
    return post


@router.put("/{post_id}", response_model=PostOut, responses=error_responses(400, 403, 404))
async def update_post(
    post_id: DatabaseId, body: PostIn, session: SessionDep, user: CurrentUser
) -> Post:
    post = await get_own_post(session, post_id, user)
    for field, value in body.model_dump().items():
        setattr(post, field, value)
    await session.commit()
    return await get_post_or_404(session, post_id)


@router.delete(
    "/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(403, 404)
)
async def delete_post(post_id: DatabaseId, session: SessionDep, user: CurrentUser) -> Response:
    post = await get_own_post(session, post_id, user)
    await session.delete(post)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
