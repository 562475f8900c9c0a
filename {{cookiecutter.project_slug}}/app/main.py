"""The FastAPI application. The schema belongs to Alembic: nothing here creates tables."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app import errors, logs{% if cookiecutter.metrics %}, metrics{% endif %}{% if cookiecutter.tracing %}, tracing{% endif %}
from app.body_limit import BodySizeLimit
from app.config import settings
from app.cors import ListedOriginsCORS
from app.database import engine
from app.routers import auth, health, posts, users, votes
from app.schemas import error_responses

logs.configure(settings.log_level, settings.log_format)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # What is loaded by now (modules, models, prebuilt statements) lives as long as the
    # process. Out of the garbage collector's view, it no longer lengthens the collector's
    # periodic full passes, which show as CPU time and tail latency under load.
    gc.freeze()
{%- if cookiecutter.metrics %}
    async with metrics.watching_schema(engine):
        yield
{%- else %}
    yield
{%- endif %}
    # Close the pooled connections, rather than leave the database to notice them gone.
    await engine.dispose()


def operation_id(route: APIRoute) -> str:
    """An operation's id is its function's name (`create_user`, `list_posts`): the names
    that clients generated from the schema give their methods."""
    return route.name


# Any request can be refused as too large (BodySizeLimit) or meet the database down (errors).
app = FastAPI(
    title={{ cookiecutter.project_name | python_literal }},
    lifespan=lifespan,
    responses=error_responses(413, 503),
    generate_unique_id_function=operation_id,
)
app.include_router(health.router)
app.include_router(auth.router)
app.include_router(users.router)
app.include_router(posts.router)
app.include_router(votes.router)
app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
errors.register(app)
{%- if cookiecutter.metrics %}
metrics.instrument(app, engine)
{%- endif %}
{%- if cookiecutter.tracing %}
tracing.instrument(app, engine)
{%- endif %}
# Around everything else, so that even a refused request carries CORS headers for a listed
# origin (else the browser hides the refusal from the front end's code).
app.add_middleware(ListedOriginsCORS, origins=settings.cors_origins)
# Outermost, so that whatever runs for a request (the other middleware included) logs its id.
app.add_middleware(
    CorrelationIdMiddleware,
    header_name=logs.REQUEST_ID_HEADER,
    validator=logs.is_sane_request_id,
)
