"""Log lines: phone numbers masked, empty fields dropped."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

from shared.platform import logs
from shared.platform.logs import mask_number, mask_numbers_in
from tests.support.otel import in_memory_telemetry


def test_mask_number_keeps_country_prefix_and_last_four() -> None:
    assert mask_number("+15551234567") == "+1555***4567"


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+1555123", "***23"), ("12345", "***45"), ("1", "***1"), ("", ""), (None, "")],
)
def test_mask_number_short_or_empty(number: str | None, masked: str) -> None:
    assert mask_number(number) == masked


def test_mask_numbers_in_text() -> None:
    assert mask_numbers_in("to +15551234567 at 12:00") == "to +1555***4567 at 12:00"


@pytest.fixture
def gateway_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="gateway")
    return caplog


def test_log_masks_to_and_from_in_text_and_attributes(
    gateway_log: pytest.LogCaptureFixture,
) -> None:
    logs.info("sent", id="abc", to="+15551234567", from_="+15557654321")

    (record,) = gateway_log.records
    assert record.getMessage() == "sent id=abc to=+1555***4567 from_=+1555***4321"
    assert "+15551234567" not in record.getMessage()
    fields = {key: getattr(record, key) for key in ("event", "id", "to", "from_")}
    assert fields == {"event": "sent", "id": "abc", "to": "+1555***4567", "from_": "+1555***4321"}


@pytest.fixture
def exported() -> Iterator[InMemoryLogRecordExporter]:
    """Records of the ``gateway`` logger as OpenTelemetry exports them."""
    telemetry = in_memory_telemetry()
    telemetry.clear()
    logs.logger.addHandler(telemetry.handler)
    logs.logger.setLevel(logging.INFO)
    yield telemetry.logs
    logs.logger.removeHandler(telemetry.handler)
    logs.logger.setLevel(logging.NOTSET)


def test_exported_log_has_flat_masked_attributes(exported: InMemoryLogRecordExporter) -> None:
    logs.warning("send_failed_permanently", id="abc", code=21211, to="+15551234567")

    (log,) = exported.get_finished_logs()
    attributes = dict(log.log_record.attributes or {})
    assert {key: attributes[key] for key in ("event", "id", "code", "to")} == {
        "event": "send_failed_permanently",
        "id": "abc",
        "code": 21211,
        "to": "+1555***4567",
    }
    assert "custom_dimensions" not in attributes
    assert "+15551234567" not in str(log.log_record.body) + str(attributes)


def test_field_named_like_a_record_attribute_is_kept_with_a_suffix(
    exported: InMemoryLogRecordExporter,
) -> None:
    logs.info("host_json_unreadable", name="host.json", module="worker")

    (log,) = exported.get_finished_logs()
    attributes = dict(log.log_record.attributes or {})
    assert (attributes["name_"], attributes["module_"]) == ("host.json", "worker")


def test_values_of_other_types_are_exported_as_masked_text(
    exported: InMemoryLogRecordExporter,
) -> None:
    logs.info("odd", numbers=["+15551234567"])

    (log,) = exported.get_finished_logs()
    assert dict(log.log_record.attributes or {})["numbers"] == "['+1555***4567']"


def test_log_drops_none_fields_and_keeps_level(gateway_log: pytest.LogCaptureFixture) -> None:
    logs.error("boom", id="abc", sid=None)

    (record,) = gateway_log.records
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "boom id=abc")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        pytest.param("to 15551234567 now", "to 1555***4567 now", id="without_plus"),
        pytest.param("to +1 555 123 4567.", "to +1555***4567.", id="with_spaces"),
        pytest.param("to +1 (555) 123-4567", "to +1555***4567", id="with_brackets_and_dash"),
        pytest.param("To=%2B15551234567&x=1", "To=+1555***4567&x=1", id="url_encoded"),
        pytest.param("to +1\u0665\u0665\u06655551234", "to +1555***1234", id="arabic_digits"),
        pytest.param("'To': '+15551234567'", "'To': '+1555***4567'", id="python_repr"),
    ],
)
def test_numbers_of_every_shape_are_masked(text: str, masked: str) -> None:
    assert mask_numbers_in(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sid=SM1234567890abcdef1234567890abcdef", id="twilio_sid"),
        pytest.param("id=3f2a1b4c-1234-5678-9012-abcdef012345", id="uuid"),
        pytest.param("send_at=2030-01-31T09:00:00+01:00", id="iso_datetime"),
        pytest.param("on 2030-01-31 at", id="iso_date"),
        pytest.param("row=event-00001764186000000000000-a1b2c3", id="event_row_key"),
        pytest.param("code=21211 attempt=3", id="short_numbers"),
    ],
)
def test_ids_dates_and_codes_are_left_alone(text: str) -> None:
    assert mask_numbers_in(text) == text


@pytest.fixture
def masking_everywhere(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    logs.install_number_masking()
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.parametrize("name", ["twilio.http_client", "azure.core.pipeline", "any.library"])
def test_records_of_every_logger_are_masked(
    masking_everywhere: pytest.LogCaptureFixture, name: str
) -> None:
    logging.getLogger(name).info("GET /Messages.json?To=%s", "%2B15551234567")

    (record,) = masking_everywhere.records
    assert record.getMessage() == "GET /Messages.json?To=+1555***4567"


def test_tracebacks_are_masked(masking_everywhere: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError("The 'To' number +15551234567 is not valid")
    except ValueError:
        logging.getLogger("any.library").exception("failed")

    (record,) = masking_everywhere.records
    assert record.exc_text is not None
    assert "+1555***4567" in record.exc_text and "+15551234567" not in record.exc_text


def test_masking_is_installed_once(masking_everywhere: pytest.LogCaptureFixture) -> None:
    factory = logging.getLogRecordFactory()

    logs.install_number_masking()

    assert logging.getLogRecordFactory() is factory


def test_sdk_requests_are_not_logged_but_its_warnings_are(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sdk = logging.getLogger(logs.SDK_REQUEST_LOGGER)
    previous = sdk.level
    sdk.setLevel(logging.NOTSET)
    caplog.set_level(logging.DEBUG)
    try:
        logs.quiet_sdk_request_logs()
        sdk.info("Request URL: 'https://account.table.core.windows.net/MessageLog()'")
        sdk.warning("Request was retried")
    finally:
        sdk.setLevel(previous)

    assert [record.getMessage() for record in caplog.records] == ["Request was retried"]
