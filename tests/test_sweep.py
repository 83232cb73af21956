"""``sweep``: TARGETS.yaml checked line by line, the pace of targets sharing a host, the key kept
off every command line, crashed and hung runs still rowed, and sweep.json, index.html, collect
and compare over hand-made bundles (no run behind them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import cities, cli
from conformance.errors import UsageError
from conformance.outcomes import Outcome
from conformance.record import Mode
from conformance.report import write_bundle
from conformance.report.summary import problems
from conformance.sweep import collect, index, rows, runner, targets
from conformance.sweep.compare import compare_sweeps
from conformance.target import REMOTE_MIN_INTERVAL
from conformance.transport import StopReason
from tests import records

CASES = yaml.safe_load((Path(__file__).with_name("cases") / "sweep_targets.yaml").read_text(encoding="utf-8"))
LOOPBACK = "http://127.0.0.1:8311/open311/v2"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_a_bad_file_names_the_line(case: dict[str, Any], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, case["text"])
    with pytest.raises(targets.TargetsFileError) as caught:
        targets.load(path)
    assert caught.value.line == case["line"], str(caught.value)
    assert case["message"] in str(caught.value)
    # the command: exit 2, one line on stderr, nothing started
    assert cli.main(["sweep", str(path), "--report-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"line {case['line']}:" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_key_is_never_in_the_file_even_in_the_message(tmp_path: Path) -> None:
    path = _file(tmp_path, f"targets:\n  - name: a\n    base_url: {LOOPBACK}\n    api_key: s3cret-key-123\n")
    with pytest.raises(UsageError) as caught:
        targets.load(path)
    assert "s3cret-key-123" not in str(caught.value)


def test_entries_resolve_as_run_would(tmp_path: Path) -> None:
    path = _file(tmp_path, """targets:
  - name: chicago-test
    base_url: http://test311api.cityofchicago.org/open311/v2
    api_key_env: CHICAGO_TEST_KEY
    jurisdiction_id: cityofchicago.org
    profile: chicago
  - name: toronto
    city: toronto
    timeout: 9
    read_only: false
  - name: practice
    fault: xml-parity-drift
""")
    found = targets.load(path, {"timeout": 5.0, "fuzz_examples": 0, "read_only": True})
    chicago, toronto, practice = found
    assert chicago.api_key_env == "CHICAGO_TEST_KEY" and chicago.remote
    assert chicago.host == "test311api.cityofchicago.org"
    assert toronto.base_url == cities.get("toronto").base_url.rstrip("/") and toronto.remote
    assert practice.base_url is None and practice.host is None and not practice.remote
    # an entry's own setting wins over the sweep's flag; the flags fill the rest
    assert toronto.run_flags() == ["--timeout", "9", "--fuzz-examples", "0", "--city", "toronto"]
    assert chicago.run_flags(0.4)[-2:] == ["--min-interval", "0.4"] and "--read-only" in chicago.run_flags()
    assert practice.run_flags() == ["--timeout", "5.0", "--fuzz-examples", "0", "--read-only",
                                    "--fault", "xml-parity-drift"]
    assert targets.select(found, ["practice"]) == [practice]
    with pytest.raises(UsageError, match="no such target"):
        targets.select(found, ["nope"])


def test_matrix_lists_the_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, f"targets:\n  - name: a\n    base_url: {LOOPBACK}\n  - name: b-2\n    simulator: true\n")
    assert cli.main(["sweep", str(path), "--matrix"]) == 0
    assert json.loads(capsys.readouterr().out) == {"include": [{"name": "a"}, {"name": "b-2"}]}


def _targets(tmp_path: Path, text: str) -> list[targets.SweepTarget]:
    return targets.load(_file(tmp_path, "targets:\n" + text))


def test_targets_sharing_a_host_share_its_pace(tmp_path: Path) -> None:
    found = _targets(tmp_path, f"""  - name: a
    city: toronto
  - name: b
    city: toronto
    jurisdiction_id: other
  - name: c
    city: toronto
  - name: d
    base_url: {LOOPBACK}
  - name: e
    base_url: {LOOPBACK.replace('8311', '8312')}
    min_interval: 0.1
  - name: f
    simulator: true
  - name: g
    simulator: true
""")
    pace = runner.paces(found, jobs=4)
    assert pace["a"] == pace["b"] == pace["c"] == pytest.approx(3 * REMOTE_MIN_INTERVAL)
    assert pace["d"] == pace["e"] == pytest.approx(2 * 0.1)  # the same loopback host, the pace asked for
    assert pace["f"] == pace["g"] == 0.0  # each its own embedded simulator
    # only as many as run at once share it: with two jobs, two at most
    assert runner.paces(found, jobs=2)["a"] == pytest.approx(2 * REMOTE_MIN_INTERVAL)


def test_the_key_goes_through_the_environment_only(tmp_path: Path) -> None:
    found = _targets(tmp_path, f"""  - name: keyed
    base_url: {LOOPBACK}
    api_key_env: H14_KEY
  - name: unset
    base_url: {LOOPBACK}
    api_key_env: H14_UNSET
  - name: none
    base_url: {LOOPBACK}
""")
    environ = {"H14_KEY": "the-key-12345", "OPEN311_API_KEY": "sweeps-own-key", "OPEN311_BASE_URL": "http://x.invalid",
               "PATH": "/bin"}
    keyed, unset, none = runner.launches(found, tmp_path / "out", {}, environ)
    assert keyed.environment["OPEN311_API_KEY"] == "the-key-12345"
    assert not any("the-key-12345" in arg for arg in keyed.argv)
    # the sweep's own OPEN311_* never reach a target that did not ask for them
    for launch in (unset, none):
        assert "OPEN311_API_KEY" not in launch.environment and "OPEN311_BASE_URL" not in launch.environment
    assert unset.notes == ("api_key_env H14_UNSET is not set: the run had no key",) and none.notes == ()
    assert keyed.argv[-2:] == ("--report-dir", str(tmp_path / "out" / "keyed"))


def _launch(tmp_path: Path, code: str, bound: float = 30.0) -> runner.Launch:
    target = _targets(tmp_path, f"  - name: t\n    base_url: {LOOPBACK}\n")[0]
    return runner.Launch(target, (sys.executable, "-c", code), {}, tmp_path / "t", tmp_path / "logs" / "t.log", bound)


@pytest.mark.parametrize(("code", "bound", "problem"), [
    ("import sys; print('boom'); sys.exit(70)", 30.0, "ended with exit status 70: boom"),
    ("import time; time.sleep(60)", 0.5, "did not end within its bound"),
    ("import sys; print('error: bad flag'); sys.exit(2)", 30.0, "refused its settings (exit 2): error: bad flag"),
], ids=["crash", "hang", "usage"])
def test_a_run_that_crashes_or_hangs_still_gets_a_row(code: str, bound: float, problem: str, tmp_path: Path) -> None:
    lines: list[str] = []
    found = runner.Sweeper(tmp_path, 2, lines.append).run([_launch(tmp_path, code, bound)])
    (row,) = found
    assert row.verdict == "inconclusive" and problem in (row.problem or "")
    assert row.report_dir is None and row.console_log == "logs/t.log"
    assert lines[0].startswith("t: started") and lines[-1].startswith("t: INCONCLUSIVE")


# --- rows, sweep.json, index.html, collect and compare over hand-made bundles ---------------

def _bundle(directory: Path, **fields: Any) -> Path:
    directory.mkdir(parents=True)
    write_bundle(records.record(**fields), directory)
    return directory


FAILING = (records.result("a"), records.result("b", Outcome.FAILED, requirement="GR2-FMT-PARITY"))


@pytest.fixture
def bundles(tmp_path: Path) -> Path:
    where = tmp_path / "made-elsewhere"
    _bundle(where / "good")
    _bundle(where / "bad", results=FAILING)
    _bundle(where / "short", stop=StopReason.BUDGET)
    _bundle(where / "nokey", mode=Mode.NO_KEY)
    return where


def test_collect_builds_a_sweep_from_bundles(bundles: Path, tmp_path: Path) -> None:
    (bundles / "good" / "report.html").write_text("tampered", encoding="utf-8")
    out = tmp_path / "site"
    out.mkdir()
    sweep = index.write(collect.collect(sorted(bundles.iterdir()), out), out)
    by = {row.name: row for row in sweep.rows}
    assert sweep.verdict == "fail" and sweep.exit_code == 1
    assert by["bad"].verdict == "fail" and by["bad"].failed_requirements == ("GR2-FMT-PARITY",)
    assert by["good"].verdict == "inconclusive" and by["good"].verified is False
    assert "report.html" in (by["good"].problem or "")
    assert by["short"].cut_short == "budget" and by["short"].exit_code == 3
    assert by["nokey"].verdict == "inconclusive" and by["nokey"].pre_approval_complete is False
    data = json.loads((out / rows.SWEEP).read_text(encoding="utf-8"))
    assert problems(data, rows.SWEEP) == []
    assert data["counts"] == {"pass": 0, "fail": 1, "inconclusive": 3}
    assert {row["report_dir"] for row in data["targets"]} == {"bad", "good", "short", "nokey"}
    assert (out / "bad" / "manifest.json").is_file()  # copied in: the folder is published whole
    page = (out / rows.INDEX).read_text(encoding="utf-8")
    assert '<a href="bad/report.html">' in page and "NOT verified" in page and "GR2-FMT-PARITY" in page
    assert "<script" not in page


def test_collect_of_a_passing_sweep_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _bundle(tmp_path / "in" / "good")
    assert cli.main(["sweep", "collect", str(good), "--report-dir", str(tmp_path / "out")]) == 0
    assert "verdict: PASS" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["sweep", "collect", "nowhere"], "no such directory"),
    (["sweep", "collect", "."], "neither a run's bundle"),
])
def test_collect_refuses_what_is_not_a_bundle(argv: list[str], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*argv, "--report-dir", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err


def test_the_index_escapes_what_came_from_elsewhere(bundles: Path, tmp_path: Path) -> None:
    sweep = collect.collect([bundles / "bad"], tmp_path)
    row = sweep.rows[0].but("<script>alert(1)</script>", notes=("<b>note</b>",))
    sweep.rows[0] = row
    index.write(sweep, tmp_path)
    page = (tmp_path / rows.INDEX).read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>note</b>" not in page


def test_a_key_in_a_sweep_file_is_scrubbed_and_reported(bundles: Path, tmp_path: Path) -> None:
    sweep = collect.collect([bundles / "good"], tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "good.log").write_text("GET ...?api_key=leaky-key-98765\n", encoding="utf-8")
    sweep = index.write(sweep, tmp_path, keys=["leaky-key-98765"])
    assert sweep.verdict == "inconclusive" and "logs/good.log" in sweep.kit_errors[0]
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or b"leaky-key-98765" not in path.read_bytes()


def _sweep(where: Path, made: dict[str, dict[str, Any]]) -> Path:
    where.mkdir()
    for name, fields in made.items():
        _bundle(where / name, **fields)
    index.write(collect.collect([where / name for name in made], where), where)
    return where


def test_compare_two_sweeps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _sweep(tmp_path / "old", {"a": {}, "b": {}, "gone": {}})
    new = _sweep(tmp_path / "new", {"a": {"results": FAILING}, "b": {}, "fresh": {}})
    result = compare_sweeps(old, new)
    assert [r.name for r in result.appeared] == ["fresh"] and [r.name for r in result.vanished] == ["gone"]
    assert result.newly_failing == 1 and result.exit_code == 1
    assert cli.main(["compare", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert "target a: 1 newly failing" in out and "test_checks.py::b" in out
    assert "target b: nothing newly failing" in out
    assert "+ fresh" in out and "- gone" in out
    assert cli.main(["compare", str(new), str(new)]) == 0


def test_compare_counts_a_new_target_that_fails(tmp_path: Path) -> None:
    old = _sweep(tmp_path / "old", {"a": {}})
    new = _sweep(tmp_path / "new", {"a": {}, "b": {"results": FAILING}})
    assert compare_sweeps(old, new).exit_code == 1


def test_compare_refuses_a_sweep_against_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _sweep(tmp_path / "old", {"a": {}})
    assert cli.main(["compare", str(old), str(old / "a")]) == 2
    assert "not one of each" in capsys.readouterr().err


def test_a_sweep_folder_is_collected_with_its_rows(tmp_path: Path) -> None:
    first = _sweep(tmp_path / "job-1", {"a": {}})
    data = json.loads((first / rows.SWEEP).read_text())
    crashed = {**data["targets"][0], "name": "crashed", "verdict": "inconclusive", "report_dir": None,
               "verified": None, "problem": "the run process ended with exit status -9 (signal 9)"}
    data["targets"].append(crashed)
    (first / rows.SWEEP).write_text(json.dumps(data))
    out = tmp_path / "site"
    sweep = collect.collect([first], out)
    assert [(r.name, r.verdict, r.verified) for r in sweep.rows] == [("a", "pass", True),
                                                                     ("crashed", "inconclusive", None)]
    assert "signal 9" in (sweep.rows[1].problem or "")


def test_a_folder_holding_a_sweep_is_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, f"targets:\n  - name: a\n    base_url: {LOOPBACK}\n")
    (tmp_path / "out" / "a").mkdir(parents=True)
    (tmp_path / "out" / "a" / "summary.json").write_text("{}", encoding="utf-8")
    assert cli.main(["sweep", str(path), "--report-dir", str(tmp_path / "out")]) == 2
    assert "already holds a sweep or a target's bundle" in capsys.readouterr().err
    assert cli.main(["sweep", str(path), "--jobs", "0"]) == 2
    assert "--jobs must be between 1 and 64" in capsys.readouterr().err
