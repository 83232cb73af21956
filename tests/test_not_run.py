"""A check the profile selects but pytest did not run is inconclusive "not run: <why>", whatever
kept it from running: the run's plugin over a tiny pytest session, no target needed."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance import profiles
from conformance.outcomes import Outcome
from conformance.run.plugin import RunPlugin

CHECKS = textwrap.dedent('''
    import pytest

    @pytest.mark.requirement("GR2-IDS-STRINGS")
    def test_kept():
        """Kept"""

    @pytest.mark.requirement("GR2-IDS-STRINGS")
    def test_other():
        """Other"""

    @pytest.mark.requirement("GR2-IDS-STRINGS")
    def test_failing():
        """Failing"""
        assert False, "broken"

    @pytest.mark.requirement("GR2-DEFAULT-WINDOW")
    def test_of_another_profile():
        """georeport-v2 only: not the chicago run's"""
''')

LEAVE_OUT = textwrap.dedent('''
    def pytest_collection_modifyitems(config, items):
        items[:] = [i for i in items if "other" not in i.name]  # no pytest_deselected call
''')


class _Transport:
    stop = None

    @staticmethod
    def redact(text: str) -> str:
        return text


def _context() -> SimpleNamespace:
    return SimpleNamespace(
        profile=profiles.get("chicago"), results={}, kit_errors=[], current_exchanges=None,
        target=SimpleNamespace(share_answers=False), transport=_Transport(), say=lambda _line: None)


def _run(tmp_path: Path, *options: str) -> dict[str, tuple[Outcome, str]]:
    (tmp_path / "test_checks.py").write_text(CHECKS)
    (tmp_path / "leave_out_other.py").write_text(LEAVE_OUT)
    context = _context()
    plugin = RunPlugin(context, quiet=True)  # type: ignore[arg-type]
    # as in a run (engine.pytest_args), no hunt for unraisable exceptions at the session's end:
    # five full collections of a worker's whole heap, a second or more of this test's time
    pytest.main([str(tmp_path / "test_checks.py"), "--rootdir", str(tmp_path), "-q", "--disable-plugin-autoload",
                 "-p", "no:cacheprovider", "-p", "no:unraisableexception", "--import-mode=importlib",
                 "-p", "conformance.run.plugin", *options],
                plugins=[plugin])
    results = [*context.results.values(), *plugin.unrun("the run ended")]
    return {r.id.rsplit("::", 1)[1]: (r.outcome, r.message) for r in results}


def test_every_check_runs_without_options(tmp_path: Path) -> None:
    results = _run(tmp_path)
    assert results == {"test_kept": (Outcome.PASSED, ""), "test_other": (Outcome.PASSED, ""),
                       "test_failing": (Outcome.FAILED, "broken")}  # the georeport-v2 check is not chicago's


def test_a_check_deselected_by_keyword_is_not_run(tmp_path: Path) -> None:
    results = _run(tmp_path, "-k", "kept")
    assert results["test_kept"] == (Outcome.PASSED, "")
    for name in ("test_other", "test_failing"):
        assert results[name] == (Outcome.INCONCLUSIVE, "not run: deselected by a pytest option or plugin")
    assert "test_of_another_profile" not in results


def test_a_check_left_out_by_a_plugin_is_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    results = _run(tmp_path, "-p", "leave_out_other")
    assert results["test_other"] == (Outcome.INCONCLUSIVE, "not run: left out of the run by a pytest plugin")
    assert results["test_kept"] == (Outcome.PASSED, "")


def test_checks_after_a_stop_are_not_run(tmp_path: Path) -> None:
    results = _run(tmp_path, "-x", "-p", "no:randomly")
    ran = [n for n, (outcome, _) in results.items() if outcome is not Outcome.INCONCLUSIVE]
    assert "test_failing" in ran
    stopped = {n: m for n, (o, m) in results.items() if o is Outcome.INCONCLUSIVE}
    assert set(ran) | set(stopped) == {"test_kept", "test_other", "test_failing"}
    assert all(m.startswith("not run: pytest stopped the session: ") for m in stopped.values())
