"""The FastAPI application. The schema belongs to Alembic: nothing here creates tables."""

from fastapi import FastAPI

from app import errors
from app.body_limit import BodySizeLimit
from app.config import settings
from app.routers import auth, health, posts, users, votes

app = FastAPI(title={{ cookiecutter.project_name | quoted }})
app.include_router(health.router)
app.include_router(auth.router)
app.include_router(users.router)
app.include_router(posts.router)
app.include_router(votes.router)
app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
errors.register(app)
