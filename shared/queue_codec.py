"""Queue message text in, request document out, whoever enqueued it.

``host.json`` sets ``messageEncoding: none`` so the trigger hands over the raw text. The API
enqueues plain JSON; ``az storage message put``, Logic Apps and the SDK's
``TextBase64EncodePolicy`` send base64 of it. JSON always starts with ``{``, base64 never does.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from shared.outbound import InvalidRequestError


def decode_queue_text(raw: bytes | str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidRequestError("undecodable_message", "the message is not UTF-8 text") from None
    text = text.strip()
    if not text.startswith("{"):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequestError(
                "undecodable_message", "the message is neither JSON nor base64 of JSON"
            ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            "undecodable_message", f"the message is not valid JSON: {exc.msg}"
        ) from None
