"""The refusals that cross layers: a request that breaks a rule, and a setting that is
missing or invalid.

Each names what is wrong (a field, a setting) so that whoever meets it, a client, a queue
producer or an operator reading the log, knows what to fix. They live at the bottom so that
the request model, the HTTP helpers and the settings can all raise and render them.
"""

from __future__ import annotations

from typing import Any

from shared.platform.logs import mask_numbers_in

SHOWN_CHARS = 40


class InvalidRequestError(ValueError):
    """A request that breaks a rule; ``code`` and ``field`` are part of the public API."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


def shown(value: object) -> str:
    """A value quoted for an error message: phone numbers masked, then escaped (lone
    surrogates too) and cut short, so the message can be logged, stored and sent back
    whatever the input was. Masking comes first: once escaped, ``\\u0665`` or ``\\uff17``
    no longer read as digits, and the log's masking would let them through."""
    text = ascii(mask_numbers_in(value)) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


class SettingsError(RuntimeError):
    """Base for configuration problems; the message names the setting."""


class MissingSettingError(SettingsError):
    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"setting {name} is not set: {why}")
        self.name = name


class InvalidSettingError(SettingsError):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"setting {name} is invalid: {problem}")
        self.name = name


class MisconfiguredError(SettingsError):
    """A function needs a settings group that failed to load; ``cause`` names the setting."""

    def __init__(self, group: str, cause: MissingSettingError | InvalidSettingError) -> None:
        super().__init__(str(cause))
        self.group = group
        self.name = cause.name
