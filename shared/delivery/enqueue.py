"""Putting a request on the outbound queue: the one way work reaches the worker, whether the
API accepted it or the worker puts it back to wait.
"""

from __future__ import annotations

from datetime import datetime

from shared.delivery.services import Services
from shared.domain.outbound import OutboundRequest
from shared.domain.records import utcnow
from shared.platform.tracing import stamped

MAX_VISIBILITY_SECONDS = 7 * 24 * 3600


def _delay_seconds(send_at: datetime | None) -> float:
    return 0.0 if send_at is None else (send_at - utcnow()).total_seconds()


async def enqueue(services: Services, request: OutboundRequest, delay: float = 0.0) -> None:
    """Put the request on the outbound queue, hidden until ``send_at`` (or ``delay``), with
    the active trace so that the worker continues it.

    The message never expires: a queue's default time-to-live of 7 days would drop a message
    scheduled 7 days ahead, or one waiting out a long outage, without a trace.
    """
    seconds = min(int(max(delay, _delay_seconds(request.send_at))), MAX_VISIBILITY_SECONDS)
    await services.queue.send_message(
        stamped(request).to_json(),
        visibility_timeout=seconds if seconds > 0 else None,
        time_to_live=-1,
    )
