"""local.settings.json, applied the way Core Tools does: as environment variables.

Variables already present in the environment win, so a test or CI job can override any
value in the file without editing it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdev.host.jsonfile import read_json_object

log = logging.getLogger(__name__)

SETTINGS_FILE = "local.settings.json"
EXAMPLE_SETTINGS_FILE = "local.settings.json.example"


class SettingsFileError(ValueError):
    """The settings file cannot be used (not JSON, wrong shape, or encrypted)."""


@dataclass
class AppliedSettings:
    """What loading did, so a programmatic host can undo it on stop."""

    path: Path | None = None
    applied: list[str] = field(default_factory=list)
    kept_from_environment: list[str] = field(default_factory=list)
    host_section: dict[str, Any] = field(default_factory=dict)

    def revert(self) -> None:
        for name in self.applied:
            os.environ.pop(name, None)
        self.applied.clear()

    @property
    def local_http_port(self) -> int | None:
        port = self.host_section.get("LocalHttpPort")
        return port if isinstance(port, int) and not isinstance(port, bool) else None


def find_settings_file(app_dir: Path, explicit: Path | None = None) -> Path | None:
    if explicit is not None:
        if not explicit.exists():
            raise SettingsFileError(f"settings file {explicit} does not exist")
        return explicit
    for name in (SETTINGS_FILE, EXAMPLE_SETTINGS_FILE):
        candidate = app_dir / name
        if candidate.exists():
            return candidate
    return None


def apply_settings(app_dir: Path, explicit: Path | None = None) -> AppliedSettings:
    path = find_settings_file(app_dir, explicit)
    if path is None:
        log.info("no %s in %s; using the environment as is", SETTINGS_FILE, app_dir)
        return AppliedSettings()
    document = _read(path)
    result = AppliedSettings(path=path, host_section=_object(document, "Host", path))
    same = 0
    for name, raw in _object(document, "Values", path).items():
        value = _as_text(raw)
        if value is None:
            log.warning("%s: Values.%s is null; skipped", path, name)
            continue
        if name in os.environ:
            result.kept_from_environment.append(name)
            same += os.environ[name] == value
            continue
        os.environ[name] = value
        result.applied.append(name)
    log.info(
        "%s", settings_line(path, len(result.applied), same, len(result.kept_from_environment))
    )
    return result


def settings_line(path: Path, applied: int, same: int, kept: int) -> str:
    """What loading did, in words that do not read as if the file were ignored: a launcher
    such as ``make dev`` passes the file's values through the environment itself."""
    line = f"settings from {path}: {applied} applied"
    if same:
        line += f", {same} already set to the same value by whoever started the host"
    if kept - same:
        line += f", {kept - same} left as the environment has them (it wins, as under func start)"
    return line


def _read(path: Path) -> dict[str, Any]:
    document = read_json_object(path, SettingsFileError)
    if document.get("IsEncrypted") is True:
        raise SettingsFileError(f"{path} is encrypted; decrypt it with Core Tools first")
    return document


def _object(document: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    section = document.get(name, {})
    if not isinstance(section, dict):
        raise SettingsFileError(f"{path}: {name} must be an object")
    return section


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
