"""The gateway's figures as OpenTelemetry metrics, for Azure Monitor's charts and alerts.

The instruments come from the global meter provider: the Azure Monitor distro installs one
when ``telemetry`` configures it, and without it the API's no-op provider makes each call
free. ``opentelemetry`` is imported on first use, so indexing the app never pays for it.
Attributes are low-cardinality only (kind, direction, status, Twilio's error code): never a
number, an id or a SID.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram

METER = "gateway"
ACCEPTED = "gateway.messages.accepted"
SENT = "gateway.messages.sent"
FINAL = "gateway.messages.final"
TIME_TO_SENT = "gateway.messages.time_to_sent"
TIME_TO_DELIVERED = "gateway.messages.time_to_delivered"
# Every metric the code emits: the workbook in infra/ charts these names (a test checks).
NAMES = (ACCEPTED, SENT, FINAL, TIME_TO_SENT, TIME_TO_DELIVERED)


@cache
def _counter(name: str, description: str) -> Counter:
    from opentelemetry import metrics

    return metrics.get_meter(METER).create_counter(name, unit="{message}", description=description)


@cache
def _histogram(name: str, description: str) -> Histogram:
    from opentelemetry import metrics

    return metrics.get_meter(METER).create_histogram(name, unit="s", description=description)


def _attributes(
    kind: str, direction: str, status: str | None = None, error_code: int | None = None
) -> dict[str, str]:
    attributes = {"kind": kind, "direction": direction}
    if status is not None:
        attributes["status"] = status
    if error_code is not None:
        attributes["error_code"] = str(error_code)
    return attributes


def accepted(kind: str, direction: str) -> None:
    _counter(ACCEPTED, "records accepted (sends) or received (inbound)").add(
        1, _attributes(kind, direction)
    )


def sent(kind: str, direction: str) -> None:
    _counter(SENT, "SMS Twilio sent, calls Twilio queued").add(1, _attributes(kind, direction))


def taken_by_twilio(kind: str, seconds: float) -> None:
    """From the accept to Twilio's answer with the send's SID."""
    _histogram(TIME_TO_SENT, "from accept to Twilio taking the send").record(
        max(seconds, 0.0), _attributes(kind, "outbound")
    )


def final(
    kind: str, direction: str, status: str, error_code: int | None, seconds: float | None
) -> None:
    _counter(FINAL, "records that reached a final status").add(
        1, _attributes(kind, direction, status, error_code)
    )
    if status == "delivered" and seconds is not None:
        _histogram(TIME_TO_DELIVERED, "from accept to delivered").record(
            max(seconds, 0.0), _attributes(kind, direction)
        )
