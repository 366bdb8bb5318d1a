"""A gateway's traffic with one person, and a scan of every table for what is left of it."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

import azure.functions as func

from shared.delivery.services import Services
from shared.domain.records import LogEvent, LogRecord
from tests.support.app import user_function
from tests.support.fake_twilio import FakeTwilio, reply
from tests.support.requests import api_post, signed_form, trigger_message

PERSON = "+15557654321"
OTHER_PERSON = "+15557650000"
OUR_NUMBER = "+15005550006"


async def call(name: str, request: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = await user_function(name)(request)
    return response


async def run_queue(services: Services) -> None:
    async for message in services.queue.receive_messages(visibility_timeout=30):
        body = str(message.content).encode()
        await services.queue.delete_message(message)
        await user_function("outbound_worker")(trigger_message(message.id, body))


async def sent_and_delivered(
    services: Services,
    twilio: FakeTwilio,
    base_url: str,
    token: str,
    to: str = PERSON,
    key: str | None = None,
) -> tuple[str, str]:
    """An sms sent through the API and the worker, then delivered by a signed callback:
    summary, history, an owner row and a callback row. Returns (id, SID)."""
    sid = "SM" + secrets.token_hex(16)
    headers = {"Idempotency-Key": key} if key else None
    created = await call(
        "send_message", api_post("messages", {"to": to, "body": f"hello {to}"}, headers)
    )
    record_id = str(json.loads(created.get_body())["id"])
    twilio.script(reply(201, {"sid": sid, "status": "queued", "to": to, "from": OUR_NUMBER}))
    await run_queue(services)
    params = {"MessageSid": sid, "MessageStatus": "delivered", "To": to}
    await call(
        "twilio_status",
        signed_form(f"{base_url}/api/twilio/status?id={record_id}", params, token),
    )
    return record_id, sid


async def texted(base_url: str, token: str, body: str, sender: str = PERSON) -> str:
    sid = "SM" + secrets.token_hex(16)
    params = {"MessageSid": sid, "From": sender, "To": OUR_NUMBER, "Body": body, "NumMedia": "0"}
    await call("twilio_sms", signed_form(f"{base_url}/api/twilio/sms", params, token))
    return sid


async def logged_at(services: Services, record_id: str, at: datetime, to: str = PERSON) -> None:
    """A record created at ``at`` (another day than today), as the API would have logged it."""
    record = LogRecord(
        id=record_id, kind="sms", status="delivered", status_rank=100, to=to,
        from_=OUR_NUMBER, created_at=at, updated_at=at, body=f"hello {to}",
    )  # fmt: skip
    created = await services.log.create(record, LogEvent("delivered", "twilio", at=at))
    await services.index.add(created)


def table_names(services: Services) -> list[str]:
    settings = services.settings
    return [
        settings.message_log_table,
        settings.message_index_table,
        settings.opt_out_table,
        settings.retention_table,
    ]


async def every_row(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the gateway, read whole."""
    await services.retention()
    found: dict[str, list[dict[str, Any]]] = {}
    for name in table_names(services):
        table = services.tables.get_table_client(name)
        found[name] = [dict(entity) async for entity in table.list_entities()]
    return found


def rows_mentioning(rows: dict[str, list[dict[str, Any]]], *needles: str) -> list[str]:
    """Every row (table: row) whose keys or values, history JSON included, hold a needle."""
    hits = []
    for table, entities in rows.items():
        for entity in entities:
            text = json.dumps(entity, default=str)
            if any(needle in text for needle in needles):
                hits.append(f"{table}: {text}")
    return hits
