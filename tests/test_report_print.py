"""report.html in a real browser: headless Chromium prints it to PDF, poppler reads it back.

The integration tier's proof that the first printed page holds what a reviewer looks for and
that a passing run prints in a few pages. Skipped, with the reason, where the tools are absent
(.ci/run installs them with apt-get).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.run.engine import RunResult

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")
needs_browser = pytest.mark.skipif(not (CHROMIUM and POPPLER),
                                   reason="needs Debian's chromium and poppler-utils (pdftotext, pdfinfo)")


def _print(report: Path, tmp_path: Path) -> tuple[str, int]:
    pdf = tmp_path / "report.pdf"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", report.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert pdf.is_file(), "chromium printed nothing"
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], capture_output=True,
                           text=True, timeout=60, check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return " ".join(first.split()), pages


@pytest.fixture(scope="module")
def passing(app_run: RunResult) -> RunResult:
    return app_run


@pytest.fixture(scope="module")
def failing(parity_drift_run: RunResult) -> RunResult:
    return parity_drift_run


@needs_browser
def test_a_passing_run_prints_its_essentials_first_and_briefly(passing: RunResult, tmp_path: Path) -> None:
    page1, pages = _print(passing.report_dir / "report.html", tmp_path)
    for words in ("Practice run", "Verdict: PASS", "Pre-approval evidence: NOT complete", "Pothole Pal",
                  "With the simulator's practice key, the kit wrote a service request",
                  "The server answers errors as documented"):
        assert words in page1, words
    assert pages <= 10


@needs_browser
def test_a_failing_run_shows_its_failures_on_page_one(failing: RunResult, tmp_path: Path) -> None:
    page1, _pages = _print(failing.report_dir / "report.html", tmp_path)
    assert "Verdict: FAIL" in page1 and "Failed checks" in page1 and "GR2-FMT-PARITY" in page1
    assert "Pothole Pal" in page1
