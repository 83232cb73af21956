"""``open311-conformance compare OLD NEW``: regressions, fixes, appeared/vanished checks, token
times and catalogue drift, on real runs and on edited copies of their summaries."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.report import compare
from conformance.run.engine import RunResult, run_simulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clean(clean_run: RunResult) -> RunResult:
    return clean_run


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_simulator(("filter-status-ignored",), report_dir=tmp_path_factory.mktemp("faulty"))


def _compare(old: Path, new: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["compare", str(old), str(new)])
    out, err = capsys.readouterr()
    return code, out, err


def _section(out: str, title: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{title}:"))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        body.append(line)
    return body


def _edited(run: RunResult, tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    copy = Path(shutil.copytree(run.report_dir, tmp_path / "edited"))
    path = copy / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    return copy


def test_clean_to_faulty_is_a_regression(clean: RunResult, faulty: RunResult,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(clean.report_dir, faulty.report_dir, capsys)
    assert code == 1
    failing = [r for r in faulty.results if r.outcome == "failed"]
    assert failing
    section = "\n".join(_section(out, "Newly failing"))
    for r in failing:
        assert r.id in section
    assert "GR2-FILTER-STATUS" in section and "passed -> failed" in section
    assert "Result: " in out and "regression" in out


def test_faulty_to_clean_is_fixed(clean: RunResult, faulty: RunResult, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(faulty.report_dir, clean.report_dir, capsys)
    assert code == 0
    assert "Newly failing: none" in out
    assert any("failed -> passed" in line for line in _section(out, "Fixed"))


def test_token_times_then_and_now(clean: RunResult, faulty: RunResult, capsys: pytest.CaptureFixture[str]) -> None:
    then = json.loads((clean.report_dir / "summary.json").read_text())["token_resolution_s"]
    now = json.loads((faulty.report_dir / "summary.json").read_text())["token_resolution_s"]
    _, out, _ = _compare(clean.report_dir, faulty.report_dir, capsys)
    assert f"Token resolution: {then:.3f} s then, {now:.3f} s now ({now - then:+.3f} s)" in out


def test_same_run_has_no_changes(clean: RunResult, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(clean.report_dir, clean.report_dir, capsys)
    assert code == 0
    for title in ("Newly failing", "Fixed", "Other outcome changes", "Appeared", "Vanished"):
        assert f"{title}: none" in out
    assert "Service catalogue: unchanged (14 services now)" in out


def test_catalogue_drift(clean: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def drift(data: dict[str, Any]) -> None:
        services = data["catalogue"]["services"]
        removed = services.pop(0)
        services[0]["service_name"] = "Renamed"
        with_attributes = next(s for s in services if s["attributes"])
        dropped = with_attributes["attributes"].pop(0)
        with_attributes["attributes"].append({"code": "NEWATTR", "datatype": "string", "required": True})
        services.append({"service_code": "new-code", "service_name": "Brand new", "metadata": False,
                         "type": "realtime", "attributes": None})
        data["_expected"] = (removed["service_code"], with_attributes["service_code"], dropped["code"])

    edited = _edited(clean, tmp_path, drift)
    removed, changed, dropped = json.loads((edited / "summary.json").read_text())["_expected"]
    code, out, _ = _compare(clean.report_dir, edited, capsys)
    assert code == 0  # drift alone is not a failure
    lines = out.splitlines()
    assert "+ service new-code \"Brand new\"" in out
    assert any(line.strip().startswith(f"- service {removed}") for line in lines)
    assert "name " in out and "-> \"Renamed\"" in out
    about = [line for line in lines if f"service {changed}" in line]
    assert any(line.endswith("attributes added NEWATTR") for line in about)
    assert any(line.endswith(f"attributes removed {dropped}") for line in about)
    # compare works on an edited summary, and says the bundle no longer matches its manifest
    assert "note: " in out and "does not match its manifest (summary.json)" in out


def test_appeared_and_vanished(clean: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = {}

    def edit(data: dict[str, Any]) -> None:
        gone["id"] = data["checks"].pop(0)["id"]
        data["checks"].append({**data["checks"][0], "id": "new.py::test_new", "outcome": "passed"})
        data["checks"].append({**data["checks"][0], "id": "new.py::test_new_failing", "outcome": "failed",
                               "message": "broken"})

    new = _edited(clean, tmp_path, edit)
    code, out, _ = _compare(clean.report_dir, new, capsys)
    assert code == 1  # a new check that fails is something newly failing
    assert any("new.py::test_new_failing" in line and "(absent) -> failed" in line
               for line in _section(out, "Newly failing"))
    assert any("(new.py::test_new)" in line for line in _section(out, "Appeared"))
    assert any(gone["id"] in line and "-> (absent)" in line for line in _section(out, "Vanished"))


def test_compare_accepts_summary_files(clean: RunResult, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(clean.report_dir / "summary.json", clean.report_dir / "summary.json", capsys)
    assert code == 0 and "nothing newly fails" in out


@pytest.mark.parametrize("damage, message", [
    ("missing", "no such directory"),
    ("empty", "not a report directory"),
    ("corrupt", "not valid JSON"),
    ("no-checks", "not a conformance summary"),
])
def test_bad_input_is_a_usage_error(clean: RunResult, tmp_path: Path, damage: str, message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report"
    if damage != "missing":
        target.mkdir()
    if damage == "corrupt":
        (target / "summary.json").write_text("{not json", encoding="utf-8")
    elif damage == "no-checks":
        (target / "summary.json").write_text('{"verdict": "pass"}', encoding="utf-8")
    code, out, err = _compare(clean.report_dir, target, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_outcome_changes_without_runs() -> None:
    def check(cid: str, outcome: str) -> dict[str, Any]:
        return {"id": cid, "outcome": outcome, "requirement_ids": ["GR2-X"], "title": cid, "message": ""}

    old = {"checks": [check("a", "passed"), check("b", "failed"), check("c", "passed"), check("d", "error")]}
    new = {"checks": [check("a", "error"), check("b", "warning"), check("c", "inconclusive"), check("d", "failed")]}
    result = compare.compare(old, new)
    assert [c.id for c in result.newly_failing] == ["a"]
    assert [c.id for c in result.fixed] == ["b"]
    assert [c.id for c in result.changed] == ["c", "d"]  # error -> failed still fails: not new
    assert result.exit_code == 1


def test_key_source_is_compared_like_key_presence() -> None:
    def summary(source: str | None, given: bool) -> dict[str, Any]:
        return {"checks": [], "target": {"base_url": "http://127.0.0.1:1/", "api_key_given": given},
                "key_source": source}

    practice, given = summary("simulator", False), summary("given", True)
    drift = compare.setting_drift(practice, given)
    assert "API key source differs: 'simulator' then, 'given' now" in drift
    assert "API key given differs: False then, True now" in drift
    assert compare.setting_drift(given, given) == []
    # a summary from before key_source was recorded: no difference claimed
    older = {k: v for k, v in given.items() if k != "key_source"}
    assert compare.setting_drift(older, given) == []


def test_the_embedded_simulators_port_is_not_another_target() -> None:
    def summary(kind: str, base_url: str) -> dict[str, Any]:
        return {"checks": [], "target": {"base_url": base_url, "kind": kind}}

    practice = summary("embedded simulator", "http://127.0.0.1:40001/open311/v2")
    assert compare.setting_drift(practice, summary("embedded simulator", "http://127.0.0.1:40002/open311/v2")) == []
    # a server of the user's own on another port may be another server: still said
    loopback = summary("loopback", "http://127.0.0.1:8311/open311/v2")
    assert compare.setting_drift(loopback, summary("loopback", "http://127.0.0.1:8312/open311/v2")) == [
        "target differs: 'http://127.0.0.1:8311/open311/v2' then, 'http://127.0.0.1:8312/open311/v2' now"]
    assert compare.setting_drift(practice, loopback)[0].startswith("target differs: 'embedded simulator' then")


def test_two_practice_runs_compare_like_for_like(clean: RunResult, faulty: RunResult,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert clean.record.target["base_url"] != faulty.record.target["base_url"]  # each on its own free port
    _code, out, err = _compare(clean.report_dir, faulty.report_dir, capsys)
    assert "target differs" not in out + err and "like for like" not in out + err
