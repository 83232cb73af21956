"""Every fault of the simulator's catalogue makes the run fail, naming the fault's requirement."""

from __future__ import annotations

import pytest

from conformance import requirements
from conformance.runner import run_simulator
from conformance.simulator.faults import CATALOGUE

pytestmark = pytest.mark.integration


LEVEL = {r.id: r.level for r in requirements.load().values()}
MUST_FAULTS = sorted(n for n, f in CATALOGUE.items() if LEVEL[f.requirement] == "MUST")
SHOULD_FAULTS = sorted(n for n, f in CATALOGUE.items() if LEVEL[f.requirement] == "SHOULD")


@pytest.mark.parametrize("name", MUST_FAULTS)
def test_must_fault_fails_the_run(name, tmp_path):
    fault = CATALOGUE[name]
    result = run_simulator((name,), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    failed = {i for r in result.results if r.outcome == "failed" for i in r.requirement_ids}
    assert result.verdict == "fail", f"{name}: verdict {result.verdict}"
    assert fault.requirement in failed, f"{name} breaks {fault.requirement}; the run failed {sorted(failed)}"


@pytest.mark.parametrize("name", SHOULD_FAULTS)
def test_should_fault_warns(name, tmp_path):
    fault = CATALOGUE[name]
    result = run_simulator((name,), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    warned = {i for r in result.results if r.outcome == "warning" for i in r.requirement_ids}
    assert fault.requirement in warned, f"{name} breaks {fault.requirement}; the run warned of {sorted(warned)}"
    # a SHOULD deviation alone does not fail the run
    assert result.verdict == "pass", [(r.id, r.message) for r in result.results if r.outcome == "failed"]
