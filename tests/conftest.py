"""Fixtures every test layer shares: one Azurite for the whole run, on free ports, and the
events stand-ins (``event_grid``, ``webhook_receiver``), one process each, started when asked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localdev.azurite import Azurite
from tests.support.event_destinations import (  # noqa: F401 - fixtures for every layer
    event_grid,
    event_grid_process,
    webhook_receiver,
    webhook_receiver_process,
)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with Azurite() as running:
        yield running


@pytest.fixture(scope="session")
def storage_connection_string(azurite: Azurite) -> str:
    return azurite.connection_string
