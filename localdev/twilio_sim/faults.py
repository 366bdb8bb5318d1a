"""Fault rules for create requests: how the gateway copes with a Twilio having a bad day."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from localdev.twilio_sim.config import SimConfig

FaultKind = Literal["429", "500", "503", "timeout", "created_then_500"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "503", "timeout", "created_then_500")
RESOURCES = ("messages", "calls")

# (HTTP status, Twilio code, message) for the faults that answer with an error at once.
ERROR_FAULTS: dict[str, tuple[int, int, str]] = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "503": (503, 20503, "Service Unavailable"),
    "created_then_500": (500, 20500, "Internal Server Error"),
}


class FaultSpecError(ValueError):
    """A fault rule posted to /_sim/faults that the simulator cannot apply."""


@dataclass
class FaultRule:
    kind: FaultKind
    to: str | None = None
    count: int | None = None
    rate: float = 1.0
    resource: str | None = None
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def applies_to(self, resource: str, to: str | None) -> bool:
        if self.exhausted:
            return False
        if self.resource is not None and self.resource != resource:
            return False
        return self.to is None or self.to == to

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "to": self.to,
            "count": self.count,
            "rate": self.rate,
            "resource": self.resource,
            "fired": self.fired,
            "remaining": None if self.count is None else max(self.count - self.fired, 0),
        }


def parse_rule(raw: object) -> FaultRule:
    if not isinstance(raw, dict):
        raise FaultSpecError(f"a fault rule must be a JSON object, got {raw!r}")
    unknown = set(raw) - {"kind", "to", "count", "rate", "resource"}
    if unknown:
        raise FaultSpecError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
    kind = str(raw.get("kind"))
    if kind not in FAULT_KINDS:
        raise FaultSpecError(f"fault kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
    to = raw.get("to")
    if to is not None and not isinstance(to, str):
        raise FaultSpecError(f"fault 'to' must be a phone number string, got {to!r}")
    count = raw.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise FaultSpecError(f"fault 'count' must be a non-negative integer, got {count!r}")
    rate = raw.get("rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise FaultSpecError(f"fault 'rate' must be a number between 0 and 1, got {rate!r}")
    resource = raw.get("resource")
    if resource is not None and resource not in RESOURCES:
        raise FaultSpecError(f"fault 'resource' must be one of {', '.join(RESOURCES)}")
    return FaultRule(kind=kind, to=to, count=count, rate=float(rate), resource=resource)


def parse_rules(payload: object) -> list[FaultRule]:
    if not isinstance(payload, dict) or not isinstance(payload.get("rules"), list):
        raise FaultSpecError('expected a JSON object like {"rules": [...]}')
    return [parse_rule(raw) for raw in payload["rules"]]


def rules_from_config(config: SimConfig) -> list[FaultRule]:
    rates: list[tuple[FaultKind, float]] = [
        ("429", config.fault_429_rate),
        ("500", config.fault_500_rate),
        ("503", config.fault_503_rate),
        ("timeout", config.fault_timeout_rate),
        ("created_then_500", config.fault_created_then_500_rate),
    ]
    return [FaultRule(kind=kind, rate=rate) for kind, rate in rates if rate > 0]


class FaultInjector:
    """Picks at most one fault per request: the first applicable rule whose dice roll hits."""

    def __init__(self, rules: list[FaultRule], rng: random.Random) -> None:
        self.rules = rules
        self._rng = rng

    def replace(self, rules: list[FaultRule]) -> None:
        self.rules = rules

    def clear(self) -> None:
        self.rules = []

    def pick(self, resource: str, to: str | None) -> FaultRule | None:
        for rule in self.rules:
            if not rule.applies_to(resource, to):
                continue
            if rule.rate >= 1.0 or self._rng.random() < rule.rate:
                rule.fired += 1
                return rule
        return None

    def to_json(self) -> dict[str, Any]:
        return {"rules": [rule.to_json() for rule in self.rules]}
