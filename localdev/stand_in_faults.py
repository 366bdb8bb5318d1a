"""Fault controls the events stand-ins share (``POST /faults``, ``DELETE /faults``): a status
for a while or until cleared (an outage, a 410), a share of requests failed at random, slow
answers; for the whole server or one path.

``{"status": 503, "seconds": 600}``, ``{"fail_ratio": 0.2}`` (503 unless ``status`` says
otherwise), ``{"delay_seconds": 20}``, ``{"status": 410, "path": "/hooks/a"}``, with an optional
``"retry_after": "5"`` header value on the failed answers (``"location"`` for a redirect) and
a ``"seed"`` for the dice.
A new rule for a path (or for the whole server) replaces the one before it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KEYS = frozenset(
    {"status", "seconds", "fail_ratio", "delay_seconds", "retry_after", "location", "path", "seed"}
)


class FaultRuleError(ValueError):
    """A fault rule that cannot be applied; the message names the field."""


@dataclass(frozen=True)
class FaultRule:
    status: int | None = None
    until: float | None = None  # monotonic; None: until cleared
    fail_ratio: float | None = None
    delay_seconds: float = 0.0
    retry_after: str | None = None
    location: str | None = None
    path: str | None = None

    def as_json(self) -> dict[str, Any]:
        left = None if self.until is None else max(0.0, self.until - time.monotonic())
        return {
            "status": self.status,
            "seconds_left": left,
            "fail_ratio": self.fail_ratio,
            "delay_seconds": self.delay_seconds,
            "retry_after": self.retry_after,
            "location": self.location,
            "path": self.path,
        }


def _number(payload: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultRuleError(f"{name} must be a number within {low:g}..{high:g}")
    return float(value)


def parse_rule(payload: Any) -> tuple[FaultRule, int | None]:
    """The rule a ``POST /faults`` body describes, and the seed for the dice if it has one."""
    if not isinstance(payload, dict):
        raise FaultRuleError("a fault rule is a JSON object")
    unknown = sorted(set(payload) - KEYS)
    if unknown:
        raise FaultRuleError(f"unknown fields {unknown}; known: {sorted(KEYS)}")
    status = payload.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599
    ):
        raise FaultRuleError("status must be an HTTP status, 200..599")
    seconds = _number(payload, "seconds", 0.001, 7 * 24 * 3600)
    ratio = _number(payload, "fail_ratio", 0.0, 1.0)
    delay = _number(payload, "delay_seconds", 0.0, 3600.0) or 0.0
    path = payload.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise FaultRuleError("path must start with /")
    retry_after = payload.get("retry_after")
    if retry_after is not None and not isinstance(retry_after, str | int):
        raise FaultRuleError("retry_after is a header value: seconds or an HTTP date")
    location = payload.get("location")
    if location is not None and not isinstance(location, str):
        raise FaultRuleError("location is a header value: a URL")
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultRuleError("seed must be an integer")
    if status is None and ratio is None and not delay:
        raise FaultRuleError("a fault rule has a status, a fail_ratio or a delay_seconds")
    if ratio is not None and status is None:
        status = 503
    rule = FaultRule(
        status=status,
        until=None if seconds is None else time.monotonic() + seconds,
        fail_ratio=ratio,
        delay_seconds=delay,
        retry_after=None if retry_after is None else str(retry_after),
        location=location,
        path=path,
    )
    return rule, seed


@dataclass(frozen=True)
class InjectedFailure:
    status: int
    retry_after: str | None
    location: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        found = {"Retry-After": self.retry_after, "Location": self.location}
        return {name: value for name, value in found.items() if value}


class Faults:
    """The rules in force; ``before_answer`` sleeps the delay and says whether to fail."""

    def __init__(self) -> None:
        self._rules: dict[str | None, FaultRule] = {}
        self._rng = random.Random()  # noqa: S311 - fault dice, not security
        self.injected = 0

    def add(self, payload: Any) -> FaultRule:
        rule, seed = parse_rule(payload)
        if seed is not None:
            self._rng.seed(seed)
        self._rules[rule.path] = rule
        return rule

    def clear(self) -> None:
        self._rules.clear()

    def as_json(self) -> list[dict[str, Any]]:
        return [rule.as_json() for rule in self._rules.values()]

    def _rule_for(self, path: str) -> FaultRule | None:
        for key in (path, None):
            rule = self._rules.get(key)
            if rule is not None and rule.until is not None and time.monotonic() >= rule.until:
                del self._rules[key]
                rule = None
            if rule is not None:
                return rule
        return None

    async def before_answer(self, path: str) -> InjectedFailure | None:
        rule = self._rule_for(path)
        if rule is None:
            return None
        if rule.delay_seconds:
            await asyncio.sleep(rule.delay_seconds)
        if rule.status is None:
            return None
        if rule.fail_ratio is not None and self._rng.random() >= rule.fail_ratio:
            return None
        self.injected += 1
        return InjectedFailure(rule.status, rule.retry_after, rule.location)
