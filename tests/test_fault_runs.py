"""Every fault of the simulator's catalogue makes the run fail, naming the fault's requirement."""

from __future__ import annotations

import pytest

from conformance.runner import run_simulator
from conformance.simulator.faults import CATALOGUE

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_fault_is_caught(name, tmp_path):
    fault = CATALOGUE[name]
    result = run_simulator((name,), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    failed = {i for r in result.results if r.outcome == "failed" for i in r.requirement_ids}
    assert result.verdict == "fail", f"{name}: verdict {result.verdict}"
    assert fault.requirement in failed, f"{name} breaks {fault.requirement}; the run failed {sorted(failed)}"
