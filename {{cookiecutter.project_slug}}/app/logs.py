"""One logging setup for the app, uvicorn and Alembic: `LOG_LEVEL`, and `LOG_FORMAT` text or json.

Every line written while a request is served carries that request's id (`request_id`),
which is also its response's `X-Request-ID` header: the caller's, when it sends a sane
one (a load balancer's or another service's), otherwise a new one.
"""

import logging
import re
from typing import Literal, TextIO

from asgi_correlation_id import correlation_id
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]
REQUEST_ID_HEADER = "X-Request-ID"
# What another system may name a request by (a UUID, nginx's hex $request_id, a trace id).
# Anything else (spaces, quotes, newlines, a kilobyte) is replaced: it lands in every line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
TEXT_FORMAT = "%(asctime)s %(levelname)-5.5s [%(name)s] %(message)s"
# What a record may carry about the request it was written for (app.tracing adds the trace).
CONTEXT_FIELDS = ("request_id", "trace_id")
# uvicorn adds an ANSI-coloured copy of some messages, for its own terminal formatter.
NOT_FOR_JSON = [*RESERVED_ATTRS, "color_message"]


def is_sane_request_id(value: str) -> bool:
    return SANE_REQUEST_ID.fullmatch(value) is not None


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served, when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = correlation_id.get()
        if request_id is not None:
            record.request_id = request_id
        return True


class TextFormatter(logging.Formatter):
    """Alembic's layout with the time in front, and the request's context at the end."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        context = [
            f"{key}={getattr(record, key)}" for key in CONTEXT_FIELDS if hasattr(record, key)
        ]
        return f"{line} [{' '.join(context)}]" if context else line


def formatter(log_format: LogFormat) -> logging.Formatter:
    if log_format == "json":
        # One object a line: time (UTC, ISO 8601), level, logger, message, request_id when
        # serving a request, and the traceback as `exc_info` for an error.
        return JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            reserved_attrs=NOT_FOR_JSON,
            timestamp="time",
        )
    return TextFormatter(TEXT_FORMAT)


def stream_handler(log_format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to `stream` (standard error as it is now, by default) in
    `log_format`, each record stamped with its request."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestIdFilter())
    return handler


def configure(level: LogLevel, log_format: LogFormat) -> None:
    """Send every logger's records to standard error, one format for all of them."""
    handler = stream_handler(log_format)
    # On the handler too: records that other loggers let through (uvicorn sets its own
    # levels) reach it without the root logger's level ever being asked.
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers.clear()
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn gives its loggers handlers of their own: hand their records to ours instead.
    # (An access logger left without handlers is one `--no-access-log` silenced.)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.handlers:
            logger.handlers.clear()
            logger.propagate = True
    # At INFO, SQLAlchemy would log every statement with its parameters: password hashes
    # and tokens included. Ask for SQL with the engine's `echo` when debugging instead.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # Alembic announces each of its autogenerate plugins at INFO on every `check` and
    # `revision --autogenerate`: six lines about itself, none about the schema.
    plugins = logging.getLogger("alembic.runtime.plugins")
    plugins.setLevel(logging.NOTSET if level == "DEBUG" else logging.WARNING)
