"""The subset of host.json the real Functions host applies to HTTP and queue triggers.

Defaults and limits follow the host.json reference for extension bundle v4 (Storage
queues extension 5.x), so an app behaves here as it will once deployed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from localdev.host.jsonfile import read_json_object

MessageEncoding = Literal["base64", "none"]

MIN_POLLING_INTERVAL = timedelta(milliseconds=100)
MAX_BATCH_SIZE = 32  # the Storage "Get Messages" API returns at most 32 per call

_TIMESPAN = re.compile(
    r"^(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{1,2}):(?P<seconds>\d{1,2})"
    r"(?:\.(?P<fraction>\d{1,7}))?$"
)


class HostJsonError(ValueError):
    """host.json holds a value the real host would also refuse to start with."""


def parse_timespan(value: object, *, setting: str) -> timedelta:
    """Read a .NET TimeSpan ("[d.]hh:mm:ss[.fffffff]") or a number of milliseconds."""
    if isinstance(value, bool):
        raise HostJsonError(f"{setting}: expected a TimeSpan or milliseconds, got {value!r}")
    if isinstance(value, int | float):
        return timedelta(milliseconds=value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return timedelta(milliseconds=int(text))
        match = _TIMESPAN.match(text)
        if match:
            fraction = match["fraction"] or "0"
            return timedelta(
                days=int(match["days"] or 0),
                hours=int(match["hours"]),
                minutes=int(match["minutes"]),
                seconds=int(match["seconds"]),
                microseconds=int(fraction.ljust(7, "0")) / 10,
            )
    raise HostJsonError(f"{setting}: {value!r} is not a TimeSpan (hh:mm:ss) or milliseconds")


@dataclass(frozen=True)
class HttpOptions:
    route_prefix: str = "api"


@dataclass(frozen=True)
class QueueOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: timedelta = timedelta(minutes=1)
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    message_encoding: MessageEncoding = "base64"

    @property
    def max_concurrency(self) -> int:
        """How many messages one queue function may process at once, as documented."""
        return self.batch_size + self.new_batch_threshold


@dataclass(frozen=True)
class HostConfig:
    http: HttpOptions = field(default_factory=HttpOptions)
    queues: QueueOptions = field(default_factory=QueueOptions)
    function_timeout: timedelta | None = None


def load_host_json(app_dir: Path) -> HostConfig:
    """host.json from the app directory; a missing file means all defaults, as in Azure."""
    path = app_dir / "host.json"
    if not path.exists():
        return HostConfig()
    return parse_host_json(read_json_object(path, HostJsonError))


def parse_host_json(document: dict[str, Any]) -> HostConfig:
    extensions = _section(document, "extensions")
    return HostConfig(
        http=_http_options(_section(extensions, "http")),
        queues=_queue_options(_section(extensions, "queues")),
        function_timeout=_function_timeout(document.get("functionTimeout")),
    )


def _section(parent: dict[str, Any], name: str) -> dict[str, Any]:
    for key, value in parent.items():
        if key.lower() == name.lower():
            if not isinstance(value, dict):
                raise HostJsonError(f"{name}: expected an object, got {value!r}")
            return value
    return {}


def _get(section: dict[str, Any], name: str) -> Any:
    """host.json keys are case-insensitive in the real host."""
    for key, value in section.items():
        if key.lower() == name.lower():
            return value
    return None


def _http_options(section: dict[str, Any]) -> HttpOptions:
    prefix = _get(section, "routePrefix")
    if prefix is None:
        return HttpOptions()
    if not isinstance(prefix, str):
        raise HostJsonError(f"extensions.http.routePrefix: expected a string, got {prefix!r}")
    return HttpOptions(route_prefix=prefix.strip("/"))


def _int(section: dict[str, Any], name: str, default: int, minimum: int, maximum: int) -> int:
    value = _get(section, name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise HostJsonError(f"extensions.queues.{name}: expected an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise HostJsonError(f"extensions.queues.{name}: {value} is outside [{minimum}, {maximum}]")
    return value


def _queue_options(section: dict[str, Any]) -> QueueOptions:
    batch_size = _int(section, "batchSize", 16, 1, MAX_BATCH_SIZE)
    threshold = _int(section, "newBatchThreshold", batch_size // 2, 0, 2**31 - 1)
    max_dequeue = _int(section, "maxDequeueCount", 5, 1, 2**31 - 1)

    polling = QueueOptions.max_polling_interval
    raw_polling = _get(section, "maxPollingInterval")
    if raw_polling is not None:
        polling = parse_timespan(raw_polling, setting="extensions.queues.maxPollingInterval")
        if polling < MIN_POLLING_INTERVAL:
            raise HostJsonError("extensions.queues.maxPollingInterval must be at least 100 ms")

    visibility = timedelta(0)
    raw_visibility = _get(section, "visibilityTimeout")
    if raw_visibility is not None:
        visibility = parse_timespan(raw_visibility, setting="extensions.queues.visibilityTimeout")

    encoding = _get(section, "messageEncoding")
    if encoding is None:
        encoding = "base64"
    if not isinstance(encoding, str) or encoding.lower() not in ("base64", "none"):
        raise HostJsonError(
            f"extensions.queues.messageEncoding: expected 'base64' or 'none', got {encoding!r}"
        )
    message_encoding: MessageEncoding = "base64" if encoding.lower() == "base64" else "none"

    return QueueOptions(
        batch_size=batch_size,
        new_batch_threshold=threshold,
        max_polling_interval=polling,
        visibility_timeout=visibility,
        max_dequeue_count=max_dequeue,
        message_encoding=message_encoding,
    )


def _function_timeout(value: object) -> timedelta | None:
    """ "-1" means unbounded, as on Premium and Dedicated plans."""
    if value is None or value in ("-1", -1):
        return None
    return parse_timespan(value, setting="functionTimeout")
