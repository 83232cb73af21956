"""The kit's cache directory: what it keeps is derived the same every time, and a run never
depends on it (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import cachedir
from conformance.report import html
from tests import records


@pytest.fixture
def fresh_environment():
    """html's Jinja2 environment made anew for the test, and again after it."""
    html.environment.cache_clear()
    yield
    html.environment.cache_clear()


def test_the_cache_is_the_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.cache_home() == tmp_path / "xdg" / "open311-conformance"
    assert cachedir.kept("jinja2") == tmp_path / "xdg" / "open311-conformance" / "jinja2"
    assert (tmp_path / "xdg" / "open311-conformance" / "jinja2").is_dir()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cachedir.cache_home() == tmp_path / "home" / ".cache" / "open311-conformance"


def test_a_cache_that_cannot_be_made_is_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert cachedir.kept("jinja2") is None


def test_pages_from_compiled_templates_are_the_pages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      fresh_environment: None) -> None:
    record = records.record(kind="practice")
    (tmp_path / "file").write_text("in the way")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # no cache: compiled anew
    anew = html.report_page(record)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    html.environment.cache_clear()
    first = html.report_page(record)  # compiled, and kept
    kept = sorted((tmp_path / "xdg" / "open311-conformance" / "jinja2").iterdir())
    assert kept, "no compiled template was kept"
    html.environment.cache_clear()
    assert html.report_page(record) == first == anew  # read back from the cache
    # a kept file that is not a compiled template is not trusted: compiled anew
    for path in kept:
        path.write_bytes(b"not bytecode")
    html.environment.cache_clear()
    assert html.report_page(record) == anew
