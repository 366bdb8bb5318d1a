"""The local host's HTTP front end, against the sample app on a real port."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from localdev.host import LocalHost
from tests.localdev.sample_app.harness import copy_sample_app

FUNCTION_KEY = "test-function-key"


@pytest.fixture(scope="module")
async def host(
    tmp_path_factory: pytest.TempPathFactory, storage_connection_string: str
) -> AsyncIterator[LocalHost]:
    sample = copy_sample_app(tmp_path_factory.mktemp("http"))
    with pytest.MonkeyPatch.context() as env:
        for name, value in sample.env(storage_connection_string).items():
            env.setenv(name, value)
        async with LocalHost(sample.app_dir, port=0, function_key=FUNCTION_KEY) as running:
            yield running


@pytest.fixture(scope="module")
async def http(host: LocalHost) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=host.base_url) as session:
        yield session


async def test_route_params_reach_the_function(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/items/42/widget") as response:
        assert response.status == 200
        assert (await response.json())["route_params"] == {"id": "42", "name": "widget"}


async def test_optional_route_param_may_be_omitted(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/items/42") as response:
        assert (await response.json())["route_params"] == {"id": "42"}


async def test_route_constraint_mismatch_is_not_found(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/items/not-a-number") as response:
        assert response.status == 404


async def test_catch_all_route_param_spans_segments(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/files/a/b/c.txt") as response:
        assert await response.text() == "a/b/c.txt"


async def test_query_string_reaches_params(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/items/1", params={"q": "find me", "page": "2"}) as response:
        assert (await response.json())["params"] == {"q": "find me", "page": "2"}


async def test_undeclared_method_is_405_with_allow(http: aiohttp.ClientSession) -> None:
    async with http.delete("/api/echo") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST, PUT"


async def test_unknown_route_is_404(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/no-such-function") as response:
        assert response.status == 404


async def test_path_outside_route_prefix_is_404(http: aiohttp.ClientSession) -> None:
    async with http.get("/items/42") as response:
        assert response.status == 404


async def test_function_level_without_key_is_401(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/secure") as response:
        assert response.status == 401


async def test_function_level_with_wrong_key_is_401(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/secure", headers={"x-functions-key": "wrong"}) as response:
        assert response.status == 401


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("401 ")]


async def test_a_request_without_a_key_is_logged_with_its_route_and_what_to_send(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="localdev.host"):
        async with http.get("/api/secure") as response:
            assert await response.read() == b""

    (line,) = refusals(caplog)
    assert line.startswith("401 GET /api/secure (Functions.")
    assert "no key was sent; send the function key as the x-functions-key header or ?code=" in line


async def test_a_wrong_key_is_logged_as_wrong_and_never_shown(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="localdev.host"):
        async with http.get("/api/secure?code=not-the-key-123"):
            pass

    (line,) = refusals(caplog)
    assert "the key sent is wrong" in line
    assert "not-the-key-123" not in line and FUNCTION_KEY not in line


async def test_an_admin_route_asks_for_the_master_key(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="localdev.host"):
        async with http.get("/api/admin", headers={"x-functions-key": FUNCTION_KEY}):
            pass

    assert [line for line in refusals(caplog) if "send the master key" in line]


async def test_function_key_in_header_is_accepted(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/secure", headers={"x-functions-key": FUNCTION_KEY}) as response:
        assert response.status == 200
        assert await response.text() == "function-level ok"


async def test_function_key_in_code_query_is_accepted(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/secure", params={"code": FUNCTION_KEY}) as response:
        assert response.status == 200


async def test_master_key_is_accepted_at_function_level(
    http: aiohttp.ClientSession, host: LocalHost
) -> None:
    assert host.keys is not None
    async with http.get("/api/secure", params={"code": host.keys.master_key}) as response:
        assert response.status == 200


async def test_admin_level_refuses_the_function_key(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/admin", params={"code": FUNCTION_KEY}) as response:
        assert response.status == 401


async def test_admin_level_accepts_the_master_key(
    http: aiohttp.ClientSession, host: LocalHost
) -> None:
    assert host.keys is not None
    headers = {"x-functions-key": host.keys.master_key}
    async with http.get("/api/admin", headers=headers) as response:
        assert response.status == 200
        assert await response.text() == "admin-level ok"


async def test_response_status_headers_and_body_round_trip(http: aiohttp.ClientSession) -> None:
    payload = bytes(range(256))
    async with http.post(
        "/api/echo", params={"status": "201"}, data=payload, headers={"X-Input": "seen"}
    ) as response:
        assert response.status == 201
        assert response.headers["X-Echo"] == "seen"
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert await response.read() == payload


async def test_sync_function_sees_the_request_method(http: aiohttp.ClientSession) -> None:
    async with http.put("/api/echo", data=b"x") as response:
        assert response.headers["X-Method"] == "PUT"


async def test_text_mimetype_gets_a_charset(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/text") as response:
        assert response.status == 202
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert await response.text() == "héllo"


async def test_returned_str_becomes_a_200_text_response(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/secure", params={"code": FUNCTION_KEY}) as response:
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_async_function_receives_a_context(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/whoami") as response:
        document = await response.json()
    assert document["function_name"] == "whoami"
    assert uuid.UUID(document["invocation_id"])


async def test_function_exception_is_500_with_logged_traceback(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="localdev.host"):
        async with http.get("/api/boom") as response:
            assert response.status == 500
    failures = [r for r in caplog.records if r.exc_info and "Functions.boom" in r.getMessage()]
    assert failures
    assert isinstance(failures[0].exc_info[1], RuntimeError)  # type: ignore[index]


@pytest.mark.parametrize("path", ["/", "/admin/host/status"])
async def test_status_endpoints_report_running(http: aiohttp.ClientSession, path: str) -> None:
    async with http.get(path) as response:
        assert response.status == 200
        document = await response.json()
    assert document["state"] == "Running"
    assert "echo" in document["functions"]


async def test_url_for_applies_the_route_prefix(host: LocalHost) -> None:
    assert host.url_for("items/1") == f"{host.base_url}/api/items/1"
