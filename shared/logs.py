"""Structured log lines with masked phone numbers and no secrets.

Each line reads ``event key=value ...`` for people and carries the same fields as
``custom_dimensions`` for Application Insights.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger("gateway")

_NUMBER = re.compile(r"\+\d{7,15}")


def mask_number(number: str | None) -> str:
    """``+15551234567`` -> ``+1555***4567``: enough to correlate, not enough to identify."""
    if not number:
        return ""
    if len(number) <= 8:
        return "***" + number[-2:]
    return f"{number[:5]}***{number[-4:]}"


def mask_numbers_in(text: str) -> str:
    return _NUMBER.sub(lambda match: mask_number(match.group(0)), text)


_MASKED_FIELDS = frozenset({"to", "from_", "from", "number", "forward_to"})


def _masked(key: str, value: Any) -> Any:
    if key in _MASKED_FIELDS and value:
        return mask_number(str(value))
    if isinstance(value, str):
        return mask_numbers_in(value)
    return value


def log(level: int, event: str, **fields: Any) -> None:
    clean = {key: _masked(key, value) for key, value in fields.items() if value is not None}
    text = " ".join([event, *(f"{key}={value}" for key, value in clean.items())])
    logger.log(level, text, extra={"custom_dimensions": {"event": event, **clean}})


def info(event: str, **fields: Any) -> None:
    log(logging.INFO, event, **fields)


def warning(event: str, **fields: Any) -> None:
    log(logging.WARNING, event, **fields)


def error(event: str, **fields: Any) -> None:
    log(logging.ERROR, event, **fields)
