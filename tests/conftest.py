"""Shared fixtures of the kit's own tests."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported where used: the xdist controller, which runs no test, spawns its workers sooner
    from conformance.run.engine import RunResult
    from conformance.simulator import RunningSimulator
    from conformance.transport import Transport


@pytest.hookimpl(wrapper=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Generator[None, int, int]:
    """``-n auto``: two workers a core, but for the fast tier. The integration tier waits about
    half its time (token delays, check-app's application, sweeps' subprocesses, the timeouts it
    proves): with one worker a core the cores idled that long. The fast tier computes: one a core.
    PYTEST_XDIST_AUTO_NUM_WORKERS, when set, is taken as it is."""
    cores = yield
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or config.option.markexpr == "not integration":
        return cores
    return 2 * cores


@pytest.fixture(scope="session", autouse=True)
def no_drawing_ahead() -> Iterator[None]:
    """The suite's in-process runs draw as they go, never in a child on the "idle" core: the
    suite runs them side by side, two workers a core, and a child would take a core from another
    worker (16% more CPU on the lenient runs, measured). The tests of drawing ahead ask for an
    idle core themselves."""
    from conformance.run.fuzzing import drawn

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(drawn, "a_core_is_idle", lambda: False)
        yield


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    """A clean simulator shared by the session (token delay 0.3 s). Tests that write should
    not rely on the exact contents of the first list page."""
    from conformance.simulator import start

    with start(delay=0.3) as sim:
        yield sim


@pytest.fixture
def transport(simulator: RunningSimulator) -> Iterator[Transport]:
    """A Transport to the shared simulator, holding its test key."""
    from conformance.transport import Transport

    client = Transport(simulator.base_url, simulator.api_key, timeout=10)
    yield client
    client.close()


# Whole runs that several test files ask for, each run once per session. Their report
# directories are read, never changed: copy one to edit it.
SHARED_RUNS = ("clean_run", "app_run", "parity_drift_run")


@pytest.hookimpl(wrapper=True)  # around xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None, None, None]:
    """Tests sharing a run go to the same xdist worker (``--dist loadgroup``), so the run
    happens once in the suite, not once per worker: every test asking a shared run of this
    file, and the tests of a module that ask one of its module-scoped fixtures."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & set(SHARED_RUNS):
            item.add_marker(pytest.mark.xdist_group("shared-runs"))
            continue
        info = getattr(item, "_fixtureinfo", None)
        definitions = info.name2fixturedefs if info is not None else {}
        if any(defs and defs[-1].scope == "module" for name, defs in definitions.items() if name in names):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__ if item.module else item.nodeid))
    yield
    if getattr(config.option, "loadgroup", False):  # an xdist worker's collection
        for item in items:
            _group_in_node_id(item)


def _group_in_node_id(item: pytest.Item) -> None:
    """The item's group at the end of its node id, where xdist's controller reads it.

    xdist (3.8) writes it into the private ``_nodeid``, which pytest 9.2 no longer reads: its node
    ids are structured (``_id``), and the groups were silently lost (pytest-xdist#1386). Every
    shared run then ran once per worker, four times in CI: the suite took a minute longer. The
    structured id is set as xdist's pending fix sets it; tests/test_suite_layout.py fails if the
    group is missing from a worker's node id, whichever pytest is installed."""
    groups = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                     for mark in item.iter_markers("xdist_group")})
    suffix = f"@{'_'.join(groups)}"
    if not groups or item.nodeid.endswith(suffix) or not hasattr(item, "_id"):
        return
    from _pytest.nodeid import NodeId  # pytest 9.2 and later only, where ``_id`` is

    item._id = NodeId.parse(item.nodeid + suffix)


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The default run against a clean embedded simulator (token delay 0.3 s)."""
    from conformance.run.engine import run_simulator

    return run_simulator(report_dir=tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="session")
def app_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The default run for a named application, against a clean embedded simulator."""
    from conformance.run.engine import run_simulator

    return run_simulator(report_dir=tmp_path_factory.mktemp("app"), app_name="Pothole Pal")


@pytest.fixture(scope="session")
def parity_drift_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The same run against a simulator whose XML drifts from its JSON: checks fail."""
    from conformance.run.engine import run_simulator

    return run_simulator(("xml-parity-drift",), report_dir=tmp_path_factory.mktemp("parity"),
                         app_name="Pothole Pal")
