"""Posts: anyone signed in reads them, only their owner changes them."""

from functools import cache
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import AfterValidator
from sqlalchemy import BigInteger, Integer, Select, bindparam, func, insert, select
from sqlalchemy.orm import joinedload, with_expression
from sqlalchemy.orm.attributes import set_committed_value

from app.database import SessionDep
from app.models import Post, User, Vote
from app.schemas import DatabaseId, PostIn, PostOut, error_responses
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
# One INSERT ... RETURNING, loaded as a Post: for a single new row, cheaper than the unit
# of work's flush. Given its values as parameters, SQLAlchemy would take its bulk path,
# made for many rows and slower for one; "orm" keeps it a plain statement.
INSERT_POST = insert(Post).returning(Post).execution_options(dml_strategy="orm")
# OFFSET reads and throws away every row it skips, so a page's cost grows with its depth:
# deeper pages are asked for by key (`before`), which costs the same at any depth.
MAX_SKIP = 1000
LIKE_ESCAPE = "/"


@cache
def latest_posts(*, before: bool, search: bool) -> Select[Post]:
    """The newest posts (one more than the page, to tell whether another follows), built
    once for each combination of filters."""
    query = select_posts().order_by(Post.id.desc())
    query = query.limit(bindparam("limit", type_=Integer)).offset(bindparam("skip", type_=Integer))
    if before:
        query = query.where(Post.id < bindparam("before", type_=BigInteger))
    if search:
        query = query.where(Post.title.icontains(bindparam("search"), escape=LIKE_ESCAPE))
    return query


def literal_like(text: str) -> str:
    """`text` with LIKE's wildcards escaped: a search for `100%` finds just that."""
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


def within_skip_bound(skip: int) -> int:
    if skip > MAX_SKIP:
        raise ValueError(
            f"skip goes up to {MAX_SKIP}; for later pages pass before=<the last id you got>,"
            " as the Link header of each page does"
        )
    return skip


NEXT_PAGE = {
    "description": "The newest posts, newest first",
    "headers": {
        "Link": {
            "description": 'The next page, when there is one: `<url>; rel="next"` (RFC 8288)',
            "schema": {"type": "string"},
        }
    },
}


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


@router.get("/", response_model=list[PostOut], responses={200: NEXT_PAGE})
async def list_posts(
    request: Request,
    response: Response,
    session: SessionDep,
    _: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    before: Annotated[
        DatabaseId | None, Query(description="Only posts older than this one (its id)")
    ] = None,
    skip: Annotated[
        int,
        Query(
            ge=0,
            description=f"Posts to pass over, at most {MAX_SKIP}; page further with `before`",
            json_schema_extra={"maximum": MAX_SKIP},
        ),
        AfterValidator(within_skip_bound),
    ] = 0,
    search: Annotated[
        str, Query(max_length=200, description="Only posts whose title contains this")
    ] = "",
) -> list[Post]:
    query = latest_posts(before=before is not None, search=bool(search))
    parameters = {"limit": limit + 1, "skip": skip, "before": before}
    posts = list(await session.scalars(query, {**parameters, "search": literal_like(search)}))
    if len(posts) > limit:
        posts = posts[:limit]
        next_page = request.url.remove_query_params("skip").include_query_params(
            before=posts[-1].id, limit=limit
        )
        response.headers["Link"] = f'<{next_page}>; rel="next"'
    return posts


@router.get("/{post_id}", response_model=PostOut, responses=error_responses(404))
async def read_post(post_id: DatabaseId, session: SessionDep, _: CurrentUser) -> Post:
    return await get_post_or_404(session, post_id)


@router.post(
    "/", status_code=status.HTTP_201_CREATED, response_model=PostOut, responses=error_responses(400)
)
async def create_post(body: PostIn, session: SessionDep, user: CurrentUser) -> Post:
    values = {**body.model_dump(), "owner_id": user.id}
    post = (await session.scalars(INSERT_POST, values)).one()
    await session.commit()
    # Its owner is the caller, and a new post has no votes yet.
    set_committed_value(post, "owner", user)
    set_committed_value(post, "votes", 0)
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
