"""Every fault of the simulator's catalogue makes the run fail, naming the fault's requirement."""

from __future__ import annotations

import pytest

from conformance import profiles, requirements
from conformance.runner import run_simulator
from conformance.simulator.faults import CATALOGUE

pytestmark = pytest.mark.integration

REGISTRY = requirements.load()
# the dialect a clean simulator passes each profile in: a fault is shown against it
DIALECT = {"chicago": "chicago", "georeport-v2": "georeport"}


def profile_for(name: str) -> profiles.Profile:
    """The default profile when the fault's requirement applies there, else the first that
    selects it (a georeport-v2-only requirement is shown under georeport-v2)."""
    requirement = REGISTRY[CATALOGUE[name].requirement]
    if profiles.DEFAULT.selects(requirement):
        return profiles.DEFAULT
    return next(p for p in profiles.REGISTRY.values() if p.selects(requirement))


def level(name: str) -> str:
    return REGISTRY[CATALOGUE[name].requirement].level_in(profile_for(name))


def run_with(name: str, tmp_path):
    profile = profile_for(name)
    return run_simulator((name,), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path,
                         profile=profile, simulator_dialect=DIALECT[profile.name])


MUST_FAULTS = sorted(n for n in CATALOGUE if level(n) == "MUST")
SHOULD_FAULTS = sorted(n for n in CATALOGUE if level(n) == "SHOULD")


@pytest.mark.parametrize("name", MUST_FAULTS)
def test_must_fault_fails_the_run(name, tmp_path):
    fault = CATALOGUE[name]
    result = run_with(name, tmp_path)
    failed = {i for r in result.results if r.outcome == "failed" for i in r.requirement_ids}
    assert result.verdict == "fail", f"{name}: verdict {result.verdict}"
    assert fault.requirement in failed, f"{name} breaks {fault.requirement}; the run failed {sorted(failed)}"


@pytest.mark.parametrize("name", SHOULD_FAULTS)
def test_should_fault_warns(name, tmp_path):
    fault = CATALOGUE[name]
    result = run_with(name, tmp_path)
    warned = {i for r in result.results if r.outcome == "warning" for i in r.requirement_ids}
    assert fault.requirement in warned, f"{name} breaks {fault.requirement}; the run warned of {sorted(warned)}"
    # a SHOULD deviation alone does not fail the run
    assert result.verdict == "pass", [(r.id, r.message) for r in result.results if r.outcome == "failed"]
