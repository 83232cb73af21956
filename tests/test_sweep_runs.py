"""A real sweep of three loopback targets: one conformant, one faulty, one unreachable.

It ends with exit 1 and the three verdicts right, one index page and one bundle per target that
`verify` accepts, in less wall time than the same runs one after another (``--jobs 1``); the
keys reach none of its files nor its console; the CI matrix path (``--matrix``, one
``--only NAME`` job per target, ``sweep collect``) gives the same verdicts; and targets sharing a
host share its pace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.report.manifest import verify
from conformance.report.summary import problems
from conformance.simulator import server
from conformance.sweep import rows

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"conformant": "pass", "faulty": "fail", "unreachable": "inconclusive"}
PACE = 0.004  # asked of every run: three on one host get three times it when side by side
RUN_FLAGS = ("--fuzz-examples", "0", "--poll-timeout", "10", "--timeout", "3", "--min-interval", str(PACE))


@dataclass(slots=True)
class Swept:
    directory: Path
    code: int
    out: str
    wall_s: float


@dataclass(slots=True)
class Three:
    file: Path
    keys: tuple[str, str]
    environment: dict[str, str]
    side_by_side: Swept
    one_after_another: Swept


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "conformance.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _sweep(file: Path, directory: Path, env: dict[str, str], *extra: str) -> Swept:
    started = time.monotonic()
    process = _cli(["sweep", str(file), "--report-dir", str(directory), *RUN_FLAGS, *extra], env)
    out, _ = process.communicate(timeout=600)
    return Swept(directory, process.returncode, out, time.monotonic() - started)


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Three]:
    where = tmp_path_factory.mktemp("sweep")
    # a token delay longer than the checks take: each run waits on its target, as a real one makes it wait
    with server.start(delay=6.0) as clean, server.start(delay=6.0, faults=["xml-parity-drift"]) as faulty:
        file = where / "targets.yaml"
        file.write_text(f"""targets:
  - name: conformant
    base_url: {clean.base_url}
    api_key_env: SWEEP_TEST_CLEAN_KEY
  - name: faulty
    base_url: {faulty.base_url}
    api_key_env: SWEEP_TEST_FAULTY_KEY
  - name: unreachable
    base_url: http://127.0.0.1:9/open311/v2
""", encoding="utf-8")
        env = _environment(SWEEP_TEST_CLEAN_KEY=clean.api_key, SWEEP_TEST_FAULTY_KEY=faulty.api_key)
        side_by_side = _sweep(file, where / "side-by-side", env, "--jobs", "3")
        one_after_another = _sweep(file, where / "one-after-another", env, "--jobs", "1")
        yield Three(file, (clean.api_key, faulty.api_key), env, side_by_side, one_after_another)


def _data(directory: Path) -> dict:
    return json.loads((directory / rows.SWEEP).read_text(encoding="utf-8"))


def _verdicts(directory: Path) -> dict[str, str]:
    return {row["name"]: row["verdict"] for row in _data(directory)["targets"]}


def test_three_targets_three_verdicts(three: Three) -> None:
    for swept in (three.side_by_side, three.one_after_another):
        assert swept.code == 1, swept.out
        assert _verdicts(swept.directory) == EXPECTED
        data = _data(swept.directory)
        assert problems(data, rows.SWEEP) == [] and data["verdict"] == "fail"
        by = {row["name"]: row for row in data["targets"]}
        assert by["faulty"]["failed_requirements"] == ["GR2-FMT-PARITY"]
        assert by["unreachable"]["cut_short"] == "unreachable" and by["unreachable"]["exit_code"] == 3
        assert by["conformant"]["token_resolution_s"] > 5.0 and by["conformant"]["requests_sent"] > 50
        for name in EXPECTED:
            assert verify(swept.directory / name).ok, name
            assert by[name]["verified"] is True and by[name]["problem"] is None
            assert f"{name}: started" in swept.out
        page = (swept.directory / rows.INDEX).read_text(encoding="utf-8")
        assert page.count('<tr class="v-') == 3 and '<a href="faulty/report.html">' in page
        assert "verdict: FAIL" in swept.out


def test_side_by_side_takes_less_wall_time(three: Three) -> None:
    assert three.side_by_side.wall_s < three.one_after_another.wall_s, (
        three.side_by_side.wall_s, three.one_after_another.wall_s)


def test_targets_on_one_host_share_its_pace(three: Three) -> None:
    for swept, k in ((three.side_by_side, 3), (three.one_after_another, 1)):
        summary = json.loads((swept.directory / "conformant" / "summary.json").read_text(encoding="utf-8"))
        assert summary["target"]["min_interval_s"] == pytest.approx(k * PACE)
    assert "host 127.0.0.1: 3 targets share it" in three.side_by_side.out


def test_min_interval_paces_a_loopback_run() -> None:
    from conformance import cli
    from conformance.cli.run import target_from as from_args
    from conformance.transport import Transport

    with server.start(delay=0.1) as sim:
        target = from_args(cli.build_parser().parse_args(["run", "--base-url", sim.base_url, "--min-interval", "0.1"]),
                           environ={})
        transport = Transport(target.base_url, timeout=5, min_interval=target.min_interval)
        started = time.monotonic()
        for _ in range(6):
            assert transport.get("services.json").status == 200
        transport.close()
    assert time.monotonic() - started >= 5 * 0.1


def test_no_key_in_any_file_nor_on_the_console(three: Three) -> None:
    for swept in (three.side_by_side, three.one_after_another):
        files = [p for p in swept.directory.rglob("*") if p.is_file()]
        assert {p.name for p in files} >= {"sweep.json", "index.html", "conformant.log", "summary.json"}
        for key in three.keys:
            assert len(key) >= 6
            assert key not in swept.out
            for path in files:
                assert key.encode() not in path.read_bytes(), path


def test_the_matrix_and_collect_give_the_same_verdicts(three: Three, tmp_path: Path) -> None:
    listed = subprocess.run([sys.executable, "-m", "conformance.cli", "sweep", str(three.file), "--matrix"],
                            env=three.environment, cwd=ROOT, capture_output=True, text=True, timeout=60)
    matrix = json.loads(listed.stdout)
    assert matrix == {"include": [{"name": name} for name in EXPECTED]}
    # every job of the matrix at once, as CI runs them, each on its own folder
    jobs = {entry["name"]: _cli(["sweep", str(three.file), "--only", entry["name"], "--report-dir",
                                 str(tmp_path / "jobs" / entry["name"]), *RUN_FLAGS], three.environment)
            for entry in matrix["include"]}
    codes = {name: job.wait(timeout=600) for name, job in jobs.items()}
    assert codes == {"conformant": 0, "faulty": 1, "unreachable": 3}
    # a matrix job paces for the whole file: its siblings hit the same host at the same time
    conformant = json.loads((tmp_path / "jobs" / "conformant" / "conformant" / "summary.json").read_text())
    assert conformant["target"]["min_interval_s"] == pytest.approx(3 * PACE)
    # the collect job, from the jobs' sweep folders (downloaded artifacts) ...
    collected = _cli(["sweep", "collect", *(str(tmp_path / "jobs" / n) for n in EXPECTED),
                      "--report-dir", str(tmp_path / "site")], three.environment)
    out, _ = collected.communicate(timeout=120)
    assert collected.returncode == 1, out
    assert _verdicts(tmp_path / "site") == EXPECTED and _data(tmp_path / "site")["source"] == "collect"
    assert all(row["verified"] for row in _data(tmp_path / "site")["targets"])
    assert (tmp_path / "site" / "logs" / "faulty.log").is_file()
    # ... or from the bundles alone, each named by its folder
    bundles = _cli(["sweep", "collect", *(str(tmp_path / "jobs" / n / n) for n in EXPECTED),
                    "--report-dir", str(tmp_path / "bundles-only")], three.environment)
    bundles.communicate(timeout=120)
    assert bundles.returncode == 1 and _verdicts(tmp_path / "bundles-only") == EXPECTED
    # and nothing newly fails between the sweep run here and the one collected from the matrix
    compared = _cli(["compare", str(three.side_by_side.directory), str(tmp_path / "site")], three.environment)
    out, _ = compared.communicate(timeout=120)
    assert compared.returncode == 0, out
    assert "target faulty: nothing newly failing" in out and "Targets appeared: none" in out


def test_sigterm_stops_the_sweep_and_keeps_every_row(tmp_path: Path) -> None:
    file = tmp_path / "targets.yaml"
    file.write_text("""targets:
  - name: slow
    simulator: true
    simulator_delay: 60
    poll_timeout: 120
  - name: later
    simulator: true
""", encoding="utf-8")
    process = _cli(["sweep", str(file), "--jobs", "1", "--fuzz-examples", "0", "--report-dir", str(tmp_path / "out")],
                   _environment())
    time.sleep(6)  # the first run is polling its token
    process.terminate()
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 3, out
    by = {row["name"]: row for row in _data(tmp_path / "out")["targets"]}
    assert by["slow"]["cut_short"] == "signal" and by["slow"]["verified"] is True
    assert by["later"]["verdict"] == "inconclusive" and "not run" in by["later"]["problem"]
    assert "Traceback" not in out
