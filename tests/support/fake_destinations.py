"""Stand-ins for the Event Grid publisher and the webhook sender, scripted per call: the
publisher's logic is tested against these, the adapters against the local stand-ins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.publish.outcome import Delivered, Outcome


@dataclass
class FakeHooks:
    """Answers each send with the next scripted outcome, then ``Delivered(204)``."""

    outcomes: list[Outcome] = field(default_factory=list)
    sent: list[tuple[str, dict[str, Any], tuple[str, ...]]] = field(default_factory=list)

    async def send(self, url: str, event: Mapping[str, Any], secrets: Sequence[str]) -> Outcome:
        self.sent.append((url, dict(event), tuple(secrets)))
        return self.outcomes.pop(0) if self.outcomes else Delivered(204)

    def types(self, url: str | None = None) -> list[str]:
        return [event["type"].rsplit(".", 2)[-2] + "." + event["type"].rsplit(".", 1)[-1]
                for to, event, _ in self.sent if url is None or to == url]  # fmt: skip


@dataclass
class FakeGrid:
    outcomes: list[Outcome] = field(default_factory=list)
    published: list[list[dict[str, Any]]] = field(default_factory=list)

    def batches(self, events: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
        return [list(events)] if events else []

    async def publish(self, batch: Sequence[Mapping[str, Any]]) -> Outcome:
        self.published.append([dict(event) for event in batch])
        return self.outcomes.pop(0) if self.outcomes else Delivered(200)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for batch in self.published for event in batch]
