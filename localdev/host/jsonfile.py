"""Reading the host's JSON configuration files the way the Functions host does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_object(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The JSON object in `path` (a leading BOM is fine); `error` says what is wrong with it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise error(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise error(f"{path} must hold a JSON object")
    return document
