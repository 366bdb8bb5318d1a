"""What happens after Twilio accepts a message or call: status steps and their callbacks.

With ``out_of_order`` the resource still advances in the real order (GET shows the final
status) but the callbacks go out newest first, the way a congested network delivers them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from localdev.twilio_sim.resources import API_VERSION, rfc2822
from localdev.twilio_sim.state import Behaviour, SimState
from localdev.twilio_sim.store import CallbackRecord, CallRecord, MessageRecord, utcnow
from localdev.twilio_sim.twiml import fetch_twiml, inline_twiml

log = logging.getLogger(__name__)

# Number a Messaging Service "picks" from its pool when the request named no From.
SERVICE_SENDER = "+15005550006"
MESSAGE_PRICE = "-0.00790"
CALL_PRICE = "-0.01400"

MESSAGE_ERRORS = {
    "undelivered": (30003, "Unreachable destination handset"),
    "failed": (30008, "Unknown error"),
}
TERMINAL_CALL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


class _CallbackQueue:
    """Sends callbacks at once, or holds them to send in reverse when out of order."""

    def __init__(self, state: SimState, behaviour: Behaviour, log_to: list[CallbackRecord]):
        self._state = state
        self._behaviour = behaviour
        self._log_to = log_to
        self._held: list[tuple[str, str, dict[str, str]]] = []

    async def push(self, url: str, method: str, params: dict[str, str]) -> None:
        if self._behaviour.out_of_order:
            self._held.append((url, method, params))
            return
        await self._send(url, method, params)

    async def flush(self) -> None:
        for url, method, params in reversed(self._held):
            await asyncio.sleep(self._behaviour.callback_delay)
            await self._send(url, method, params)
        self._held.clear()

    async def _send(self, url: str, method: str, params: dict[str, str]) -> None:
        reply = await self._state.webhooks.request(url, method, params)
        self._log_to.append(reply.as_callback())
        if reply.status is not None and reply.status >= 400:
            log.warning("status callback to %s answered HTTP %s", url, reply.status)


def message_callback_params(message: MessageRecord) -> dict[str, str]:
    params = {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "AccountSid": message.account_sid,
        "From": message.from_ or "",
        "To": message.to,
        "MessageStatus": message.status,
        "SmsStatus": message.status,
        "ApiVersion": API_VERSION,
    }
    if message.messaging_service_sid is not None:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code is not None:
        params["ErrorCode"] = str(message.error_code)
    return params


def _message_steps(message: MessageRecord, outcome: str) -> list[str]:
    steps = ["queued"] if message.status == "accepted" else []
    if outcome == "failed":
        return [*steps, "failed"]
    return [*steps, "sent", outcome]


async def run_message(state: SimState, message: MessageRecord, behaviour: Behaviour) -> None:
    queue = _CallbackQueue(state, behaviour, message.callbacks)
    for status in _message_steps(message, behaviour.message_outcome):
        await asyncio.sleep(behaviour.callback_delay)
        if status == "queued" and message.from_ is None:
            message.from_ = SERVICE_SENDER
        if status == "sent":
            message.date_sent = utcnow()
            message.price = MESSAGE_PRICE
        if status in MESSAGE_ERRORS:
            message.error_code, message.error_message = MESSAGE_ERRORS[status]
        message.set_status(status)
        if message.status_callback is not None:
            await queue.push(message.status_callback, "POST", message_callback_params(message))
    await queue.flush()


def call_params(call: CallRecord, status: str) -> dict[str, str]:
    return {
        "CallSid": call.sid,
        "AccountSid": call.account_sid,
        "From": call.from_,
        "To": call.to,
        "Caller": call.from_,
        "Called": call.to,
        "CallStatus": status,
        "Direction": call.direction,
        "ApiVersion": API_VERSION,
    }


class _CallRun:
    def __init__(self, state: SimState, call: CallRecord, behaviour: Behaviour) -> None:
        self.state = state
        self.call = call
        self.behaviour = behaviour
        self.queue = _CallbackQueue(state, behaviour, call.callbacks)
        self.sequence = 0

    async def step(self, event: str, callback_status: str, resource_status: str | None) -> None:
        await asyncio.sleep(self.behaviour.callback_delay)
        if resource_status is not None:
            self.call.set_status(resource_status)
        if self.call.status_callback is None or event not in self.call.status_callback_events:
            return
        params = call_params(self.call, callback_status)
        params.update(
            {
                "Timestamp": rfc2822(utcnow()) or "",
                "SequenceNumber": str(self.sequence),
                "CallbackSource": "call-progress-events",
            }
        )
        if resource_status in TERMINAL_CALL_STATUSES:
            params["CallDuration"] = str(self.call.duration or 0)
            params["Duration"] = str(math.ceil((self.call.duration or 0) / 60))
        twiml = self.call.twiml_record
        if resource_status == "failed" and twiml is not None and twiml.error_code is not None:
            params.update(ErrorCode=str(twiml.error_code), ErrorMessage=twiml.error or "")
        self.sequence += 1
        await self.queue.push(self.call.status_callback, self.call.status_callback_method, params)

    async def end(self, status: str) -> None:
        self.call.end_time = utcnow()
        if self.call.duration is None:
            self.call.duration = 0
        await self.step("completed", status, status)

    async def resolve_twiml(self) -> bool:
        call = self.call
        if call.twiml is not None:
            call.twiml_record = inline_twiml(call.twiml)
        else:
            url = call.url or ""
            params = call_params(call, "in-progress")
            call.twiml_record = await fetch_twiml(self.state.webhooks, url, call.method, params)
        record = call.twiml_record
        if record.error_code is not None:
            log.warning(
                "call %s TwiML unusable (%s): %s", call.sid, record.error_code, record.error
            )
            return False
        return True

    async def run(self) -> None:
        outcome = self.behaviour.call_outcome
        await self.step("initiated", "initiated", None)
        if outcome == "failed":
            await self.end("failed")
            return
        await self.step("ringing", "ringing", "ringing")
        if outcome in ("busy", "no-answer"):
            await self.end(outcome)
            return
        if not await self.resolve_twiml():
            await self.end("failed")
            return
        self.call.start_time = utcnow()
        answered = time.monotonic()
        await self.step("answered", "in-progress", "in-progress")
        self.call.duration = max(1, math.ceil(time.monotonic() - answered))
        self.call.price = CALL_PRICE
        await self.end("completed")


async def run_call(state: SimState, call: CallRecord, behaviour: Behaviour) -> None:
    run = _CallRun(state, call, behaviour)
    await run.run()
    await run.queue.flush()
