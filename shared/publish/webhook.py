"""Stand-in until issue-16-out lands: the interface of the webhook sender."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.publish.outcome import Outcome


class WebhookSender:
    def __init__(
        self, *, timeout_seconds: float = 15, allow_private_addresses: bool = False
    ) -> None:
        raise NotImplementedError

    async def send(self, url: str, event: Mapping[str, Any], secrets: Sequence[str]) -> Outcome:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError
