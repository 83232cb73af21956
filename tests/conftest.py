"""Shared fixtures of the kit's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.run.engine import RunResult, run_simulator
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


# Whole runs that several test files ask for, each run once per session (once per worker
# under xdist). Their report directories are read, never changed: copy one to edit it.
@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The default run against a clean embedded simulator (token delay 0.3 s)."""
    return run_simulator(report_dir=tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="session")
def app_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The default run for a named application, against a clean embedded simulator."""
    return run_simulator(report_dir=tmp_path_factory.mktemp("app"), app_name="Pothole Pal")


@pytest.fixture(scope="session")
def parity_drift_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The same run against a simulator whose XML drifts from its JSON: checks fail."""
    return run_simulator(("xml-parity-drift",), report_dir=tmp_path_factory.mktemp("parity"),
                         app_name="Pothole Pal")
