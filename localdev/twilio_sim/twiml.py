"""Getting a call's TwiML the way Twilio does, and judging whether Twilio could execute it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from localdev.twilio_sim.store import TwimlRecord
from localdev.twilio_sim.webhooks import WebhookClient

HTTP_RETRIEVAL_FAILURE = 11200
DOCUMENT_PARSE_FAILURE = 12100


class TwimlDocumentError(ValueError):
    """The document is not TwiML Twilio could execute."""


def check_twiml(document: str) -> None:
    try:
        root = ET.fromstring(document)  # noqa: S314 - local, trusted input
    except ET.ParseError as error:
        raise TwimlDocumentError(f"not well-formed XML: {error}") from None
    if root.tag != "Response":
        raise TwimlDocumentError(f"root element is <{root.tag}>, TwiML needs <Response>")


def inline_twiml(document: str) -> TwimlRecord:
    record = TwimlRecord(source="inline", twiml=document)
    _judge(record, document)
    return record


async def fetch_twiml(
    client: WebhookClient, url: str, method: str, params: dict[str, str]
) -> TwimlRecord:
    reply = await client.request(url, method, params)
    record = TwimlRecord(
        source="url",
        url=reply.url,
        method=reply.method,
        params=dict(params),
        signature=reply.signature,
        http_status=reply.status,
        twiml=reply.body,
    )
    if reply.error is not None:
        record.error_code = HTTP_RETRIEVAL_FAILURE
        record.error = reply.error
    elif reply.status is None or not 200 <= reply.status < 300:
        record.error_code = HTTP_RETRIEVAL_FAILURE
        record.error = f"the TwiML URL answered HTTP {reply.status}"
    else:
        _judge(record, reply.body or "")
    return record


def _judge(record: TwimlRecord, document: str) -> None:
    try:
        check_twiml(document)
    except TwimlDocumentError as error:
        record.error_code = DOCUMENT_PARSE_FAILURE
        record.error = str(error)
