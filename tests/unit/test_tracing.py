"""Trace context across the queue: stamped on enqueue, continued by the worker."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from shared.domain.outbound import parse_request
from shared.platform import tracing
from tests.support.otel import Telemetry, in_memory_telemetry
from tests.support.requests import trigger_message

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
SMS = {"kind": "sms", "to": "+15551234567", "body": "hi"}


@pytest.fixture
def telemetry() -> Telemetry:
    recorded = in_memory_telemetry()
    recorded.clear()
    return recorded


def only_span(telemetry: Telemetry) -> ReadableSpan:
    (span,) = telemetry.spans.get_finished_spans()
    return span


def test_stamped_request_carries_the_active_span(telemetry: Telemetry) -> None:
    request = parse_request(SMS)

    with trace.get_tracer("test").start_as_current_span("POST /api/messages") as active:
        queued = json.loads(tracing.stamped(request).to_json())

    context = active.get_span_context()
    expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert queued["traceparent"] == expected


def test_without_an_active_span_nothing_is_stamped(telemetry: Telemetry) -> None:
    request = parse_request(SMS)

    assert tracing.stamped(request) is request
    assert "traceparent" not in request.to_document()


def test_worker_span_continues_the_queued_trace_and_links_the_trigger(
    telemetry: Telemetry,
) -> None:
    message = trigger_message("q-1", json.dumps({**SMS, "traceparent": TRACEPARENT}).encode(), 1)

    with (
        trace.get_tracer("test").start_as_current_span("host queue trigger") as trigger,
        tracing.continue_trace(message),
    ):
        pass

    worker = next(s for s in telemetry.spans.get_finished_spans() if s.name == "outbound process")
    assert worker.context is not None and worker.parent is not None
    assert f"{worker.context.trace_id:032x}" == TRACE_ID
    assert f"{worker.parent.span_id:016x}" == PARENT_ID
    assert worker.kind is trace.SpanKind.CONSUMER
    assert [link.context.span_id for link in worker.links] == [trigger.get_span_context().span_id]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        json.dumps({**SMS, "traceparent": "00-" + "0" * 32 + "-" + PARENT_ID + "-01"}).encode(),
        json.dumps({**SMS, "traceparent": TRACEPARENT + "\n"}).encode(),
        json.dumps(SMS).encode(),
    ],
    ids=["undecodable", "zero-trace-id", "trailing-newline", "absent"],
)
def test_message_without_a_valid_traceparent_starts_its_own_trace(
    telemetry: Telemetry, body: bytes
) -> None:
    with tracing.continue_trace(trigger_message("q-2", body, 1)):
        pass

    span = only_span(telemetry)
    assert span.parent is None
    assert span.context is not None and f"{span.context.trace_id:032x}" != TRACE_ID


def test_client_span_is_a_child_of_the_active_span(telemetry: Telemetry) -> None:
    message = trigger_message("q-3", json.dumps(SMS).encode(), 1)
    with (
        tracing.continue_trace(message) as worker,
        tracing.client_span("twilio messages create", **{"gateway.id": "abc"}),
    ):
        pass

    client = next(s for s in telemetry.spans.get_finished_spans() if s.name.startswith("twilio"))
    assert client.parent is not None
    assert client.parent.span_id == worker.get_span_context().span_id
    assert client.kind is trace.SpanKind.CLIENT
    assert dict(client.attributes or {}) == {"gateway.id": "abc"}
