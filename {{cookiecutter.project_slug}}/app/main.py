"""The FastAPI application. The schema belongs to Alembic: nothing here creates tables."""

from fastapi import FastAPI

from app.routers import health

app = FastAPI(title={{ cookiecutter.project_name | tojson }})
app.include_router(health.router)
