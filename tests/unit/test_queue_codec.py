"""Queue text in, document out: plain JSON or base64 of it, from any producer."""

from __future__ import annotations

import base64

import pytest

from shared.platform.errors import InvalidRequestError
from shared.platform.queue_codec import decode_queue_text

DOCUMENT = {"kind": "sms", "to": "+15551234567", "body": "héllo"}
TEXT = '{"kind": "sms", "to": "+15551234567", "body": "héllo"}'


def sdk_base64(text: str) -> str:
    """What ``azure.storage.queue.TextBase64EncodePolicy`` puts on the queue."""
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(TEXT, id="plain_json_str"),
        pytest.param(TEXT.encode(), id="plain_json_bytes"),
        pytest.param(sdk_base64(TEXT), id="base64_json_str"),
        pytest.param(sdk_base64(TEXT).encode(), id="base64_json_bytes"),
        pytest.param(f"\n  {TEXT}\t\n", id="plain_json_with_whitespace"),
        pytest.param(f" {sdk_base64(TEXT)}\n", id="base64_json_with_whitespace"),
        pytest.param(sdk_base64(f"\n{TEXT}\n"), id="base64_of_json_with_whitespace"),
    ],
)
def test_queue_text_decodes_to_the_document(raw: str | bytes) -> None:
    assert decode_queue_text(raw) == DOCUMENT


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff\xfe{\x00", id="not_utf8"),
        pytest.param("send an sms please", id="neither_json_nor_base64"),
        pytest.param("", id="empty"),
        pytest.param(sdk_base64("kind=sms&to=+15551234567"), id="base64_of_non_json"),
        pytest.param(base64.b64encode(b"\xff\xfe\xfd").decode(), id="base64_of_non_utf8"),
        pytest.param('{"kind": "sms",', id="truncated_json"),
        pytest.param('{"a": ' + "[" * 5000, id="nested_too_deeply"),
        pytest.param('{"tag": ' + "9" * 5000 + "}", id="integer_over_4300_digits"),
        pytest.param("kind=sms\u00e9", id="non_ascii_text_that_is_not_base64"),
    ],
)
def test_undecodable_queue_text_is_refused(raw: str | bytes) -> None:
    with pytest.raises(InvalidRequestError) as info:
        decode_queue_text(raw)

    assert info.value.code == "undecodable_message"
