"""The sweep's index.html on paper: A4 and Letter, portrait, every URL and date whole on one line.

Headless Chromium prints it, poppler reads it back; skipped with the reason where they are
absent (.ci/run installs them). The rows are made by hand: no run is needed to lay out a table.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.outcomes import Verdict
from conformance.sweep.index import index_page
from conformance.sweep.rows import Sweep, TargetRow

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")
needs_browser = pytest.mark.skipif(not (CHROMIUM and POPPLER),
                                   reason="needs Debian's chromium and poppler-utils (pdftotext, pdfinfo)")

URLS = ("http://test311api.cityofchicago.org/open311/v2", "https://seeclickfix.com/open311/v2/655",
        "http://311api.cityofchicago.org/open311/v2", "https://asiointi.hel.fi/palautews/rest/v1",
        "http://127.0.0.1:43333/open311/v2")


def sweep() -> Sweep:
    rows = []
    for number, url in enumerate(URLS):
        rows.append(TargetRow(
            name=f"target-with-a-long-name-{number}",
            verdict=(Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE)[number % 3],
            exit_code=number % 4, report_dir=f"target-with-a-long-name-{number}", base_url=url,
            started=f"2026-12-02T21:0{number}:12.345Z", finished=f"2026-12-02T21:1{number}:59.999Z",
            requests_sent=300 + number, token_resolution_s=12.5,
            failed_requirements=("GR2-FMT-PARITY", "GR2-ERR-NO-5XX", "CHI-ERR-NAMES-ATTRIBUTE")[: number % 4],
            cut_short="the target stopped answering: 3 requests timed out in a row" if number == 2 else None,
            problem="the bundle does not match its manifest (changed: evidence.har)" if number == 4 else None,
            verified=number != 4, console_log=f"logs/target-with-a-long-name-{number}.log"))
    return Sweep(rows, "2026-12-02T21:00:00.000Z", "2026-12-02T21:20:00.000Z", "sweep")


def _print(page: str, size: str, tmp_path: Path) -> tuple[str, str]:
    html = tmp_path / f"index-{size}.html"
    # the paper the reader's printer has: what a browser's print dialog chooses
    html.write_text(page.replace("</head>", f"<style>@page {{ size: {size} portrait; }}</style></head>"),
                    encoding="utf-8")
    pdf = tmp_path / f"index-{size}.pdf"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", html.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert pdf.is_file(), "chromium printed nothing"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60, check=True).stdout
    return text, info


def test_the_fixture_has_what_would_break():
    page = index_page(sweep())
    assert page.count('class="muted url"') == len(URLS)
    assert page.count('class="date"') == 2 * len(URLS) + 2


@needs_browser
@pytest.mark.parametrize("size", ["A4", "letter"])
def test_the_sweep_index_prints_every_url_and_date_whole(size: str, tmp_path: Path) -> None:
    made = sweep()
    text, info = _print(index_page(made), size, tmp_path)
    assert ("(A4)" if size == "A4" else "(letter)") in info
    lines = text.splitlines()
    for row in made.rows:
        for whole in (row.base_url, row.started, row.finished):
            assert any(whole in line for line in lines), f"{whole} is broken across lines on {size}"
    # nothing cut at the right edge: the last column of every row is on the paper
    assert text.count("console log") == len(made.rows)
    # and no URL or date is split: no line ends inside one
    assert not [line for line in lines if re.search(r"(https?://\S*|\d{4}-\d\d-\d\dT[\d:.]*)$", line.rstrip())
                and not any(line.rstrip().endswith(w) for r in made.rows for w in (r.base_url, r.started, r.finished))
                and not line.rstrip().endswith(("2026-12-02T21:00:00.000Z", "2026-12-02T21:20:00.000Z"))]
