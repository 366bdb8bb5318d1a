"""HTTP helpers: JSON bodies with their refusals, form fields with repeats."""

from __future__ import annotations

import json

import azure.functions as func
import pytest
from azure.core.exceptions import ServiceRequestError

from shared.platform.errors import InvalidSettingError, MisconfiguredError
from shared.platform.http import (
    MAX_BODY_BYTES,
    HttpError,
    answers_failures,
    form_params,
    read_json,
)


def request(body: bytes, content_type: str | None = "application/json") -> func.HttpRequest:
    headers = {} if content_type is None else {"Content-Type": content_type}
    return func.HttpRequest("POST", "http://localhost/api/messages", headers=headers, body=body)


def refusal(req: func.HttpRequest) -> HttpError:
    with pytest.raises(HttpError) as info:
        read_json(req)
    return info.value


def test_body_over_64_kib_is_413() -> None:
    error = refusal(request(b"{" + b" " * MAX_BODY_BYTES + b"}"))

    assert (error.status, error.error.code) == (413, "body_too_large")


def test_body_of_exactly_64_kib_is_read() -> None:
    body = b'"' + b"a" * (MAX_BODY_BYTES - 2) + b'"'

    assert len(body) == 64 * 1024
    assert read_json(request(body)) == "a" * (MAX_BODY_BYTES - 2)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_non_json_content_type_is_415(content_type: str) -> None:
    error = refusal(request(b"{}", content_type))

    assert (error.status, error.error.code) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json", None],
)
def test_json_content_types_are_read(content_type: str | None) -> None:
    assert read_json(request(b'{"a": 1}', content_type)) == {"a": 1}


@pytest.mark.parametrize(
    "body",
    [b'{"a": ', b"\xff\xfe", b"", b"[" * 5000, b'{"a": ' + b"9" * 5000 + b"}"],
    ids=["truncated", "bytes", "empty", "nested_too_deeply", "integer_over_4300_digits"],
)
def test_invalid_json_is_400(body: bytes) -> None:
    error = refusal(request(body))

    assert (error.status, error.error.code) == (400, "invalid_json")


def test_http_error_renders_the_api_error_shape() -> None:
    response = HttpError(503, "storage_unavailable", "try later", headers={"Retry-After": "5"})

    rendered = response.response()

    assert rendered.status_code == 503
    assert rendered.headers["Retry-After"] == "5"
    assert json.loads(rendered.get_body()) == {
        "error": {"code": "storage_unavailable", "message": "try later"}
    }


def form(body: str, content_type: str = "application/x-www-form-urlencoded") -> func.HttpRequest:
    return request(body.encode(), content_type)


def test_form_params_keep_repeated_fields_in_order() -> None:
    params = form("MediaUrl=https%3A%2F%2Fa&NumMedia=2&MediaUrl=https%3A%2F%2Fb&Body=")

    assert params_of(params) == {
        "MediaUrl": ["https://a", "https://b"],
        "NumMedia": ["2"],
        "Body": [""],
    }


def params_of(req: func.HttpRequest) -> dict[str, list[str]]:
    return dict(form_params(req))


def test_form_params_getlist_and_first() -> None:
    params = form_params(form("A=1&A=2"))

    assert params.getlist("A") == ["1", "2"]
    assert params.getlist("B") == []
    assert params.first("A") == "1"
    assert params.first("B", "none") == "none"


def test_form_params_ignore_a_non_form_body() -> None:
    assert form_params(form("A=1", "application/json")) == {}


@answers_failures
async def failing(problem: Exception) -> func.HttpResponse:
    raise problem


async def test_a_refusal_on_the_way_is_answered_as_it_names() -> None:
    answer = await failing(HttpError(400, "invalid_day", "bad day", "day"))

    assert answer.status_code == 400
    assert json.loads(answer.get_body())["error"]["field"] == "day"


async def test_a_missing_setting_on_the_way_is_a_500_naming_it() -> None:
    cause = InvalidSettingError("EVENT_WEBHOOK_URL", "not a URL")
    answer = await failing(MisconfiguredError("events", cause))

    assert answer.status_code == 500
    assert "EVENT_WEBHOOK_URL" in answer.get_body().decode()


async def test_storage_that_does_not_answer_is_a_503_to_retry() -> None:
    answer = await failing(ServiceRequestError("connection reset"))

    assert (answer.status_code, answer.headers.get("Retry-After")) == (503, "5")
