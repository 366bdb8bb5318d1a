"""Reading one app setting as a value: what every settings group parses the same way.

Each function names the setting in its error, so the start-up log says which one is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from shared.platform.errors import InvalidSettingError


def text(env: Mapping[str, str], name: str) -> str | None:
    """The setting without surrounding blanks; unset and blank are the same (``func`` and the
    portal both leave an emptied setting as an empty string)."""
    value = env.get(name, "").strip()
    return value or None


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = text(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidSettingError(name, f"expected true or false, got {raw!r}")


def positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidSettingError(name, f"expected a number, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidSettingError(name, "must be a number greater than zero")
    return value
