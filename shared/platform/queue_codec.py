"""Queue message text in, request document out, whoever enqueued it.

``host.json`` sets ``messageEncoding: none`` so the trigger hands over the raw text. The API
enqueues plain JSON; ``az storage message put``, Logic Apps and the SDK's
``TextBase64EncodePolicy`` send base64 of it. JSON always starts with ``{``, base64 never does.
Every failure is an ``InvalidRequestError``: the worker records it and never retries it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shared.platform.errors import InvalidRequestError
from shared.platform.json_text import InvalidJsonError, parse_json


def decode_queue_text(raw: bytes | str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidRequestError("undecodable_message", "the message is not UTF-8 text") from None
    text = text.strip()
    if not text.startswith("{"):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8").strip()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidRequestError(
                "undecodable_message", "the message is neither JSON nor base64 of JSON"
            ) from None
    try:
        return parse_json(text)
    except InvalidJsonError as exc:
        raise InvalidRequestError("undecodable_message", f"the message is {exc}") from None
