"""The FastAPI application. The schema belongs to Alembic: nothing here creates tables."""

from fastapi import FastAPI

from app.routers import auth, health, posts, users, votes

app = FastAPI(title={{ cookiecutter.project_name | quoted }})
app.include_router(health.router)
app.include_router(auth.router)
app.include_router(users.router)
app.include_router(posts.router)
app.include_router(votes.router)
