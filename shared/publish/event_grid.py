"""Stand-in until issue-16-out lands: the interface of the Event Grid publisher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared.publish.outcome import Outcome

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential


class EventGridPublisher:
    def __init__(
        self,
        endpoint: str,
        *,
        key: str | None = None,
        credential: AsyncTokenCredential | None = None,
        namespace_topic: str | None = None,
        timeout_seconds: float = 15,
    ) -> None:
        raise NotImplementedError

    def batches(self, events: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
        raise NotImplementedError

    async def publish(self, batch: Sequence[Mapping[str, Any]]) -> Outcome:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError
