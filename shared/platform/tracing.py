"""One send, one trace: W3C trace context from the API request, through the queue message,
to the worker and its Twilio call.

The Functions host starts a new trace for every queue trigger, so the request's context
travels in the message itself (its optional ``traceparent`` field) and the worker continues
that trace, linking the host's own trigger span. Without an OpenTelemetry SDK configured
(locally, in tests) every span here is a no-op and nothing is stamped on messages.
OpenTelemetry is imported on first use, never when ``function_app`` is imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

from shared.platform.queue_codec import decode_queue_text

if TYPE_CHECKING:
    import azure.functions as func
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

TRACER_NAME = "gateway"
# W3C Trace Context: version-traceid-parentid-flags, lowercase hex, ids not all zero.
TRACEPARENT_PATTERN = re.compile(
    r"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}"
)


class Traced(Protocol):
    """Work that carries its trace along, as a request does through the queue."""

    @property
    def traceparent(self) -> str | None: ...

    def with_traceparent(self, traceparent: str) -> Self: ...


T = TypeVar("T", bound=Traced)


def current_traceparent() -> str | None:
    """The active span's context as a ``traceparent`` header value, if there is one."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def stamped(request: T) -> T:
    """The request carrying the active trace, ready to be enqueued."""
    traceparent = current_traceparent()
    if traceparent is None or traceparent == request.traceparent:
        return request
    return request.with_traceparent(traceparent)


def _queued_traceparent(msg: func.QueueMessage) -> str | None:
    """The message's own trace context; a message the worker will reject has none.

    The span must be open before the worker starts, so the text is decoded here too: the
    worker's own decoding stays untouched, at the cost of parsing a small document twice."""
    try:
        document = decode_queue_text(msg.get_body())
    except ValueError:
        return None
    value = document.get("traceparent") if isinstance(document, dict) else None
    if isinstance(value, str) and TRACEPARENT_PATTERN.fullmatch(value):
        return value
    return None


@contextmanager
def continue_trace(msg: func.QueueMessage) -> Iterator[Span]:
    """A span for processing one queue message, in the trace of the request that queued it."""
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    traceparent = _queued_traceparent(msg)
    parent = None
    links: list[trace.Link] = []
    if traceparent is not None:
        parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
        trigger = trace.get_current_span().get_span_context()
        if trigger.is_valid:
            links.append(trace.Link(trigger))
    attributes: dict[str, AttributeValue] = {"messaging.message.id": str(msg.id or "")}
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        "outbound process",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        links=links,
        attributes=attributes,
    ) as span:
        yield span


@contextmanager
def client_span(name: str, **attributes: AttributeValue) -> Iterator[Span]:
    """A span for one call to another service, e.g. Twilio's REST API."""
    from opentelemetry import trace

    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, kind=trace.SpanKind.CLIENT, attributes=attributes
    ) as span:
        yield span
