"""A send request's ``callback_url``: each refused shape names the field and the rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.callback_url import (
    MAX_CALLBACK_URL,
    check_callback_events,
    check_callback_url,
    require_callback_secret,
)
from shared.domain.outbound import parse_request
from shared.platform.errors import InvalidRequestError

SMS = {"kind": "sms", "to": "+15551234567", "body": "hi"}


def refusal(value: object, local: bool = False) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        check_callback_url(value, local=local)
    assert caught.value.field == "callback_url"
    return caught.value


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/x", "callback_url_not_https"),
        ("ftp://hooks.example.com/x", "invalid_callback_url"),
        ("/relative/path", "invalid_callback_url"),
        ("hooks.example.com/x", "invalid_callback_url"),
        ("https://user:pw@hooks.example.com/x", "callback_url_credentials"),
        ("https://user@hooks.example.com/x", "callback_url_credentials"),
        ("https://hooks.example.com/x#frag", "callback_url_fragment"),
        ("https://127.0.0.1/x", "callback_url_private_address"),
        ("https://10.1.2.3/x", "callback_url_private_address"),
        ("https://192.168.0.10/x", "callback_url_private_address"),
        ("https://172.16.5.4/x", "callback_url_private_address"),
        ("https://169.254.169.254/latest", "callback_url_private_address"),
        ("https://[::1]/x", "callback_url_private_address"),
        ("https://[fe80::1]/x", "callback_url_private_address"),
        ("https://[::ffff:10.0.0.1]/x", "callback_url_private_address"),
        ("https://0.0.0.0/x", "callback_url_private_address"),
        ("https://224.0.0.1/x", "callback_url_private_address"),
        ("https://localhost/x", "callback_url_private_address"),
        ("https://hooks.example.com:99999/x", "invalid_callback_url"),
        ("https://hooks.example.com/a b", "invalid_callback_url"),
        ("https://hooks.example.com/\u00e9", "invalid_callback_url"),
        ("https://" + "a" * MAX_CALLBACK_URL + ".com/", "callback_url_too_long"),
    ],
)
def test_each_refused_shape_is_named(url: str, code: str) -> None:
    assert refusal(url).code == code


def test_a_callback_url_that_is_not_a_string_is_refused() -> None:
    assert refusal(42).code == "invalid_callback_url"


def test_a_public_https_url_is_taken_as_given() -> None:
    url = "https://hooks.example.com:8443/events?tenant=a%20b"
    assert check_callback_url(url) == url


def test_http_to_loopback_only_against_the_local_stack() -> None:
    assert check_callback_url("http://127.0.0.1:7071/hook", local=True)
    assert refusal("http://127.0.0.1:7071/hook").code == "callback_url_not_https"
    assert refusal("http://hooks.example.com/x", local=True).code == "callback_url_not_https"


@given(st.ip_addresses().filter(lambda ip: not ip.is_global or ip.is_multicast))
def test_no_literal_non_public_address_is_ever_taken(address: object) -> None:
    host = f"[{address}]" if ":" in str(address) else str(address)
    assert refusal(f"https://{host}/hook").code == "callback_url_private_address"


@given(st.text(max_size=300))
def test_any_text_is_taken_or_refused_naming_the_field(text: str) -> None:
    refused: InvalidRequestError | None = None
    try:
        taken = check_callback_url(text)
    except InvalidRequestError as exc:
        refused = exc
    if refused is None:
        assert taken.startswith("https://") and "#" not in taken and "@" not in taken
    else:
        assert refused.field == "callback_url"
        assert refused.code.startswith(("invalid_callback_url", "callback_url_"))


@given(
    st.from_regex(r"[a-z]{1,20}\.(com|org|net)\Z", fullmatch=True),
    st.from_regex(r"(/[a-z0-9]{0,10}){0,4}\Z", fullmatch=True),
)
def test_https_urls_of_public_names_are_taken(host: str, path: str) -> None:
    assert check_callback_url(f"https://{host}{path}") == f"https://{host}{path}"


def test_the_request_model_carries_the_callback_and_its_types() -> None:
    request = parse_request(
        {**SMS, "callback_url": "https://h.example.com/e", "callback_events": ["sms.sent"]}
    )
    assert request.callback_url == "https://h.example.com/e"
    assert request.to_document()["callback_events"] == ["sms.sent"]
    assert parse_request(request.to_document()) == request


@pytest.mark.parametrize("value", [[], "sms.sent", ["sms.sant"], [1]])
def test_callback_events_must_be_a_list_of_types(value: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_callback_events(value)
    assert caught.value.field == "callback_events"


def test_callback_events_without_a_url_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_request({**SMS, "callback_events": ["all"]})
    assert caught.value.field == "callback_events"


def test_a_callback_url_without_the_gateway_secret_names_the_setting() -> None:
    with pytest.raises(InvalidRequestError, match="EVENT_CALLBACK_SECRET") as caught:
        require_callback_secret("https://h.example.com/e", configured=False)
    assert caught.value.field == "callback_url"
    require_callback_secret("https://h.example.com/e", configured=True)
    require_callback_secret(None, configured=False)
