"""The fuzzing's draws, kept and read back (conformance.run.fuzzing.drawn): a case read back is
the case drawn, every input of a draw names its own file, and a run never fails for its cache."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from conformance import profiles
from conformance.run import fuzzing
from conformance.run.engine import run_simulator
from conformance.run.fuzzing import drawn, engine, wiring

SPECS = {spec.operation_id: spec for spec in fuzzing.OPERATIONS}
CASE_ID = "X-Schemathesis-TestCaseId"  # schemathesis' random id per case: made anew per run
# draws of different shapes: no parameter but the format, a path parameter, many query
# parameters, a form body; valid and invalid
DRAWS = [  # few cases each: drawing them is what these tests cost
    ("getServiceList", "json", GenerationMode.NEGATIVE, 3),
    ("getServiceDefinition", "xml", GenerationMode.POSITIVE, 4),
    ("getServiceRequests", "json", GenerationMode.NEGATIVE, 3),
    ("getServiceRequests", "xml", GenerationMode.POSITIVE, 4),
    ("createServiceRequest", "json", GenerationMode.POSITIVE, 1),
    ("getDiscovery", "json", GenerationMode.POSITIVE, 1),
]


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty cache directory of the kit's, and nothing kept in the process, before and after;
    Hypothesis' own files where they were (derived anew they cost 1.6 s of CPU, and prove nothing here)."""
    home = engine.hypothesis_home()
    monkeypatch.setattr(engine, "hypothesis_home", lambda: home)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    drawn.forget()
    yield tmp_path / "open311-conformance" / "cases"
    drawn.forget()


def _draw(operation_id: str, fmt: str, mode: GenerationMode, count: int, seed: int = 311) -> tuple[Any, drawn.Draw]:
    spec = SPECS[operation_id]
    return wiring.load_schema()[spec.path][spec.method], drawn.Draw(operation_id, fmt, mode, count, seed)


def _generated(operation: Any, draw: drawn.Draw) -> list[Any]:
    cases: list[Any] = []
    engine._generate(operation, draw, cases.append)
    return cases


def _counted(asked: list[int]) -> drawn.Generate:
    """Hypothesis' drawing, each time it is asked counted in ``asked``."""
    def generate(operation: Any, draw: drawn.Draw, take: Any) -> None:
        asked.append(1)
        engine._generate(operation, draw, take)
    return generate


def _request(case: Any) -> tuple[Any, ...]:
    """What the case sends and what judging it reads: the request, the body's absence, the metadata."""
    sent = case.as_transport_kwargs(base_url="http://127.0.0.1:8311/open311/v2")
    headers = {k: v for k, v in sent.get("headers", {}).items() if k != CASE_ID}
    # how long drawing took is no part of what was drawn
    meta = dataclasses.replace(case.meta, generation=dataclasses.replace(case.meta.generation, time=0.0))
    return (sent["method"], sent["url"], sent.get("params"), sorted(headers.items()),
            sent.get("data"), sent.get("json"), case.body is NOT_SET, meta)


@pytest.mark.parametrize(("operation_id", "fmt", "mode", "count"), DRAWS)
def test_a_case_read_back_is_the_case_drawn(cache: Path, operation_id: str, fmt: str, mode: GenerationMode,
                                            count: int) -> None:
    operation, draw = _draw(operation_id, fmt, mode, count)
    fresh = [_request(case) for case in _generated(operation, draw)]
    asked: list[int] = []
    generate = _counted(asked)
    first = [_request(case) for case in drawn.cases(operation, draw, generate)]
    assert asked == [1] and len(list(cache.iterdir())) == 1
    in_process = [_request(case) for case in drawn.cases(operation, draw, generate)]
    drawn.forget()  # a later process: read from the file
    from_file = [_request(case) for case in drawn.cases(operation, draw, generate)]
    assert asked == [1], "a kept draw was drawn again"
    assert fresh and first == fresh and in_process == fresh and from_file == fresh


def test_every_read_builds_new_cases(cache: Path) -> None:
    # a check may change a case (a generated POST gets its form's base): the next run must not see it
    operation, draw = _draw("createServiceRequest", "json", GenerationMode.POSITIVE, 1)
    first = drawn.cases(operation, draw, engine._generate)
    first[0].body = {"changed": "by a check"}
    again = drawn.cases(operation, draw, lambda *_: pytest.fail("drawn again"))
    assert again[0] is not first[0] and again[0].body != first[0].body
    assert again[0].id != first[0].id  # schemathesis' correlation id, new per run


def test_every_input_of_a_draw_names_its_own_file() -> None:
    operation, draw = _draw("getServiceRequests", "json", GenerationMode.NEGATIVE, 5)
    schema = operation.schema
    keys = {draw.key(schema),
            drawn.Draw("getServiceRequests", "xml", GenerationMode.NEGATIVE, 5, 311).key(schema),
            drawn.Draw("getServiceRequests", "json", GenerationMode.POSITIVE, 5, 311).key(schema),
            drawn.Draw("getServiceRequests", "json", GenerationMode.NEGATIVE, 4, 311).key(schema),
            drawn.Draw("getServiceRequests", "json", GenerationMode.NEGATIVE, 5, 312).key(schema),
            drawn.Draw("getServiceRequest", "json", GenerationMode.NEGATIVE, 5, 311).key(schema),
            # another profile reads the contract otherwise (its parameters, its schemas)
            draw.key(wiring.load_schema(profiles.get("georeport-v2")))}
    assert len(keys) == 7
    assert draw.key(schema) == drawn.Draw("getServiceRequests", "json", GenerationMode.NEGATIVE, 5, 311).key(schema)


def test_a_file_that_cannot_be_read_is_drawn_anew(cache: Path) -> None:
    operation, draw = _draw("getServiceList", "json", GenerationMode.POSITIVE, 3)
    fresh = [_request(case) for case in _generated(operation, draw)]
    drawn.cases(operation, draw, engine._generate)
    (kept,) = cache.iterdir()
    asked: list[int] = []
    generate = _counted(asked)
    for broken in (b"", b"not a pickle", kept.read_bytes()[:40]):
        kept.write_bytes(broken)
        drawn.forget()
        assert [_request(case) for case in drawn.cases(operation, draw, generate)] == fresh
    assert asked == [1, 1, 1]
    drawn.forget()
    assert [_request(case) for case in drawn.cases(operation, draw, lambda *_: pytest.fail("drawn again"))] == fresh


def test_no_cache_directory_draws_every_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    drawn.forget()
    try:
        operation, draw = _draw("getDiscovery", "xml", GenerationMode.POSITIVE, 1)
        assert drawn.cases(operation, draw, engine._generate)
        drawn.forget()
        asked: list[int] = []
        drawn.cases(operation, draw, _counted(asked))
        assert asked == [1]
    finally:
        drawn.forget()


def test_draws_no_run_has_used_for_a_month_are_pruned(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    month_ago = time.time() - (drawn.UNUSED_DAYS + 1) * 86400
    monkeypatch.setattr(drawn, "_pruned", True)  # this process has pruned: the draw below prunes nothing
    operation, draw = _draw("getDiscovery", "json", GenerationMode.POSITIVE, 1)
    drawn.cases(operation, draw, engine._generate)
    used = cache / f"{draw.key(operation.schema)}.pickle"
    stale, cut, theirs = cache / f"{'0' * 64}.pickle", cache / "tmp0.part", cache / "notes.txt"
    for path in (stale, cut, theirs):
        path.write_bytes(b"old")
    for path in (used, stale, cut, theirs):
        os.utime(path, (month_ago, month_ago))
    drawn.forget()
    drawn.cases(operation, draw, lambda *_: pytest.fail("drawn again"))  # read back: used now
    assert used.stat().st_mtime > month_ago + 86400
    monkeypatch.setattr(drawn, "_pruned", False)  # a later process, that draws
    operation, draw = _draw("getDiscovery", "xml", GenerationMode.POSITIVE, 1)
    drawn.cases(operation, draw, engine._generate)
    assert used.exists() and theirs.exists() and not stale.exists() and not cut.exists()


def _planned(draws: list[tuple[str, str, GenerationMode, int]]) -> list[tuple[Any, drawn.Draw]]:
    return [_draw(*d) for d in draws]


@pytest.fixture
def idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A core free to draw on, whatever else runs on the machine now (the kit's suite does)."""
    monkeypatch.setattr(drawn, "a_core_is_idle", lambda: True)


def test_drawn_ahead_in_another_process_is_drawn_as_in_the_run(cache: Path, idle: None) -> None:
    planned = _planned(DRAWS)
    fresh = [[_request(case) for case in _generated(operation, draw)] for operation, draw in planned]
    child = drawn.ahead(planned, engine._generate)
    assert child is not None and child.join(timeout=120), "the child did not end"
    assert len(list(cache.glob("*.pickle"))) == len(DRAWS) and not list(cache.glob("*.part"))
    read = [[_request(case) for case in drawn.cases(operation, draw, lambda *_: pytest.fail("drawn again"))]
            for operation, draw in planned]
    assert read == fresh


def test_drawing_ahead_draws_what_is_missing_and_stops_where_the_run_has_been(cache: Path, idle: None) -> None:
    planned = _planned(DRAWS[:5])
    keys = [d.key(o.schema) for o, d in planned]
    operation, draw = planned[1]
    drawn.cases(operation, draw, engine._generate)  # kept before

    def after_the_run(operation: Any, draw: drawn.Draw, take: Any) -> None:
        # the child's first draw (the plan's last) ends after the run has kept the one before it
        deadline = time.monotonic() + 60
        while not (cache / f"{keys[3]}.pickle").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        engine._generate(operation, draw, take)

    child = drawn.ahead(planned, after_the_run)
    assert child is not None
    operation, draw = planned[3]
    drawn.cases(operation, draw, engine._generate)  # the run goes on
    assert child.join(timeout=120)
    # the child drew the last, found the run had been at the one before it, and stopped there
    assert {path.stem for path in cache.glob("*.pickle")} == {keys[1], keys[3], keys[4]}


def test_drawing_ahead_stops_when_told(cache: Path, idle: None) -> None:
    planned = _planned(DRAWS)

    def slow(operation: Any, draw: drawn.Draw, take: Any) -> None:
        time.sleep(0.3)  # time for the test to tell it to stop while the first draw is in hand
        engine._generate(operation, draw, take)

    child = drawn.ahead(planned, slow)
    assert child is not None
    child.stop()
    assert child.join(timeout=60)
    # the draw in hand when told is finished and kept (whole: no part file), no other is begun
    assert len(list(cache.glob("*.pickle"))) <= 1 and not list(cache.glob("*.part"))


def test_nothing_is_drawn_ahead_that_the_run_would_not_draw_itself(cache: Path, idle: None,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    planned = _planned(DRAWS[:2])
    operation, draw = planned[0]
    assert drawn.ahead(planned[:1], engine._generate) is None  # one draw: drawn where it is needed
    drawn.cases(operation, draw, engine._generate)
    assert drawn.ahead(planned, engine._generate) is None  # all but one kept
    monkeypatch.setattr(drawn, "FORKS", False)
    assert drawn.ahead(_planned(DRAWS), engine._generate) is None  # no fork on this system
    monkeypatch.setattr(drawn, "FORKS", True)
    monkeypatch.setattr(drawn, "a_core_is_idle", lambda: False)
    assert drawn.ahead(_planned(DRAWS), engine._generate) is None  # every core busy
    monkeypatch.setattr(drawn, "a_core_is_idle", lambda: True)
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert drawn.ahead(_planned(DRAWS), engine._generate) is None  # nowhere to hand the draws over
    assert list(cache.glob("*.pickle")) == [cache / f"{draw.key(operation.schema)}.pickle"]


@pytest.mark.parametrize(("cores", "loadavg", "idle"), [
    (2, "0.62 0.80 0.91 1/312 4821", True),  # this run alone
    (2, "1.20 0.80 0.91 2/312 4821", True),  # and one more task, for now
    (2, "1.60 0.80 0.91 1/312 4821", False),  # busy over the last minute
    (2, "0.62 0.80 0.91 3/312 4821", False),  # more runnable now than cores
    (1, "0.00 0.00 0.00 1/312 4821", False),  # no other core
    (8, "6.40 5.00 5.00 7/900 4821", True),
    (2, "", False), (2, "0.62 0.80", False), (2, "high 0.80 0.91 1/312 4821", False),  # unreadable: no fork
])
def test_a_core_is_idle_by_loadavg(cores: int, loadavg: str, idle: bool) -> None:
    assert drawn.idle_core(cores, loadavg) is idle


def _fuzz_requests(report_dir: Path) -> list[tuple[Any, ...]]:
    har = json.loads((report_dir / "evidence.har").read_text())
    return [(e["comment"], e["request"]["method"], e["request"]["url"].split("/open311/", 1)[-1],
             (e["request"].get("postData") or {}).get("text"),
             sorted((h["name"], h["value"]) for h in e["request"]["headers"] if h["name"] != CASE_ID))
            for e in har["log"]["entries"] if (e.get("comment") or "").startswith(fuzzing.LABEL_PREFIX)]


def _judged(result: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted((r.id, str(r.outcome), tuple(r.broken)) for r in result.results if r.source == "openapi")


@pytest.mark.integration
def test_a_run_with_kept_draws_sends_and_judges_what_a_run_drawing_them_does(cache: Path, idle: None, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    children: list[drawn.Ahead | None] = []
    forking = drawn.ahead
    monkeypatch.setattr(drawn, "ahead", lambda *args: children.append(forking(*args)) or children[-1])
    # a fault the fuzzing alone finds, so the judging of read-back cases is shown failing too
    drawing = run_simulator(("odd-id-500",), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path / "drawing")
    # the drawing run drew with a child ahead of it, told to stop when the run's checks were done
    assert len(children) == 1 and children[0] is not None and children[0].join(timeout=60)
    # each draw kept once, by the run or by the child drawing ahead of it
    assert len(list(cache.glob("*.pickle"))) == sum(2 * (1 + spec.negative) for spec in fuzzing.OPERATIONS)
    drawn.forget()
    reading = run_simulator(("odd-id-500",), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path / "reading")
    assert _fuzz_requests(tmp_path / "drawing") and \
        _fuzz_requests(tmp_path / "reading") == _fuzz_requests(tmp_path / "drawing")
    assert _judged(reading) == _judged(drawing)
    assert any(outcome == "failed" for _id, outcome, _broken in _judged(reading))
