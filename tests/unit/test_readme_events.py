"""The README's "Events" section: its verifying snippet, run as written, takes a signed event
once and refuses a tampered one."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1vbmUh"


def snippet() -> str:
    section = README[README.index("## Events") :]
    section = section[section.index("Verifying in Python") :]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1).replace('"whsec_..."', repr(SECRET))


def signed(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event)
    now = datetime.now(UTC)
    signature = Webhook(SECRET).sign(event["id"], now, body)
    headers = {
        "webhook-id": event["id"],
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def test_the_readme_snippet_takes_a_signed_event_once_and_refuses_a_forged_one() -> None:
    seen: set[str] = set()
    recorded: list[tuple[str, str, str]] = []

    def already_seen(event_id: str) -> bool:
        repeat = event_id in seen
        seen.add(event_id)
        return repeat

    namespace: dict[str, Any] = {
        "already_seen": already_seen,
        "record": lambda subject, sequence, kind, data: recorded.append((subject, sequence, kind)),
    }
    exec(compile(snippet(), "README.md", "exec"), namespace)
    handle = namespace["handle"]
    event = {"id": "e1", "subject": "sms-1", "sequence": "1001", "type": "t", "data": {}}
    body, headers = signed(event)

    assert handle(body, headers) == 204
    assert handle(body, headers) == 204
    assert recorded == [("sms-1", "1001", "t")]
    assert handle(body.replace(b"sms-1", b"sms-2"), headers) == 401
