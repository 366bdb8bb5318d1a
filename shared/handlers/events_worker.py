"""The events queue: signals of changes to publish, and deliveries to retry.

A message that cannot be read is logged and dropped (it would fail the same way every time);
the gateway's own storage failing raises, so the host delivers the message again.
"""

from __future__ import annotations

import azure.functions as func

from shared.delivery import events_out
from shared.delivery.services import get_services
from shared.platform import logs
from shared.platform.errors import InvalidRequestError
from shared.platform.queue_codec import decode_queue_text


async def process(msg: func.QueueMessage) -> None:
    services = await get_services()
    services.settings.require("events")
    try:
        await events_out.handle(services, decode_queue_text(msg.get_body()))
    except InvalidRequestError as exc:
        logs.error(
            "events_message_unreadable", message_id=msg.id, code=exc.code, problem=exc.message
        )
