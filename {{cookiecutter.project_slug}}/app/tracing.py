"""OpenTelemetry traces, sent over OTLP/HTTP to the collector OpenTelemetry's variables name.

Configured by OpenTelemetry's own environment variables only, which its SDK reads:
`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_PYTHON_FASTAPI_EXCLUDED_URLS`...
With no endpoint set (or `OTEL_SDK_DISABLED=true`) nothing is instrumented: requests pay
nothing for tracing.

A request's trace has its server span and a child span per SQL statement, holding the
statement as sent (placeholders, never the parameters' values). While a span is current,
log lines carry its `trace_id` and `span_id`.
"""

import logging
import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from sqlalchemy.ext.asyncio import AsyncEngine

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
DEFAULT_SERVICE_NAME = "fastapi-service"


def enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


class TraceContextFilter(logging.Filter):
    """Stamp each record with the current span's trace and span ids, when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return True


def resource() -> Resource:
    """What the SDK reads from the environment, named after the project unless told."""
    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected


def instrument(app: FastAPI, engine: AsyncEngine) -> None:
    """Trace `app`'s requests and `engine`'s statements, if an endpoint is configured."""
    if not enabled():
        return
    # Spans leave in batches, from a thread of their own, never in a request's time.
    export = BatchSpanProcessor(OTLPSpanExporter())
    service = resource()
    requests = TracerProvider(resource=service)
    requests.add_span_processor(export)
    # A statement outside any request (the metrics' schema check, every few seconds) would
    # start a trace of its own: statements are kept only as the spans of their request's.
    statements = TracerProvider(
        resource=service, sampler=ParentBased(root=ALWAYS_OFF), shutdown_on_exit=False
    )
    statements.add_span_processor(export)
    # ASGI's receive and send get no spans of their own: one span per request tells it.
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=requests, exclude_spans=["receive", "send"]
    )
    # Its declared range stops short of SQLAlchemy 2.1, which it instruments all the same.
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, tracer_provider=statements, skip_dep_check=True
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(TraceContextFilter())
