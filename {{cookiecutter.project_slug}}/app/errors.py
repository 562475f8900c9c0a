"""Answers for failures no route handles itself: JSON with a fitting status, never a traceback.

- The database is down, restarting or out of connections: 503 with `Retry-After`, so
  clients and load balancers try again instead of waiting on a hung request.
- A value the database cannot store (an integer beyond 64 bits, a NUL character, a lone
  surrogate): 422, as for any other invalid input.
- A method the path does not have: 405, with every method it does have in `Allow`.
- A bug: 500, as Starlette answers it, plus the request's id, which the error's log line
  (uvicorn's, with the traceback) carries too: a user's report leads to it.
"""

import logging

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.routing import compile_path

from app.logs import REQUEST_ID_HEADER

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# SQLSTATE classes for "not now": connection exception (08), credentials refused (28, as
# when a password was rotated), insufficient resources (53, e.g. too many connections),
# operator intervention (57: shutting down, starting up).
UNAVAILABLE_SQLSTATE_CLASSES = {"08", "28", "53", "57"}
# SQLSTATE class 22, data exception; asyncpg reports values it cannot encode the same way.
DATA_EXCEPTION_SQLSTATE_CLASS = "22"
UNSTORABLE_VALUE = (
    "A value cannot be stored: whole numbers must fit in 64 bits, and text may not "
    "contain NUL characters or unpaired surrogates"
)


def register(app: FastAPI) -> None:
    """Install the handlers on `app`."""
    # Connecting raises OSError (refused, unreachable, TimeoutError) without SQLAlchemy's wrapper.
    for unavailable in (DBAPIError, PoolTimeoutError, OSError):
        app.add_exception_handler(unavailable, database_error)
    # SQLite's driver refuses such values with these instead of a database error.
    for unstorable in (OverflowError, UnicodeEncodeError):
        app.add_exception_handler(unstorable, unstorable_value)
    app.add_exception_handler(status.HTTP_405_METHOD_NOT_ALLOWED, method_not_allowed)
    # Starlette still re-raises the error after this answers it, for uvicorn to log.
    app.add_exception_handler(Exception, internal_error)


def _sqlstate(error: DBAPIError) -> str:
    return str(getattr(error.orig, "sqlstate", None) or "")


def database_unavailable(error: Exception) -> bool:
    """Whether `error` means the database cannot be reached now, rather than a bug."""
    if isinstance(error, DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, OperationalError)
            or _sqlstate(error)[:2] in UNAVAILABLE_SQLSTATE_CLASSES
        )
    return isinstance(error, PoolTimeoutError | OSError)


async def database_error(request: Request, error: Exception) -> JSONResponse:
    if database_unavailable(error):
        # The driver's own message only: SQLAlchemy's would add the statement's parameters.
        cause = error.orig if isinstance(error, DBAPIError) else error
        logger.warning("database unavailable: %s: %s", type(cause).__name__, cause)
        return JSONResponse(
            {"detail": "The database is unavailable; try again shortly"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(error, DBAPIError) and _sqlstate(error)[:2] == DATA_EXCEPTION_SQLSTATE_CLASS:
        return await unstorable_value(request, error)
    raise error  # a bug: let it be a logged 500


async def unstorable_value(_request: Request, _error: Exception) -> JSONResponse:
    # Shaped like FastAPI's own validation errors, which is what the OpenAPI schema promises.
    # (A number, not Starlette's constant: its name changed between versions.)
    detail = [{"type": "value_error", "loc": [], "msg": UNSTORABLE_VALUE}]
    return JSONResponse({"detail": detail}, status_code=422)


async def method_not_allowed(request: Request, error: Exception) -> JSONResponse:
    # Starlette's `Allow` names the methods of the first route on the path only, but
    # `/posts/` has GET and POST on two routes; HTTP asks for all of them. They are in
    # the OpenAPI schema, which FastAPI builds once.
    methods = sorted(
        method.upper()
        for template, operations in request.app.openapi()["paths"].items()
        if compile_path(template)[0].match(request.url.path)
        for method in operations
    )
    headers = dict(getattr(error, "headers", None) or {})
    if methods:
        headers["Allow"] = ", ".join(methods)
    return JSONResponse(
        {"detail": "Method Not Allowed"}, status.HTTP_405_METHOD_NOT_ALLOWED, headers
    )


async def internal_error(_request: Request, _error: Exception) -> PlainTextResponse:
    request_id = correlation_id.get()
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    return PlainTextResponse(
        "Internal Server Error", status.HTTP_500_INTERNAL_SERVER_ERROR, headers
    )
