"""Sending through the twilio client with a fake HTTP client: requests out, errors classified."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from twilio.base.exceptions import TwilioRestException
from twilio.http.response import Response

from shared.domain.outbound import OutboundRequest
from shared.platform.errors import MissingSettingError
from shared.platform.settings import Settings
from shared.platform.storage_connection import StorageConnection
from shared.twilio.sender import (
    CALL_EVENTS,
    DeleteOutcome,
    MissingSenderError,
    PermanentSendError,
    SentResult,
    TransientSendError,
    TwilioSender,
    classify,
    retry_after_seconds,
)
from tests.support.fake_twilio import FakeTwilio, reply, twilio_error

ACCOUNT = "AC" + "0" * 32
TO = "+15551234567"
FROM = "+15005550006"
API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}"
SINCE = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SMS = OutboundRequest(id="sms-1", kind="sms", to=TO, body="hello")
CALL = OutboundRequest(id="call-1", kind="call", to=TO, say="Your code is 1 2 3")


def settings(**fields: Any) -> Settings:
    values: dict[str, Any] = {
        "account_sid": ACCOUNT,
        "auth_token": "auth-token",
        "from_number": FROM,
        "public_base_url": "https://gw.example.com",
        **fields,
    }
    return Settings(storage_connection=StorageConnection("UseDevelopmentStorage=true"), **values)


def message(sid: str = "SM1", status: str = "queued", **fields: Any) -> dict[str, Any]:
    return {"sid": sid, "status": status, "account_sid": ACCOUNT, "to": TO, **fields}


def sender(fake: FakeTwilio, **fields: Any) -> TwilioSender:
    return TwilioSender(settings(**fields), http_client=fake)


async def test_sms_posts_to_from_body_and_status_callback_to_messages() -> None:
    fake = FakeTwilio(reply(201, message("SM42", "queued")))

    result = await sender(fake).send(SMS)

    assert result == SentResult("SM42", "queued")
    (sent,) = fake.requests
    assert (sent.method, sent.url) == ("POST", f"{API}/Messages.json")
    assert sent.data == {
        "To": TO,
        "From": FROM,
        "Body": "hello",
        "StatusCallback": "https://gw.example.com/api/twilio/status?id=sms-1",
    }


async def test_sms_authenticates_with_the_configured_credentials() -> None:
    fake = FakeTwilio()

    await sender(fake, api_key_sid="SK1", api_key_secret="key-secret").send(SMS)

    assert fake.requests[0].auth == ("SK1", "key-secret")


async def test_sms_media_urls_are_sent_as_repeated_media_url() -> None:
    fake = FakeTwilio()
    media = ("https://example.com/a.png", "https://example.com/b.png")

    await sender(fake).send(OutboundRequest(id="m", kind="sms", to=TO, media_urls=media))

    assert fake.requests[0].data["MediaUrl"] == list(media)
    assert "Body" not in fake.requests[0].data


async def test_sms_without_from_uses_the_messaging_service() -> None:
    fake = FakeTwilio()

    await sender(fake, from_number=None, messaging_service_sid="MG1").send(SMS)

    assert fake.requests[0].data["MessagingServiceSid"] == "MG1"
    assert "From" not in fake.requests[0].data


async def test_request_from_wins_over_configured_senders() -> None:
    fake = FakeTwilio()
    request = OutboundRequest(id="f", kind="sms", to=TO, from_="+15550001111", body="x")

    await sender(fake, messaging_service_sid="MG1").send(request)

    assert fake.requests[0].data["From"] == "+15550001111"
    assert "MessagingServiceSid" not in fake.requests[0].data


async def test_without_public_url_no_status_callback_is_sent() -> None:
    fake = FakeTwilio(reply(201, message()), reply(201, message("CA1", "queued")))
    configured = sender(fake, public_base_url=None)

    await configured.send(SMS)
    await configured.send(CALL)

    for sent in fake.requests:
        assert "StatusCallback" not in sent.data
        assert "StatusCallbackEvent" not in sent.data


async def test_call_with_say_sends_inline_twiml_with_say() -> None:
    fake = FakeTwilio(reply(201, message("CA1", "queued")))

    result = await sender(fake).send(CALL)

    assert result == SentResult("CA1", "queued")
    (sent,) = fake.requests
    assert (sent.method, sent.url) == ("POST", f"{API}/Calls.json")
    assert "Url" not in sent.data
    root = ElementTree.fromstring(str(sent.data["Twiml"]))
    assert [(child.tag, child.text) for child in root] == [("Say", "Your code is 1 2 3")]
    assert (sent.data["To"], sent.data["From"]) == (TO, FROM)


async def test_call_with_url_sends_url_and_status_callback_events() -> None:
    fake = FakeTwilio(reply(201, message("CA1", "queued")))
    request = OutboundRequest(id="c", kind="call", to=TO, url="https://example.com/t.xml")

    await sender(fake).send(request)

    data = fake.requests[0].data
    assert data["Url"] == "https://example.com/t.xml"
    assert "Twiml" not in data
    assert data["StatusCallback"] == "https://gw.example.com/api/twilio/status?id=c"
    assert data["StatusCallbackEvent"] == CALL_EVENTS


async def test_call_with_twiml_sends_it_unchanged() -> None:
    fake = FakeTwilio(reply(201, message("CA1", "queued")))
    twiml = "<Response><Hangup/></Response>"

    await sender(fake).send(OutboundRequest(id="t", kind="call", to=TO, twiml=twiml))

    assert fake.requests[0].data["Twiml"] == twiml


async def test_api_base_url_changes_the_host() -> None:
    fake = FakeTwilio()

    await sender(fake, api_base_url="http://127.0.0.1:4010").send(SMS)

    assert (
        fake.requests[0].url == f"http://127.0.0.1:4010/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    )


def connector_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.twilio.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))


def rest_error(status: int, code: int | None) -> TwilioRestException:
    return TwilioRestException(status, f"{API}/Messages.json", "refused", code, "POST")


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 21211), (400, 21610), (401, 20003), (403, 21408), (404, 20404)],
)
def test_client_errors_with_a_twilio_code_are_permanent(status: int, code: int) -> None:
    error = classify(rest_error(status, code))

    assert isinstance(error, PermanentSendError)
    assert (error.code, error.http_status) == (code, status)


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, 20429), (429, None), (400, 20429)],
    ids=["429", "429_no_code", "20429"],
)
def test_rate_limits_are_transient_and_not_ambiguous(status: int, code: int | None) -> None:
    error = classify(rest_error(status, code))

    assert isinstance(error, TransientSendError)
    assert not error.ambiguous


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient_and_ambiguous(status: int) -> None:
    error = classify(rest_error(status, 20500))

    assert isinstance(error, TransientSendError)
    assert error.ambiguous
    assert error.code == 20500


@pytest.mark.parametrize(
    ("exc", "ambiguous"),
    [
        pytest.param(TimeoutError(), True, id="timeout"),
        pytest.param(aiohttp.ServerDisconnectedError(), True, id="disconnected"),
        pytest.param(connector_error(), False, id="cannot_connect"),
    ],
)
def test_network_failures_are_transient(exc: BaseException, ambiguous: bool) -> None:
    error = classify(exc)

    assert isinstance(error, TransientSendError)
    assert error.ambiguous is ambiguous


def test_classify_reraises_what_it_does_not_know() -> None:
    with pytest.raises(KeyError):
        classify(KeyError("x"))


async def test_send_raises_permanent_error_with_twilio_code() -> None:
    fake = FakeTwilio(twilio_error(400, 21211, "The 'To' number is not a valid phone number."))

    with pytest.raises(PermanentSendError) as info:
        await sender(fake).send(SMS)

    assert (info.value.code, info.value.http_status) == (21211, 400)


@pytest.mark.parametrize(
    ("outcome", "ambiguous"),
    [
        pytest.param(twilio_error(429, 20429), False, id="429"),
        pytest.param(twilio_error(500, 20500), True, id="500"),
        pytest.param(twilio_error(503, 20503), True, id="503"),
        pytest.param(TimeoutError(), True, id="timeout"),
        pytest.param(connector_error(), False, id="cannot_connect"),
    ],
)
async def test_send_raises_transient_errors(
    outcome: Response | BaseException, ambiguous: bool
) -> None:
    with pytest.raises(TransientSendError) as info:
        await sender(FakeTwilio(outcome)).send(SMS)

    assert info.value.ambiguous is ambiguous


def listed(key: str, *items: dict[str, Any], next_page: str | None = None) -> Response:
    return reply(200, {key: list(items), "next_page_uri": next_page, "page": 0, "page_size": 50})


def created(at: datetime) -> str:
    return format_datetime(at)


def sids(found: list[SentResult]) -> list[str]:
    return [result.sid for result in found]


async def test_candidates_are_messages_with_the_body_created_since_the_claim() -> None:
    fake = FakeTwilio(
        listed(
            "messages",
            message(
                "SM_MATCH", "sent", body="hello", date_created=created(SINCE + timedelta(seconds=3))
            ),
            message("SM_OTHER", "sent", body="other", date_created=created(SINCE)),
            message(
                "SM_OLD",
                "delivered",
                body="hello",
                date_created=created(SINCE - timedelta(hours=1)),
            ),
        )
    )

    found = await sender(fake).find_candidates(SMS, SINCE)

    assert sids(found) == ["SM_MATCH"]
    assert found[0].created == SINCE + timedelta(seconds=3)
    (sent,) = fake.requests
    assert (sent.method, sent.url) == ("GET", f"{API}/Messages.json")
    assert (sent.params["To"], sent.params["From"]) == (TO, FROM)


async def test_candidates_follow_pages_until_an_older_resource() -> None:
    recent = created(SINCE + timedelta(seconds=5))
    fake = FakeTwilio(
        listed(
            "messages",
            message("SM_A", body="other", date_created=recent),
            next_page=f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json?To=x&Page=1&PageToken=PA1",
        ),
        listed(
            "messages",
            message("SM_B", body="hello", date_created=recent),
            message("SM_OLD", body="hello", date_created=created(SINCE - timedelta(hours=1))),
            next_page=f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json?To=x&Page=2&PageToken=PA2",
        ),
    )

    found = await sender(fake).find_candidates(SMS, SINCE)

    assert sids(found) == ["SM_B"]
    assert len(fake.requests) == 2


async def test_candidates_are_calls_to_the_number_created_since_the_claim() -> None:
    fake = FakeTwilio(
        listed(
            "calls",
            message("CA_NEW", "ringing", date_created=created(SINCE + timedelta(seconds=1))),
            message("CA_OLD", "completed", date_created=created(SINCE - timedelta(days=1))),
        )
    )

    assert sids(await sender(fake).find_candidates(CALL, SINCE)) == ["CA_NEW"]
    assert fake.requests[0].url == f"{API}/Calls.json"


async def test_no_candidates_when_everything_is_older_than_the_claim() -> None:
    fake = FakeTwilio(
        listed(
            "calls", message("CA_OLD", "completed", date_created=created(SINCE - timedelta(days=1)))
        )
    )

    assert await sender(fake).find_candidates(CALL, SINCE) == []


async def test_fetch_reads_a_message_by_sid_with_its_error() -> None:
    fake = FakeTwilio(reply(200, message("SM9", "undelivered", error_code=30003)))

    found = await sender(fake).fetch("sms", "SM9")

    assert (found.status, found.error_code) == ("undelivered", 30003)
    assert fake.requests[0].url == f"{API}/Messages/SM9.json"


@pytest.mark.parametrize(
    ("request_", "fields", "names"),
    [
        pytest.param(SMS, {"from_number": None}, "TWILIO_MESSAGING_SERVICE_SID", id="sms"),
        pytest.param(
            CALL,
            {"from_number": None, "messaging_service_sid": "MG1"},
            "TWILIO_FROM_NUMBER",
            id="call_cannot_use_a_messaging_service",
        ),
    ],
)
async def test_send_without_any_sender_is_refused_before_twilio(
    request_: OutboundRequest, fields: dict[str, Any], names: str
) -> None:
    fake = FakeTwilio()

    with pytest.raises(MissingSenderError) as info:
        await sender(fake, **fields).send(request_)

    assert names in str(info.value)
    assert fake.requests == []


def test_sender_without_credentials_names_the_missing_setting() -> None:
    with pytest.raises(MissingSettingError) as info:
        TwilioSender(settings(auth_token=None), http_client=FakeTwilio())

    assert info.value.name == "TWILIO_AUTH_TOKEN"


async def test_twilio_http_client_logs_through_the_quiet_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """twilio's client logs every request URL (with To=) at INFO; that stays out of the log."""
    caplog.set_level(logging.INFO)
    real = TwilioSender(settings())

    real._http.logger.info("GET /Messages.json?To=+15551234567")

    await real.close()
    assert caplog.records == []


async def test_say_call_speaks_in_the_requested_voice_and_language() -> None:
    fake = FakeTwilio(reply(201, message("CA1", "queued")))
    korean = replace(CALL, say="예약이 확인되었습니다", voice="Polly.Seoyeon", language="ko-KR")

    await sender(fake, voice_voice="alice", voice_language="en-US").send(korean)

    say = ElementTree.fromstring(str(fake.requests[0].data["Twiml"]))[0]
    assert say.text == "예약이 확인되었습니다"
    assert say.attrib == {"voice": "Polly.Seoyeon", "language": "ko-KR"}


async def test_say_call_without_speech_fields_uses_the_configured_voice() -> None:
    fake = FakeTwilio(reply(201, message("CA1", "queued")))

    await sender(fake, voice_voice="Google.ko-KR-Standard-A", voice_language="ko-KR").send(CALL)

    say = ElementTree.fromstring(str(fake.requests[0].data["Twiml"]))[0]
    assert say.attrib == {"voice": "Google.ko-KR-Standard-A", "language": "ko-KR"}


def test_a_full_sender_queue_21611_is_a_refusal_not_a_failure() -> None:
    error = classify(rest_error(400, 21611))

    assert isinstance(error, TransientSendError)
    assert not error.ambiguous and error.code == 21611


@pytest.mark.parametrize(("status", "pushback"), [(429, True), (503, True), (500, False)])
def test_429_and_503_ask_the_instance_to_slow_down(status: int, pushback: bool) -> None:
    error = classify(rest_error(status, 20000 + status))

    assert isinstance(error, TransientSendError)
    assert error.pushback is pushback


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), ("Wed, 01 Jan 2030 12:02:00 GMT", 120.0), ("soon", None)],
    ids=["delay-seconds", "http-date", "garbage"],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=datetime(2030, 1, 1, 12, 0, tzinfo=UTC)) == seconds


async def test_a_refusal_carries_twilios_retry_after() -> None:
    refusal = twilio_error(429, 20429, "Too Many Requests")
    refusal.headers = {"Retry-After": "30"}
    sender = TwilioSender(settings(), http_client=FakeTwilio(refusal))

    with pytest.raises(TransientSendError) as raised:
        await sender.send(SMS)

    assert raised.value.retry_after == 30.0


async def test_a_refused_list_page_is_classified_like_any_refusal() -> None:
    sender = TwilioSender(settings(), http_client=FakeTwilio(twilio_error(503, 20503)))

    with pytest.raises(TransientSendError) as raised:
        await sender.find_candidates(SMS, SINCE)

    assert raised.value.ambiguous and raised.value.code == 20503


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ("sms", "Messages/SM1.json"),
        ("call", "Calls/SM1.json"),
        ("recording", "Recordings/SM1.json"),
    ],
)
async def test_delete_sends_a_delete_to_the_resource(resource: str, path: str) -> None:
    fake = FakeTwilio(Response(204, ""))

    outcome = await sender(fake).delete(resource, "SM1")

    assert outcome is DeleteOutcome.DELETED
    assert [(r.method, r.url) for r in fake.requests] == [("DELETE", f"{API}/{path}")]


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (twilio_error(404, 20404, "not found"), DeleteOutcome.GONE),
        (twilio_error(409, 20009, "not final"), DeleteOutcome.LATER),
        (twilio_error(503, 20500, "unavailable"), DeleteOutcome.LATER),
    ],
)
async def test_delete_tells_gone_from_try_later(answer: Response, outcome: DeleteOutcome) -> None:
    assert await sender(FakeTwilio(answer)).delete("sms", "SM1") is outcome


async def test_delete_without_an_answer_is_tried_later() -> None:
    fake = FakeTwilio(aiohttp.ServerDisconnectedError())

    assert await sender(fake).delete("call", "CA1") is DeleteOutcome.LATER
