"""Every fault of the simulator's catalogue makes the run fail, naming the fault's requirement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import profiles, requirements
from conformance.outcomes import Level
from conformance.run.engine import run_simulator
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
    return profiles.get(profile_for(name)).level_of(REGISTRY[CATALOGUE[name].requirement])


def run_with(name: str, tmp_path, **settings):
    profile = profile_for(name)
    return run_simulator((name,), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path,
                         profile=profile, simulator_dialect=DIALECT[profile.name], **settings)


MUST_FAULTS = sorted(n for n in CATALOGUE if level(n) == "MUST")
SHOULD_FAULTS = sorted(n for n in CATALOGUE if level(n) == "SHOULD")
# faults whose requirement binds another profile at another level, with that profile
OTHER_LEVELS = sorted((n, p.name) for n, f in CATALOGUE.items() for p in profiles.REGISTRY.values()
                      if p.selects(REGISTRY[f.requirement])
                      and p.level_of(REGISTRY[f.requirement]) != level(n))
# what a clean simulator run fails under each profile, by design (see test_run.py)
DOCUMENTED_FAILURES = {"georeport-v2": {"GR2-REQ-HAS-ID"}}
# what else a fault's run blames under a profile, each with why (cases/fault_consequences.json)
CONSEQUENCES = {(c["fault"], c["profile"]): set(c["also"]) for c in json.loads(
    (Path(__file__).parent / "cases" / "fault_consequences.json").read_text(encoding="utf-8"))["cases"]}
# faults a finding of the fuzzing can rest on a GET a scenario sent (cases/shared_answers.json)
SHARED = [c["fault"] for c in json.loads(
    (Path(__file__).parent / "cases" / "shared_answers.json").read_text(encoding="utf-8"))["faults"]]


@pytest.mark.parametrize("name", MUST_FAULTS)
def test_must_fault_fails_the_run(name, tmp_path):
    _assert_blamed_exactly(name, run_with(name, tmp_path))


@pytest.mark.parametrize("name", SHARED)
def test_must_fault_is_blamed_the_same_where_the_fuzzing_shares_answers(name, tmp_path):
    # the fuzzing judges a scenario's answer to the same GET instead of its own (a paced run's)
    assert name in MUST_FAULTS
    result = run_with(name, tmp_path, share_answers=True)
    assert result.record.fuzzing is not None and result.record.fuzzing["share_answers"] is True
    _assert_blamed_exactly(name, result)


def _assert_blamed_exactly(name, result):
    fault = CATALOGUE[name]
    blamed = set(result.record.broken(Level.MUST))
    assert result.verdict == "fail", f"{name}: verdict {result.verdict}"
    assert fault.requirement in blamed, f"{name} breaks {fault.requirement}; the run blamed {sorted(blamed)}"
    # blame is exact: the verdict names the fault's requirement and nothing else it did not break
    also = CONSEQUENCES.get((name, profile_for(name).name), set())
    assert blamed - {fault.requirement} <= also, f"{name} breaks {fault.requirement}; also blamed {sorted(blamed)}"


@pytest.mark.parametrize("name", SHOULD_FAULTS)
def test_should_fault_warns(name, tmp_path):
    fault = CATALOGUE[name]
    result = run_with(name, tmp_path)
    warned = set(result.record.broken(Level.SHOULD))
    assert fault.requirement in warned, f"{name} breaks {fault.requirement}; the run warned of {sorted(warned)}"
    # a SHOULD deviation alone does not fail the run
    assert result.verdict == "pass", [(r.id, r.message) for r in result.results if r.outcome == "failed"]


def _by_outcome(result, outcome):
    # what a failed or warned check broke; what any other check judged
    return {i for r in result.results if r.outcome == outcome
            for i in (r.broken if outcome in ("failed", "warning") else r.requirement_ids)}


@pytest.mark.parametrize(("name", "profile"), OTHER_LEVELS)
def test_fault_judged_at_the_profiles_level(name, profile, tmp_path):
    fault = CATALOGUE[name]
    level = profiles.get(profile).level_of(REGISTRY[fault.requirement])
    result = run_simulator((name,), profile=profile, timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    failed, warned = _by_outcome(result, "failed"), _by_outcome(result, "warning")
    documented = DOCUMENTED_FAILURES.get(profile, set()) | CONSEQUENCES.get((name, profile), set())
    if level == "MUST":
        assert fault.requirement in failed, f"{name} under {profile}: failed {sorted(failed)}"
    else:
        assert fault.requirement in warned and fault.requirement not in failed, (name, profile, sorted(warned))
    assert failed - {fault.requirement} <= documented, f"{name} under {profile}: also failed {sorted(failed)}"


def test_input_cut_to_the_limit_warns_under_the_specification(tmp_path):
    # the specification states the limit, not the reaction: a cut is the SHOULD refusal's warning
    result = run_simulator(("post-long-description-cut",), profile="georeport-v2", timeout=2.0,
                           poll_timeout=3.0, report_dir=tmp_path)
    failed, warned = _by_outcome(result, "failed"), _by_outcome(result, "warning")
    assert "GR2-POST-INPUT-KEPT" not in failed and "GR2-POST-INPUT-KEPT" in _by_outcome(result, "passed")
    assert "GR2-POST-DESCRIPTION-LENGTH" in warned
    assert failed <= DOCUMENTED_FAILURES["georeport-v2"]


def test_input_dropped_fails_under_the_specification_too(tmp_path):
    # a 400 is only a SHOULD there, but a 200 that drops the input still fails
    result = run_simulator(("post-long-description-dropped",), profile="georeport-v2", timeout=2.0,
                           poll_timeout=3.0, report_dir=tmp_path)
    failed, warned = _by_outcome(result, "failed"), _by_outcome(result, "warning")
    assert "GR2-POST-INPUT-KEPT" in failed
    assert "GR2-POST-DESCRIPTION-LENGTH" in warned
    assert failed - {"GR2-POST-INPUT-KEPT"} <= DOCUMENTED_FAILURES["georeport-v2"]


def test_ignored_dates_fail_the_span_under_the_specification(tmp_path):
    # the server keeps its default window (no dates asked: the last 90 days, rightly), but a
    # span asked before now answers those recent rows: outside the span, so the span check fails
    result = run_simulator(("filter-dates-ignored",), profile="georeport-v2", simulator_dialect="georeport",
                           timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    failed = _by_outcome(result, "failed")
    assert {"GR2-FILTER-DATES", "GR2-DATE-SPAN"} <= failed
    assert "GR2-DEFAULT-WINDOW" not in failed


def test_a_realtime_write_is_demanded_no_token_but_a_batch_one_is(tmp_path):
    # post-answers-id: a batch service answering the id still fails CHI-POST-TOKEN; the lenient
    # dialect's realtime write service (test_lenient.py) passes it by a skip
    result = run_simulator(("post-answers-id",), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    assert "CHI-POST-TOKEN" in _by_outcome(result, "failed")
    lenient = run_simulator(simulator_dialect="lenient", timeout=2.0, poll_timeout=3.0,
                            report_dir=tmp_path / "lenient")
    assert any(r.outcome == "skipped" and "CHI-POST-TOKEN" in r.requirement_ids for r in lenient.results)
