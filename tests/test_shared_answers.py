"""A paced run (a remote target's, or ``--min-interval``): the fuzzing judges the answer another check
got to the same GET instead of sending it again, cites it, and the run judges as an unpaced one
(issue 21). Each run is of a simulator at a loopback base URL, so the run resolves its target as
it would a remote one's, only paced far below the remote pace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.rejudge import rejudge
from conformance.run.engine import RunResult, execute
from conformance.settings import RunSettings
from conformance.simulator import start
from conformance.target import Target
from tests.citing import assert_every_decided_check_cites_evidence

pytestmark = pytest.mark.integration

PACE = 0.001  # seconds: paced, so answers are shared, at next to no cost to the suite
EXAMPLES = 3  # the remote budget of the fuzzing (fuzzing.REMOTE_EXAMPLES)


def _run(directory: Path, pace: float | None, faults: tuple[str, ...] = ()) -> RunResult:
    with start(delay=0.3, faults=faults) as simulator:
        settings = RunSettings(base_url=simulator.base_url, min_interval=pace, fuzz_examples=EXAMPLES)
        target = Target.resolve(settings, environ={}, api_key=simulator.api_key)
        return execute(target, report_dir=directory, quiet=True, say=lambda _line: None)


@dataclass(slots=True, frozen=True)
class Runs:
    unpaced: RunResult
    paced: RunResult


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    yield Runs(_run(tmp_path_factory.mktemp("unpaced"), None), _run(tmp_path_factory.mktemp("paced"), PACE))


def _summary(run: RunResult) -> dict:
    return json.loads((run.report_dir / "summary.json").read_text(encoding="utf-8"))


def _fuzzing_checks(run: RunResult, method: str = "") -> list[dict]:
    return [c for c in _summary(run)["checks"] if c["source"] == "openapi" and f"[{method}" in c["id"]]


def _borrowed(run: RunResult, check: dict) -> list[int]:
    """The exchanges a fuzzing check cites that another check sent."""
    labels = {e.seq: e.label or "" for e in run.record.exchanges}
    return [seq for seq in check["exchanges"] if not labels[seq].startswith("openapi:")]


def test_a_paced_run_judges_as_an_unpaced_one_with_fewer_requests(runs: Runs) -> None:
    unpaced, paced = _summary(runs.unpaced), _summary(runs.paced)
    assert (unpaced["fuzzing"]["share_answers"], paced["fuzzing"]["share_answers"]) == (False, True)
    assert {c["id"]: c["outcome"] for c in paced["checks"]} == {c["id"]: c["outcome"] for c in unpaced["checks"]}
    assert paced["verdict"] == unpaced["verdict"] == "pass"
    shared = sum(len(_borrowed(runs.paced, c)) for c in _fuzzing_checks(runs.paced, "GET"))
    assert shared > 0
    assert paced["fuzzing"]["requests_sent"] < unpaced["fuzzing"]["requests_sent"]
    assert paced["requests_sent"] < unpaced["requests_sent"]


def test_a_shared_answer_is_one_exchange_cited_by_every_check_that_judged_it(runs: Runs) -> None:
    assert_every_decided_check_cites_evidence(runs.paced)
    har = json.loads((runs.paced.report_dir / "evidence.har").read_text(encoding="utf-8"))
    recorded = [entry["_seq"] for entry in har["log"]["entries"]]
    assert len(recorded) == len(set(recorded)) == runs.paced.requests_sent
    checks = _summary(runs.paced)["checks"]
    for check in _fuzzing_checks(runs.paced, "GET"):
        assert check["exchanges"], check["id"]
        for seq in _borrowed(runs.paced, check):
            # the answer another check got, judged by that check too
            assert any(seq in other["exchanges"] for other in checks if other["id"] != check["id"]), (check["id"], seq)
    # unpaced, a generated GET judges only the answers to its own requests
    assert all(_borrowed(runs.unpaced, check) == [] for check in _fuzzing_checks(runs.unpaced, "GET"))


def test_a_paced_run_is_reproduced_from_its_evidence(runs: Runs, tmp_path: Path) -> None:
    again = rejudge(runs.paced.report_dir, tmp_path / "again")
    rejudged = again.record.rejudged
    assert rejudged is not None and rejudged.differences == () and rejudged.not_in_evidence == 0
    # it shared what the recorded run shared: it asked exactly what was asked
    assert again.requests_sent == runs.paced.requests_sent
    assert _summary(again)["fuzzing"]["share_answers"] is True


def test_a_finding_on_a_shared_answer_cites_it_and_says_so(tmp_path: Path) -> None:
    run = _run(tmp_path, PACE, ("services-bad-type",))
    check = next(c for c in _fuzzing_checks(run, "GET") if c["id"].endswith("[GET /services.{format} json]"))
    assert check["outcome"] == "failed" and "GR2-SVC-LIST" in check["broken_requirements"]
    borrowed = _borrowed(run, check)
    assert borrowed, check
    assert "the same as another check's request, judged on its answer" in check["message"]
    # the finding names the request whose answer it judged, the one another check sent
    urls = {e.seq: e.url for e in run.record.exchanges}
    assert any(urls[seq] in check["message"] for seq in borrowed)
