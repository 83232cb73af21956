"""The ``open311_simulator`` fixture: the City-like simulator inside an application's own tests.

Its own ``pytest11`` entry point, so it exists in every pytest session where the kit is
installed; the simulator itself is imported only when a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conformance.appcheck.testing import Open311Simulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "open311_simulator(delay=0.5, grading=True, faults=()): how the open311_simulator fixture starts",
    )


@pytest.fixture()
def open311_simulator(request: pytest.FixtureRequest) -> Iterator[Open311Simulator]:
    """The City-like simulator for an application's own tests: ``base_url``, ``api_key``,
    ``set_faults(...)``, the ``recording`` of what the test's code sent, ``grade()``.

    ``@pytest.mark.open311_simulator(delay=0.5, grading=True, faults=[...])`` configures it;
    grading mode (on by default) lists rows without an id and answers a token's first poll 503.
    """
    from conformance.appcheck.testing import Open311Simulator  # start-up time of every pytest session

    marker = request.node.get_closest_marker("open311_simulator")
    options = dict(marker.kwargs) if marker else {}
    simulator = Open311Simulator.start(**options)
    try:
        yield simulator
    finally:
        simulator.stop()
