"""The simulator's REST surface, driven by Twilio's own client wherever it can express the call."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from localdev.twilio_sim import SimConfig, SimulatorServer
from localdev.twilio_sim.resources import num_segments
from localdev.twilio_sim.testing import official_client

API_KEY_SID = "SK" + "b" * 32
API_KEY_SECRET = "local-api-key-secret"
SENDER = "+15005550006"
RECIPIENT = "+15558675310"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        callback_delay=0.01, seed=1, api_key_sid=API_KEY_SID, api_key_secret=API_KEY_SECRET
    )


@pytest.fixture
async def http(sim: SimulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    config = sim.state.config
    auth = {"Authorization": aiohttp.encode_basic_auth(config.account_sid, config.auth_token)}
    async with aiohttp.ClientSession(base_url=sim.base_url, headers=auth) as session:
        yield session


def api_path(sim: SimulatorServer, resource: str) -> str:
    return f"/2010-04-01/Accounts/{sim.state.config.account_sid}/{resource}"


async def post_form(
    http: aiohttp.ClientSession, path: str, form: list[tuple[str, str]]
) -> tuple[int, dict[str, Any]]:
    async with http.post(path, data=form) as response:
        return response.status, await response.json()


async def test_created_message_has_twilio_fields(twilio: Client) -> None:
    message = await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="hello")

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.account_sid == twilio.account_sid
    assert (message.to, message.from_, message.body) == (RECIPIENT, SENDER, "hello")
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.api_version == "2010-04-01"
    assert (message.num_segments, message.num_media) == ("1", "0")
    assert message.error_code is None
    assert message.uri.endswith(f"/Messages/{message.sid}.json")
    assert isinstance(message.date_created, datetime)


async def test_message_date_fields_are_rfc2822(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    form = [("To", RECIPIENT), ("From", SENDER), ("Body", "hi")]
    status, body = await post_form(http, api_path(sim, "Messages.json"), form)

    assert status == 201
    created = parsedate_to_datetime(body["date_created"])
    assert abs(created - datetime.now(UTC)) < timedelta(seconds=5)
    assert body["date_created"].endswith("+0000")
    assert body["subresource_uris"]["media"].endswith(f"{body['sid']}/Media.json")


async def test_message_with_only_a_messaging_service_is_accepted(twilio: Client) -> None:
    service = "MG" + "c" * 32
    message = await twilio.messages.create_async(
        to=RECIPIENT, messaging_service_sid=service, body="via service"
    )

    assert message.status == "accepted"
    assert message.messaging_service_sid == service
    assert message.from_ is None


async def test_message_with_media_counts_media(twilio: Client) -> None:
    media = ["https://example.com/a.png", "https://example.com/b.jpg"]
    message = await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, media_url=media)

    assert message.num_media == "2"
    assert message.sid.startswith("MM")


def test_long_unicode_body_is_split_into_67_char_segments() -> None:
    assert num_segments("é" * 160) == 1
    assert num_segments("€" * 100) == 2
    assert num_segments("😀" * 40) == 2
    assert num_segments("a" * 161) == 2


async def test_fetch_message_returns_the_created_message(twilio: Client) -> None:
    created = await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="x")

    fetched = await twilio.messages(created.sid).fetch_async()

    assert fetched.sid == created.sid
    assert fetched.body == "x"


async def test_fetch_unknown_message_is_404_with_code_20404(twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages("SM" + "0" * 32).fetch_async()

    assert raised.value.status == 404
    assert raised.value.code == 20404


async def test_list_messages_filters_by_to(twilio: Client) -> None:
    await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="one")
    await twilio.messages.create_async(to="+15558675311", from_=SENDER, body="two")

    listed = await twilio.messages.list_async(to=RECIPIENT)

    assert [message.body for message in listed] == ["one"]


async def test_list_messages_filters_by_from(twilio: Client) -> None:
    await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="one")
    await twilio.messages.create_async(to=RECIPIENT, from_="+15005550010", body="two")

    listed = await twilio.messages.list_async(from_="+15005550010")

    assert [message.body for message in listed] == ["two"]


async def test_list_messages_filters_by_date_sent(sim: SimulatorServer, twilio: Client) -> None:
    created = await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="dated")
    assert await sim.state.tasks.wait_idle(5)
    today = datetime.now(UTC)

    sent_today = await twilio.messages.list_async(date_sent=today)
    sent_later = await twilio.messages.list_async(date_sent_after=today + timedelta(days=1))

    assert [message.sid for message in sent_today] == [created.sid]
    assert sent_later == []


async def test_list_messages_is_newest_first(twilio: Client) -> None:
    for body in ("first", "second", "third"):
        await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body=body)

    listed = await twilio.messages.list_async()

    assert [message.body for message in listed] == ["third", "second", "first"]


async def test_client_follows_next_page_uri_across_pages(twilio: Client) -> None:
    for index in range(5):
        await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body=str(index))

    listed = await twilio.messages.list_async(page_size=2)

    assert sorted(message.body for message in listed) == ["0", "1", "2", "3", "4"]


async def test_list_envelope_has_twilio_paging_fields(
    sim: SimulatorServer, http: aiohttp.ClientSession, twilio: Client
) -> None:
    for index in range(3):
        await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body=str(index))

    async with http.get(api_path(sim, "Messages.json"), params={"PageSize": "2"}) as response:
        page = await response.json()

    assert response.status == 200
    assert len(page["messages"]) == 2
    assert (page["page"], page["page_size"], page["start"], page["end"]) == (0, 2, 0, 1)
    assert page["previous_page_uri"] is None
    assert "Page=1" in page["next_page_uri"]
    assert page["first_page_uri"].startswith(api_path(sim, "Messages.json"))
    assert "Page=0" in page["uri"]


async def test_created_call_has_twilio_fields(twilio: Client) -> None:
    call = await twilio.calls.create_async(
        to=RECIPIENT, from_=SENDER, twiml="<Response><Say>hi</Say></Response>"
    )

    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    assert (call.to, call._from) == (RECIPIENT, SENDER)
    assert call.to_formatted == "(555) 867-5310"
    assert call.uri.endswith(f"/Calls/{call.sid}.json")
    assert "recordings" in call.subresource_uris


async def test_fetch_call_shows_status_advanced_by_the_simulation(
    sim: SimulatorServer, twilio: Client
) -> None:
    call = await twilio.calls.create_async(
        to=RECIPIENT, from_=SENDER, twiml="<Response><Hangup/></Response>"
    )
    assert await sim.state.tasks.wait_idle(5)

    fetched = await twilio.calls(call.sid).fetch_async()

    assert fetched.status == "completed"
    assert fetched.duration is not None
    assert int(fetched.duration) >= 1


async def test_list_calls_filters_by_status(sim: SimulatorServer, twilio: Client) -> None:
    done = await twilio.calls.create_async(to=RECIPIENT, from_=SENDER, twiml="<Response/>")
    assert await sim.state.tasks.wait_idle(5)
    sim.state.behaviour = sim.state.behaviour.updated({"callback_delay": 5})
    await twilio.calls.create_async(to=RECIPIENT, from_=SENDER, twiml="<Response/>")

    completed = await twilio.calls.list_async(status="completed")
    queued = await twilio.calls.list_async(status="queued")

    assert [call.sid for call in completed] == [done.sid]
    assert len(queued) == 1


async def test_fetch_unknown_call_is_404_with_code_20404(twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as raised:
        await twilio.calls("CA" + "0" * 32).fetch_async()

    assert (raised.value.status, raised.value.code) == (404, 20404)


async def test_api_key_credentials_are_accepted(sim: SimulatorServer) -> None:
    account = sim.state.config.account_sid
    async with official_client(sim.base_url, API_KEY_SID, API_KEY_SECRET, account) as client:
        message = await client.messages.create_async(to=RECIPIENT, from_=SENDER, body="key")

    assert message.account_sid == account


async def test_wrong_auth_token_is_401_with_code_20003(sim: SimulatorServer) -> None:
    account = sim.state.config.account_sid
    async with official_client(sim.base_url, account, "wrong-token") as client:
        with pytest.raises(TwilioRestException) as raised:
            await client.messages.create_async(to=RECIPIENT, from_=SENDER, body="x")

    assert (raised.value.status, raised.value.code) == (401, 20003)


async def test_missing_auth_is_401_in_twilio_error_shape(sim: SimulatorServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(sim.base_url + api_path(sim, "Messages.json")) as response,
    ):
        body = await response.json()

    assert response.status == 401
    assert body == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


async def test_another_account_in_the_path_is_refused(
    sim: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    other = "AC" + "f" * 32
    async with http.get(f"/2010-04-01/Accounts/{other}/Messages.json") as response:
        body = await response.json()

    assert (response.status, body["code"]) == (401, 20003)


MESSAGE_RULES = [
    pytest.param([("From", SENDER), ("Body", "x")], 21604, id="missing-to"),
    pytest.param([("To", "5558675310"), ("From", SENDER), ("Body", "x")], 21211, id="to-not-e164"),
    pytest.param([("To", RECIPIENT), ("Body", "x")], 21603, id="no-from-no-service"),
    pytest.param([("To", RECIPIENT), ("From", "+1-555"), ("Body", "x")], 21212, id="bad-from"),
    pytest.param(
        [("To", RECIPIENT), ("From", "+15005550001"), ("Body", "x")], 21212, id="magic-from-invalid"
    ),
    pytest.param(
        [("To", RECIPIENT), ("From", "+15005550007"), ("Body", "x")], 21606, id="from-not-capable"
    ),
    pytest.param([("To", RECIPIENT), ("From", SENDER)], 21602, id="no-body-no-media"),
    pytest.param([("To", RECIPIENT), ("From", SENDER), ("Body", "x" * 1601)], 21617, id="long"),
    pytest.param(
        [("To", RECIPIENT), ("From", SENDER)]
        + [("MediaUrl", f"https://example.com/{i}.png") for i in range(11)],
        21623,
        id="too-many-media",
    ),
]


@pytest.mark.parametrize(("form", "code"), MESSAGE_RULES)
async def test_message_rule_violation_answers_twilio_code(
    sim: SimulatorServer, http: aiohttp.ClientSession, form: list[tuple[str, str]], code: int
) -> None:
    status, body = await post_form(http, api_path(sim, "Messages.json"), form)

    assert (status, body["code"], body["status"]) == (400, code, 400)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


CALL_RULES = [
    pytest.param([("From", SENDER), ("Url", "http://x.test/")], 21201, id="missing-to"),
    pytest.param([("To", "12"), ("From", SENDER), ("Url", "http://x.test/")], 21211, id="bad-to"),
    pytest.param([("To", RECIPIENT), ("Url", "http://x.test/")], 21213, id="missing-from"),
    pytest.param(
        [("To", RECIPIENT), ("From", "x"), ("Url", "http://x.test/")], 21212, id="bad-from"
    ),
    pytest.param([("To", RECIPIENT), ("From", SENDER)], 21205, id="no-url-no-twiml"),
    pytest.param(
        [("To", RECIPIENT), ("From", SENDER), ("Twiml", "<Response>" + "a" * 4000 + "</Response>")],
        21232,
        id="twiml-too-long",
    ),
]


@pytest.mark.parametrize(("form", "code"), CALL_RULES)
async def test_call_rule_violation_answers_twilio_code(
    sim: SimulatorServer, http: aiohttp.ClientSession, form: list[tuple[str, str]], code: int
) -> None:
    status, body = await post_form(http, api_path(sim, "Calls.json"), form)

    assert (status, body["code"]) == (400, code)


MESSAGE_MAGIC_TO = [
    pytest.param("+15005550001", 21211, id="invalid"),
    pytest.param("+15005550002", 21612, id="unroutable"),
    pytest.param("+15005550003", 21408, id="no-international-permission"),
    pytest.param("+15005550004", 21610, id="blocked"),
    pytest.param("+15005550009", 21614, id="not-sms-capable"),
]


@pytest.mark.parametrize(("to", "code"), MESSAGE_MAGIC_TO)
async def test_magic_message_recipient_raises_its_code(twilio: Client, to: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as raised:
        await twilio.messages.create_async(to=to, from_=SENDER, body="magic")

    assert (raised.value.status, raised.value.code) == (400, code)


CALL_MAGIC_TO = [
    pytest.param("+15005550001", 21211, id="invalid"),
    pytest.param("+15005550002", 21214, id="unreachable"),
    pytest.param("+15005550003", 21215, id="no-international-permission"),
    pytest.param("+15005550004", 21216, id="blocked"),
]


@pytest.mark.parametrize(("to", "code"), CALL_MAGIC_TO)
async def test_magic_call_recipient_raises_its_code(twilio: Client, to: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as raised:
        await twilio.calls.create_async(to=to, from_=SENDER, twiml="<Response/>")

    assert (raised.value.status, raised.value.code) == (400, code)


async def test_refused_request_creates_nothing(sim: SimulatorServer, twilio: Client) -> None:
    with pytest.raises(TwilioRestException):
        await twilio.messages.create_async(to="+15005550002", from_=SENDER, body="x")

    assert sim.state.store.messages == {}
    assert await twilio.messages.list_async() == []


async def test_request_log_records_params_auth_user_and_status(
    sim: SimulatorServer, twilio: Client
) -> None:
    await twilio.messages.create_async(
        to=RECIPIENT, from_=SENDER, media_url=["https://e.test/1.png", "https://e.test/2.png"]
    )

    [record] = sim.state.store.requests

    assert (record.method, record.status) == ("POST", 201)
    assert record.path == api_path(sim, "Messages.json")
    assert record.auth_user == sim.state.config.account_sid
    assert record.params["To"] == RECIPIENT
    assert record.params["MediaUrl"] == ["https://e.test/1.png", "https://e.test/2.png"]
