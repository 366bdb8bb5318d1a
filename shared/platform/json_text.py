"""JSON text in, a value out, or one named error: whatever the text, never another exception.

Request bodies, queue messages and envelopes all come from outside; plain ``json.loads`` can
raise ``RecursionError`` or ``ValueError`` for text that is merely hostile, and that must be a
refusal, not a 500 or a poisoned message.
"""

from __future__ import annotations

import json
from typing import Any


class InvalidJsonError(ValueError):
    """Text that ``parse_json`` cannot turn into a JSON value; the message says why."""


def parse_json(raw: bytes | str) -> Any:
    """``json.loads`` with every way it can fail turned into ``InvalidJsonError``: besides
    syntax, deep nesting (RecursionError) and integers over Python's 4300-digit limit."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidJsonError(f"not valid JSON: {exc.msg} at position {exc.pos}") from None
    except UnicodeDecodeError:
        raise InvalidJsonError("not UTF-8 text") from None
    except RecursionError:
        raise InvalidJsonError("nested too deeply") from None
    except ValueError as exc:
        raise InvalidJsonError(f"not usable JSON: {exc}") from None
