"""Everything one running simulator holds, shared by its request handlers and background tasks."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web

from localdev.twilio_sim.config import CALL_OUTCOMES, MESSAGE_OUTCOMES, SimConfig
from localdev.twilio_sim.faults import FaultInjector, rules_from_config
from localdev.twilio_sim.store import SimStore
from localdev.twilio_sim.tasks import BackgroundTasks
from localdev.twilio_sim.webhooks import Signing, WebhookClient


class BehaviourSpecError(ValueError):
    """A runtime behaviour change posted to /_sim/behaviour that cannot be applied."""


@dataclass(frozen=True)
class Behaviour:
    """The knobs a test may turn without restarting; each resource keeps the ones it began with."""

    callback_delay: float
    message_outcome: str
    call_outcome: str
    out_of_order: bool

    @classmethod
    def from_config(cls, config: SimConfig) -> Behaviour:
        return cls(
            callback_delay=config.callback_delay,
            message_outcome=config.message_outcome,
            call_outcome=config.call_outcome,
            out_of_order=config.out_of_order,
        )

    def updated(self, payload: object) -> Behaviour:
        if not isinstance(payload, dict):
            raise BehaviourSpecError("expected a JSON object")
        unknown = set(payload) - set(asdict(self))
        if unknown:
            raise BehaviourSpecError(f"unknown behaviour field(s): {', '.join(sorted(unknown))}")
        delay = payload.get("callback_delay", self.callback_delay)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise BehaviourSpecError("callback_delay must be a non-negative number")
        message_outcome = payload.get("message_outcome", self.message_outcome)
        if message_outcome not in MESSAGE_OUTCOMES:
            raise BehaviourSpecError(f"message_outcome must be one of {MESSAGE_OUTCOMES}")
        call_outcome = payload.get("call_outcome", self.call_outcome)
        if call_outcome not in CALL_OUTCOMES:
            raise BehaviourSpecError(f"call_outcome must be one of {CALL_OUTCOMES}")
        out_of_order = payload.get("out_of_order", self.out_of_order)
        if not isinstance(out_of_order, bool):
            raise BehaviourSpecError("out_of_order must be true or false")
        return replace(
            self,
            callback_delay=float(delay),
            message_outcome=message_outcome,
            call_outcome=call_outcome,
            out_of_order=out_of_order,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SimState:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - simulated SIDs and dice, not secrets
        self.behaviour = Behaviour.from_config(config)
        self.store = SimStore()
        self.faults = FaultInjector(rules_from_config(config), self.rng)
        self.tasks = BackgroundTasks()
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.config.http_timeout)
        self._session = aiohttp.ClientSession(timeout=timeout)

    async def stop(self) -> None:
        await self.tasks.cancel_all()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def webhooks(self) -> WebhookClient:
        if self._session is None:
            raise RuntimeError("the simulator's HTTP session is not open; is the app running?")
        config = self.config
        if config.webhook_key_id is not None and config.webhook_key_secret is not None:
            signing = Signing.shared_key(config.webhook_key_id, config.webhook_key_secret)
        else:
            signing = Signing(config.auth_token)
        return WebhookClient(self._session, signing)

    async def reset(self) -> None:
        await self.tasks.cancel_all()
        self.store.reset()
        self.faults.clear()
        self.behaviour = Behaviour.from_config(self.config)


STATE = web.AppKey("twilio_sim.state", SimState)
