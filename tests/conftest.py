"""Shared fixtures of the kit's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.simulator import RunningSimulator, start
from conformance.transport import Transport


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    """A clean simulator shared by the session (token delay 0.3 s). Tests that write should
    not rely on the exact contents of the first list page."""
    with start(delay=0.3) as sim:
        yield sim


@pytest.fixture
def transport(simulator: RunningSimulator) -> Iterator[Transport]:
    """A Transport to the shared simulator, holding its test key."""
    client = Transport(simulator.base_url, simulator.api_key, timeout=10)
    yield client
    client.close()
