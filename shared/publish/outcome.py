"""What a destination made of an event or a batch (written by issue-16-out; a stand-in)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delivered:
    status: int


@dataclass(frozen=True)
class RetryLater:
    reason: str
    retry_after_seconds: float | None = None


@dataclass(frozen=True)
class Gone:
    reason: str


@dataclass(frozen=True)
class Refused:
    reason: str


Outcome = Delivered | RetryLater | Gone | Refused
