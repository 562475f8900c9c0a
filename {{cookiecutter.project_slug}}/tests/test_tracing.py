"""Tracing is set up only when OpenTelemetry's variables name an endpoint."""

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from app import tracing

COLLECTOR = "http://collector:4318"


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": COLLECTOR}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{COLLECTOR}/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": COLLECTOR, "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_traces_are_sent_only_where_an_endpoint_is_configured(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool
) -> None:
    for name in (*tracing.ENDPOINT_VARIABLES, "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert tracing.enabled() is enabled


def test_the_service_is_named_after_the_project_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    assert tracing.resource().attributes["service.name"] == tracing.DEFAULT_SERVICE_NAME
    monkeypatch.setenv("OTEL_SERVICE_NAME", "blog-api")
    assert tracing.resource().attributes["service.name"] == "blog-api"


def test_log_records_written_in_a_span_carry_its_trace_id() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello", None, None)
    tracing.TraceContextFilter().filter(record)
    assert not hasattr(record, "trace_id")
    with TracerProvider().get_tracer(__name__).start_as_current_span("request") as span:
        tracing.TraceContextFilter().filter(record)
    context = span.get_span_context()
    assert vars(record)["trace_id"] == f"{context.trace_id:032x}"
    assert vars(record)["span_id"] == f"{context.span_id:016x}"
