"""One send is one trace: the API request's context rides the queue message to the worker
and its Twilio call (Azurite for the queue, Twilio's transport faked)."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace

from tests.integration.conftest import Gateway
from tests.support.app import user_function
from tests.support.otel import in_memory_telemetry
from tests.support.requests import api_post

pytestmark = pytest.mark.integration


async def test_api_request_queue_worker_and_twilio_call_share_one_trace(
    gateway: Gateway,
) -> None:
    recorded = in_memory_telemetry()
    recorded.clear()
    host = trace.get_tracer("functions-host")

    with host.start_as_current_span("POST /api/messages") as request_span:
        await user_function("send_message")(
            api_post("messages", {"to": "+15551234567", "body": "traced"})
        )
    (message,) = await gateway.queued_messages()
    with host.start_as_current_span("outbound_worker trigger") as trigger_span:
        await user_function("outbound_worker")(message)

    request_context = request_span.get_span_context()
    assert json.loads(message.get_body())["traceparent"].startswith(
        f"00-{request_context.trace_id:032x}-{request_context.span_id:016x}-"
    )
    spans = {span.name: span for span in recorded.spans.get_finished_spans()}
    worker, twilio = spans["outbound process"], spans["twilio messages create"]
    assert worker.context is not None and twilio.context is not None
    assert worker.context.trace_id == twilio.context.trace_id == request_context.trace_id
    assert worker.parent is not None and worker.parent.span_id == request_context.span_id
    assert twilio.parent is not None and twilio.parent.span_id == worker.context.span_id
    assert [link.context.span_id for link in worker.links] == [
        trigger_span.get_span_context().span_id
    ]
    record = await gateway.services.log.get(json.loads(message.get_body())["id"])
    assert record is not None and twilio.attributes is not None
    assert twilio.attributes["twilio.sid"] == record.twilio_sid
