"""Storage failures: a refusal (4xx) is final for the client, an outage (5xx, no answer) is not."""

from __future__ import annotations

import pytest
from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError

from shared.handlers.send_api import StorageRefusedError, StorageUnavailableError, _storage_error


def answered(status: int) -> HttpResponseError:
    error = HttpResponseError(message=f"storage answered {status}")
    error.status_code = status
    return error


@pytest.mark.parametrize("status", [400, 413])
def test_storage_refusing_a_request_is_not_reported_as_unavailable(status: int) -> None:
    assert isinstance(_storage_error(answered(status)), StorageRefusedError)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(answered(500), id="500"),
        pytest.param(answered(503), id="503"),
        pytest.param(ServiceRequestError("connection refused"), id="no_answer"),
        pytest.param(AzureError("unknown"), id="other"),
    ],
)
def test_storage_outage_is_reported_as_unavailable(error: AzureError) -> None:
    assert isinstance(_storage_error(error), StorageUnavailableError)
