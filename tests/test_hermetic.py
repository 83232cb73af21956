"""A run is the kit's own: what a shell or CI sets for pytest, or installs beside it, changes
nothing, and a check that did not run is counted inconclusive, never left out."""

from __future__ import annotations

import os
import textwrap

import pytest

from conformance.run import engine as runner
from conformance.run.engine import run_simulator

pytestmark = pytest.mark.integration

PLUGIN = "open311_test_deselect_all"
# a plugin that, wherever pytest loads it, takes every test away
PLUGIN_SOURCE = textwrap.dedent("""
    def pytest_collection_modifyitems(config, items):
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
""")


@pytest.fixture(scope="module")
def baseline(clean_run):
    return clean_run


@pytest.fixture()
def deselecting_plugin(tmp_path, monkeypatch):
    """The plugin on sys.path, and installed as a distribution with a pytest11 entry point."""
    (tmp_path / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE)
    dist = tmp_path / f"{PLUGIN}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PLUGIN}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[pytest11]\ndeselect_all = {PLUGIN}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _same_run(result, baseline) -> None:
    assert len(result.results) == len(baseline.results)
    assert {r.id for r in result.results} == {r.id for r in baseline.results}
    assert result.verdict == baseline.verdict == "pass"
    assert not [r for r in result.results if r.message.startswith("not run")]


# a plain pytest loads every installed plugin in this process: Hypothesis' warns when the kit has
# drawn here before it (it did, for the tests before), pytest-benchmark that xdist is on
# (by their words: neither plugin need be installed, nor name its warning the same in every version)
@pytest.mark.filterwarnings("ignore:Slow code in plugin", "ignore:Benchmarks are automatically disabled")
def test_the_plugin_would_deselect_everything_in_a_plain_pytest(deselecting_plugin, tmp_path):
    # the proof the tests below are not vacuous: outside the kit's run the plugin empties a session
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    plain = [str(tmp_path / "test_one.py"), "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    assert pytest.main(plain) == pytest.ExitCode.NO_TESTS_COLLECTED  # by its entry point
    assert pytest.main([*plain, "--disable-plugin-autoload", "-p", PLUGIN]) == pytest.ExitCode.NO_TESTS_COLLECTED
    assert pytest.main([*plain, "--disable-plugin-autoload"]) == pytest.ExitCode.OK


def test_pytest_addopts_changes_nothing(baseline, tmp_path, monkeypatch):
    addopts = "-k services -x --maxfail=1 -p no:randomly"
    monkeypatch.setenv("PYTEST_ADDOPTS", addopts)
    _same_run(run_simulator(report_dir=tmp_path), baseline)
    assert os.environ["PYTEST_ADDOPTS"] == addopts  # the user's environment is as it was


def test_a_plugin_named_in_pytest_addopts_is_not_loaded(baseline, deselecting_plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_ADDOPTS", f"-p {PLUGIN}")
    _same_run(run_simulator(report_dir=tmp_path / "run"), baseline)


def test_plugins_from_the_environment_or_installed_are_not_loaded(baseline, deselecting_plugin, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("PYTEST_PLUGINS", PLUGIN)  # and the pytest11 entry point of the fixture
    _same_run(run_simulator(report_dir=tmp_path / "run"), baseline)
    assert os.environ["PYTEST_PLUGINS"] == PLUGIN


def test_a_deselected_check_is_inconclusive_not_run(baseline, tmp_path, monkeypatch):
    args = runner.pytest_args()
    monkeypatch.setattr(runner, "pytest_args", lambda: [*args, "-k", "services"])
    result = run_simulator(report_dir=tmp_path)
    assert len(result.results) == len(baseline.results)
    not_run = [r for r in result.results if r.outcome == "inconclusive"]
    assert not_run and all(r.message == "not run: deselected by a pytest option or plugin" for r in not_run)
    assert all("services" not in r.id for r in not_run)
    assert [r for r in result.results if r.outcome == "passed"]
    assert result.verdict == "inconclusive"


def test_a_check_left_out_by_a_stop_is_inconclusive_not_run(tmp_path, monkeypatch):
    args = runner.pytest_args()
    monkeypatch.setattr(runner, "pytest_args", lambda: [*args, "--maxfail=1"])
    result = run_simulator(("filter-status-ignored",), report_dir=tmp_path)
    not_run = [r for r in result.results if r.message.startswith("not run:")]
    assert not_run and all(r.outcome == "inconclusive" for r in not_run)
    assert all(r.message.startswith("not run: pytest stopped the session: ") for r in not_run), not_run[0].message
    assert result.verdict == "fail"
