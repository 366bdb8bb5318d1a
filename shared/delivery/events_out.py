"""Publishing: from a signal to the event at every destination that wants it, at least once.

A signal message names changes; the record is read (callbacks folded), its events derived
from its history, and those signalled are sent to each destination whose filter takes them.
A change not in the record yet is looked for again a few times, then dropped with a log line
(its write never happened). What a destination did not take travels on as a delivery message
holding the built events, so a retry sends the same bytes with the same id: ``RetryLater``
waits with backoff and jitter (never less than ``Retry-After``) for ``EVENT_RETRY_BUDGET_HOURS``;
``Gone`` switches the destination off; ``Refused`` and a spent budget dead-letter. Nothing
here raises for a destination's failure: only the gateway's own storage failing does, and
then the host delivers the message again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.delivery.bounded import gather_bounded
from shared.delivery.event_routes import CALLBACK, Route, callback_types
from shared.delivery.event_services import EventServices
from shared.delivery.event_signals import (
    DELIVERY,
    KIND,
    SIGNALS,
    Signal,
    parse_signals,
    put_signals,
)
from shared.delivery.event_sinks import Event, GridSink, HookSink, Sink
from shared.delivery.retry_policy import RetryPolicy
from shared.delivery.services import Services
from shared.domain.events import cloud_event, status_changes, with_body
from shared.domain.records import utcnow
from shared.domain.transitions import callback_gone
from shared.platform import logs
from shared.platform.errors import InvalidRequestError
from shared.publish.outcome import Delivered, Gone, Outcome, Refused, RetryLater
from shared.storage.event_dead_letters import DeadLetter

MAX_VISIBILITY_SECONDS = 7 * 24 * 3600 - 60
# A queue message holds 64 KiB; the events of one delivery message stay well inside.
MAX_DELIVERY_CHARS = 40_000
SOURCE_WITHOUT_URL = "urn:twilio-gateway"


@dataclass(frozen=True)
class Delivery:
    """Events on their way to one destination; ``since``: the first failure, if any yet."""

    destination: str
    events: list[Event]
    attempt: int = 0
    since: datetime | None = None
    url: str | None = None
    record_id: str | None = None
    last_reason: str = field(default="", compare=False)

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            KIND: DELIVERY,
            "to": self.destination,
            "attempt": self.attempt,
            "events": list(self.events),
        }
        if self.since is not None:
            document["since"] = self.since.isoformat()
        if self.url is not None:
            document["url"] = self.url
        if self.record_id is not None:
            document["record"] = self.record_id
        if self.last_reason:
            document["reason"] = self.last_reason[:300]
        return document


def parse_delivery(document: Mapping[str, Any]) -> Delivery:
    wrong = InvalidRequestError("invalid_delivery", "not a delivery message of events out")
    events, attempt, to = document.get("events"), document.get("attempt"), document.get("to")
    if not isinstance(events, list) or not isinstance(attempt, int) or not isinstance(to, str):
        raise wrong
    if not all(isinstance(event, dict) and isinstance(event.get("id"), str) for event in events):
        raise wrong
    since = document.get("since")
    try:
        when = datetime.fromisoformat(since) if isinstance(since, str) else None
    except ValueError:
        raise wrong from None
    url, record = document.get("url"), document.get("record")
    return Delivery(
        to,
        events,
        attempt,
        when,
        url if isinstance(url, str) else None,
        record if isinstance(record, str) else None,
        str(document.get("reason", "")),
    )


def source_of(services: Services) -> str:
    return services.settings.public_base_url or SOURCE_WITHOUT_URL


def policy_of(events: EventServices) -> RetryPolicy:
    settings = events.settings.events
    return RetryPolicy(
        settings.retry_first_seconds,
        settings.retry_max_seconds,
        timedelta(hours=settings.retry_budget_hours),
    )


async def handle(services: Services, document: object) -> None:
    """One message of the events queue."""
    if not isinstance(document, dict):
        raise InvalidRequestError("invalid_events_message", "not a JSON object")
    events = services.events
    if events is None:
        logs.warning("events_message_without_destinations", kind=str(document.get(KIND)))
        return
    if document.get(KIND) == SIGNALS:
        signals, check = parse_signals(document)
        await publish_signalled(services, events, signals, check)
    elif document.get(KIND) == DELIVERY:
        await attempt(services, events, parse_delivery(document))
    else:
        raise InvalidRequestError("invalid_events_message", "not a message of events out")


async def publish_signalled(
    services: Services, events: EventServices, signals: Sequence[Signal], check: int
) -> None:
    by_record: dict[str, list[str]] = {}
    for signal in signals:
        by_record.setdefault(signal.id, []).append(signal.status)
    ids = list(by_record)
    found = await gather_bounded(services.log.read, ids)
    off = await events.off()
    routes = [route for route in events.routing.routes if route.key not in off]
    per_route: dict[str, list[Event]] = {route.name: [] for route in routes}
    callbacks: list[Delivery] = []
    missing: list[Signal] = []
    source = source_of(services)
    for record_id, read in zip(ids, found, strict=True):
        statuses = by_record[record_id]
        if read is None:
            missing += [Signal(record_id, status) for status in statuses]
            continue
        record, history = read
        changes = {change.status: change for change in status_changes(record, history)}
        built: list[Event] = []
        for status in statuses:
            change = changes.get(status)
            if change is None:
                if not any(event.status == status for event in history):
                    missing.append(Signal(record_id, status))
                continue
            event = cloud_event(record, change, source)
            built.append(event)
            for route in routes:
                if event["type"] in route.types:
                    per_route[route.name].append(
                        with_body(event, record) if route.bodies else event
                    )
        wants_callback = (
            events.routing.callbacks and record.callback_url and not record.callback_gone
        )
        if wants_callback and built:
            assert record.callback_url is not None
            types = callback_types(record, events.routing.callback_default)
            mine = [event for event in built if event["type"] in types]
            if mine:
                callbacks.append(
                    Delivery(CALLBACK, mine, url=record.callback_url, record_id=record.id)
                )
    deliveries = [Delivery(name, items) for name, items in per_route.items() if items]
    await gather_bounded(lambda d: attempt(services, events, d), deliveries + callbacks)
    await _look_again(events, missing, check)


async def _look_again(events: EventServices, missing: list[Signal], check: int) -> None:
    if not missing:
        return
    settings = events.settings.events
    if check + 1 >= settings.signal_checks:
        for signal in missing:
            logs.warning(
                "event_signal_dropped",
                id=signal.id,
                status=signal.status,
                reason=f"not in the record after {check + 1} looks: its write never happened",
            )
        return
    delay = settings.signal_delay_seconds * 2 ** (check + 1)
    await put_signals(events.queue, missing, check + 1, delay)


def _route(events: EventServices, name: str) -> Route | None:
    return next((route for route in events.routing.routes if route.name == name), None)


def _sink(events: EventServices, delivery: Delivery) -> Sink | None:
    settings = events.settings.events
    if delivery.destination == CALLBACK:
        if delivery.url is None or not settings.callback_secrets:
            return None
        return HookSink(events.sender(), delivery.url, settings.callback_secrets)
    if delivery.destination == "event_grid":
        return GridSink(events.grid()) if settings.event_grid is not None else None
    hook = next((h for h in settings.webhooks if h.name == delivery.destination), None)
    return HookSink(events.sender(), hook.url, hook.secrets) if hook is not None else None


async def attempt(services: Services, events: EventServices, delivery: Delivery) -> None:
    """Send, then settle each outcome; only the gateway's own storage failing raises."""
    sink = _sink(events, delivery)
    route = _route(events, delivery.destination)
    if sink is None or (route is not None and route.key in await events.off()):
        logs.warning(
            "event_destination_gone",
            destination=delivery.destination,
            events=len(delivery.events),
            reason="no longer configured, or switched off after a 410",
        )
        return
    results = await sink.deliver(delivery.events)
    again: list[Event] = []
    retry_after = 0.0
    reason = ""
    now = utcnow()
    for batch, outcome in results:
        if isinstance(outcome, Delivered):
            continue
        if isinstance(outcome, RetryLater):
            again += batch
            retry_after = max(retry_after, outcome.retry_after_seconds or 0.0)
            reason = outcome.reason
        elif isinstance(outcome, Gone):
            await _gone(services, events, delivery, route, outcome.reason)
            await _dead_letter(events, delivery, batch, f"gone: {outcome.reason}", now)
        else:
            await _dead_letter(events, delivery, batch, _reason(outcome), now)
    if again:
        await _retry(events, delivery, again, retry_after, reason, now)


def _reason(outcome: Outcome) -> str:
    if isinstance(outcome, Refused):
        return f"refused: {outcome.reason}"
    return str(outcome)


async def _retry(
    events: EventServices,
    delivery: Delivery,
    again: list[Event],
    retry_after: float,
    reason: str,
    now: datetime,
) -> None:
    since = delivery.since or now
    policy = policy_of(events)
    if now - since >= policy.budget:
        spent = f"retries spent after {delivery.attempt + 1} attempts: {reason}"
        await _dead_letter(events, delivery, again, spent, now)
        return
    delay = min(policy.delay(delivery.attempt, retry_after or None), MAX_VISIBILITY_SECONDS)
    logs.info(
        "event_delivery_retrying",
        destination=delivery.destination,
        events=len(again),
        attempt=delivery.attempt + 1,
        seconds=round(delay, 1),
        reason=reason,
    )
    for chunk in _chunks(again):
        later = Delivery(
            delivery.destination,
            chunk,
            delivery.attempt + 1,
            since,
            delivery.url,
            delivery.record_id,
            reason,
        )
        await events.queue.send_message(
            json.dumps(later.document(), ensure_ascii=False, separators=(",", ":")),
            visibility_timeout=max(1, int(delay)),
            time_to_live=-1,
        )


def _chunks(items: list[Event]) -> list[list[Event]]:
    chunks: list[list[Event]] = [[]]
    size = 0
    for item in items:
        length = len(json.dumps(item, ensure_ascii=False))
        if chunks[-1] and size + length > MAX_DELIVERY_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += length
    return chunks


async def _gone(
    services: Services,
    events: EventServices,
    delivery: Delivery,
    route: Route | None,
    reason: str,
) -> None:
    if delivery.destination == CALLBACK and delivery.record_id and delivery.url:
        logs.error(
            "event_callback_gone", id=delivery.record_id, reason=reason, effect="switched off"
        )
        await services.log.update(delivery.record_id, callback_gone(delivery.url, reason))
    elif route is not None:
        logs.error(
            "event_destination_gone",
            destination=route.name,
            reason=reason,
            effect="switched off until its URL changes",
        )
        await events.switch_off(route.key, route.name, reason)


async def _dead_letter(
    events: EventServices, delivery: Delivery, batch: list[Event], reason: str, now: datetime
) -> None:
    for event in batch:
        letter = DeadLetter(
            destination=delivery.destination,
            event=dict(event),
            reason=reason,
            attempts=delivery.attempt + 1,
            first_failed_at=delivery.since or now,
            dead_at=now,
            url=delivery.url,
        )
        stored = await events.dead_letters.add(letter)
        logs.error(
            "event_dead_lettered",
            destination=delivery.destination,
            event_id=str(event.get("id")),
            type=str(event.get("type")),
            reason=reason,
            day=stored.day,
            key=stored.key,
        )


async def replay(events: EventServices, letter: DeadLetter) -> None:
    """Back on the queue as a first attempt (a fresh budget), then off the dead-letter list."""
    delivery = Delivery(
        letter.destination,
        [letter.event],
        url=letter.url,
        record_id=str(letter.event.get("subject")) if letter.url else None,
    )
    await events.queue.send_message(
        json.dumps(delivery.document(), ensure_ascii=False, separators=(",", ":")),
        time_to_live=-1,
    )
    await events.dead_letters.delete(letter)
