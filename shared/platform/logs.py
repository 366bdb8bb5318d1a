"""Structured log lines with masked phone numbers and no secrets.

Each line reads ``event key=value ...`` for people and carries the same fields as flat
attributes of the record (``extra``), which OpenTelemetry exports as the log's attributes; a
field named like a ``LogRecord`` attribute (``name``, ``module``...) gets a trailing ``_``.
Numbers are also masked in every other
logger's records (twilio's HTTP client, the Azure SDK), whatever shape they come in.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger("gateway")

# Detection, not validation: deliberately loose, and any script's digits (\d), so that
# "+1 (555) 123-4567", "15551234567", "%2B15551234567" (in a URL) or Arabic-Indic digits are
# all caught. Seven or more digits, not glued to letters, digits or dashes (SIDs, UUIDs, row
# keys), and not an ISO date.
_NUMBER = re.compile(
    r"(?:%2[Bb]|(?<![\w%+-])\+?)"
    r"(?![0-9]{4}-[0-9]{2}-[0-9]{2}\b)"
    r"\(?\d(?:[ ().-]{0,2}\d){6,}(?![\w-])"
)
_URL_PLUS = "%2B"
_FORMATTER = logging.Formatter()


def mask_number(number: str | None) -> str:
    """``+15551234567`` -> ``+1555***4567``: enough to correlate, not enough to identify."""
    if not number:
        return ""
    plus = ""
    if number.upper().startswith(_URL_PLUS):
        plus, number = "+", number[len(_URL_PLUS) :]
    elif number.startswith("+"):
        plus = "+"
    digits = "".join(str(int(char)) for char in number if char.isdecimal())
    if len(digits) <= 8:
        return "***" + (digits or number)[-2:]
    return f"{plus}{digits[:4]}***{digits[-4:]}"


def mask_numbers_in(text: str) -> str:
    return _NUMBER.sub(lambda match: mask_number(match.group(0)), text)


_MASKED_FIELDS = frozenset({"to", "from_", "from", "number", "forward_to"})
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _masked(key: str, value: Any) -> Any:
    if key in _MASKED_FIELDS and value:
        return mask_number(str(value))
    if isinstance(value, str):
        return mask_numbers_in(value)
    if isinstance(value, bool | int | float):
        return value
    return mask_numbers_in(str(value))


def log(level: int, event: str, **fields: Any) -> None:
    clean = {key: _masked(key, value) for key, value in fields.items() if value is not None}
    text = " ".join([event, *(f"{key}={value}" for key, value in clean.items())])
    attributes = {f"{key}_" if key in _RESERVED else key: value for key, value in clean.items()}
    logger.log(level, text, extra={"event": event, **attributes})


def info(event: str, **fields: Any) -> None:
    log(logging.INFO, event, **fields)


def warning(event: str, **fields: Any) -> None:
    log(logging.WARNING, event, **fields)


def error(event: str, **fields: Any) -> None:
    log(logging.ERROR, event, **fields)


class NumberMaskingFilter(logging.Filter):
    """Masks phone numbers in a record's message and traceback; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            return True  # a broken format string: the handler reports it when it formats
        masked = mask_numbers_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_numbers_in(_FORMATTER.formatException(record.exc_info))
        return True


# azure-core's HttpLoggingPolicy: every SDK request, and its response, at INFO.
SDK_REQUEST_LOGGER = "azure.core.pipeline.policies.http_logging_policy"


def quiet_sdk_request_logs() -> None:
    """Keeps the storage SDK from logging each request and response at INFO.

    The Functions host forwards every record the Python worker's loggers accept: with ~9
    storage requests per SMS that is ~18 multi-line records per message in Application
    Insights, each formatted and masked on the way. Its warnings and errors still pass.
    """
    logging.getLogger(SDK_REQUEST_LOGGER).setLevel(logging.WARNING)


def install_number_masking() -> None:
    """Masks every record of every logger as it is created.

    A filter on a logger does not see its children's records, and the handlers belong to
    the Functions host, so the record factory is the one place that sees them all.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_numbers", False):
        return
    masking = NumberMaskingFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        masking.filter(record)
        return record

    factory.masks_numbers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
