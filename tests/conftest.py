"""Fixtures every test layer shares: one Azurite for the whole run, on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localdev.azurite import Azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with Azurite() as running:
        yield running


@pytest.fixture(scope="session")
def storage_connection_string(azurite: Azurite) -> str:
    return azurite.connection_string
