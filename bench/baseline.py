"""The hand-written limit the generated app is compared with.

Starlette and an asyncpg pool, nothing else: the generated app's SQL (the statements
SQLAlchemy emits for it, columns included) and its JSON shapes, and the same bearer-token
check (PyJWT, pinned algorithm, `exp` and `sub` required, then the user looked up by id).
It runs in the baked project's virtualenv, which already holds all of these.

    DATABASE_URL=postgresql://... SECRET_KEY=... uvicorn baseline:app --app-dir bench
"""

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SECRET_KEY = os.environ["SECRET_KEY"]
ALGORITHM = os.environ.get("ALGORITHM", "HS256")
# The same connection budget as the app's defaults (pool size + overflow).
POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
MAX_OVERFLOW = int(os.environ.get("DATABASE_MAX_OVERFLOW", "20"))

USER_BY_ID = """
SELECT users.id, users.email, users.password, users.created_at FROM users WHERE users.id = $1
"""
SELECT_POSTS = """
SELECT (SELECT count(*) AS count_1 FROM votes WHERE votes.post_id = posts.id) AS anon_1,
       posts.id, posts.title, posts.content, posts.published, posts.created_at, posts.owner_id,
       users_1.id AS id_1, users_1.email, users_1.password, users_1.created_at AS created_at_1
FROM posts LEFT OUTER JOIN users AS users_1 ON users_1.id = posts.owner_id
"""
POST_BY_ID = SELECT_POSTS + "WHERE posts.id = $1"
LATEST_POSTS = SELECT_POSTS + "ORDER BY posts.id DESC LIMIT $1 OFFSET $2"
INSERT_POST = (
    "INSERT INTO posts (title, content, published, owner_id) VALUES ($1, $2, $3, $4) RETURNING id"
)

pool: asyncpg.Pool


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(
        os.environ["DATABASE_URL"], min_size=POOL_SIZE, max_size=POOL_SIZE + MAX_OVERFLOW
    )
    yield
    await pool.close()


def timestamp(value: datetime) -> str:
    """ISO 8601 the way pydantic writes it (`Z` for UTC)."""
    return value.isoformat().replace("+00:00", "Z")


def user_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "email": row["email"], "created_at": timestamp(row["created_at"])}


def post_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "content": row["content"],
        "published": row["published"],
        "created_at": timestamp(row["created_at"]),
        "owner_id": row["owner_id"],
        # A public profile: no email.
        "owner": {"id": row["id_1"], "created_at": timestamp(row["created_at_1"])},
        "votes": row["anon_1"],
    }


def error(status: int, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail}, status, headers=headers)


def user_id_from(request: Request) -> int | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        claims = jwt.decode(
            token, SECRET_KEY, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError):
        return None


async def current_user(request: Request, connection: asyncpg.Connection) -> asyncpg.Record | None:
    user_id = user_id_from(request)
    return None if user_id is None else await connection.fetchrow(USER_BY_ID, user_id)


async def read_me(request: Request) -> Response:
    async with pool.acquire() as connection:
        user = await current_user(request, connection)
    if user is None:
        return error(401, "Could not validate credentials")
    return JSONResponse(user_out(user))


async def read_post(request: Request) -> Response:
    post_id: int = request.path_params["post_id"]
    async with pool.acquire() as connection:
        if await current_user(request, connection) is None:
            return error(401, "Could not validate credentials")
        post = await connection.fetchrow(POST_BY_ID, post_id)
    if post is None:
        return error(404, f"Post {post_id} not found")
    return JSONResponse(post_out(post))


async def posts(request: Request) -> Response:
    return await (create_post(request) if request.method == "POST" else list_posts(request))


async def list_posts(request: Request) -> Response:
    try:
        limit = int(request.query_params.get("limit", "10"))
        skip = int(request.query_params.get("skip", "0"))
    except ValueError:
        return error(422, "limit and skip must be integers")
    if not (1 <= limit <= 100 and skip >= 0):
        return error(422, "limit must be 1-100 and skip at least 0")
    async with pool.acquire() as connection:
        if await current_user(request, connection) is None:
            return error(401, "Could not validate credentials")
        rows = await connection.fetch(LATEST_POSTS, limit, skip)
    return JSONResponse([post_out(row) for row in rows])


async def create_post(request: Request) -> Response:
    try:
        body = json.loads(await request.body())
        title, content = body["title"], body["content"]
        published = body.get("published", True)
    except (ValueError, TypeError, KeyError):
        return error(422, "title and content are required")
    if not (
        isinstance(title, str)
        and isinstance(content, str)
        and isinstance(published, bool)
        and 1 <= len(title) <= 300
        and 1 <= len(content) <= 100_000
    ):
        return error(422, "invalid post")
    async with pool.acquire() as connection:
        user = await current_user(request, connection)
        if user is None:
            return error(401, "Could not validate credentials")
        post_id = await connection.fetchval(INSERT_POST, title, content, published, user["id"])
        post = await connection.fetchrow(POST_BY_ID, post_id)
    return JSONResponse(post_out(post), 201)


app = Starlette(
    routes=[
        Route("/users/me", read_me),
        Route("/posts/{post_id:int}", read_post),
        Route("/posts/", posts, methods=["GET", "POST"]),
    ],
    lifespan=lifespan,
)
