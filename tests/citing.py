"""What a run's checks cite: the exchanges each decided check's outcome rests on."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conformance.report.html import anchor
from conformance.run.engine import RunResult


def _cited_in_report(report_dir: Path) -> dict[str, list[int]]:
    """Each check's exchange links in report.html, by the check's anchor."""
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    cited: dict[str, list[int]] = {}
    for row in re.findall(r'<tr[^>]*id="(check-[^"]+)"(.*?)</tr>', page, flags=re.S):
        cited[row[0]] = [int(n) for n in re.findall(r'exchanges\.html#ex-(\d+)', row[1])]
    return cited


def assert_every_decided_check_cites_evidence(run: RunResult) -> None:
    """Every decided check cites an exchange of the run, the same in summary.json and report.html."""
    summary = json.loads((run.report_dir / "summary.json").read_text())
    decided = [c for c in summary["checks"] if c["outcome"] in ("passed", "failed", "warning")]
    assert decided
    bare = [c["id"] for c in decided if not c["exchanges"]]
    assert bare == [], f"decided checks citing no exchange: {bare}"
    sent = {e.seq for e in run.record.exchanges}
    report = _cited_in_report(run.report_dir)
    for check in decided:
        assert set(check["exchanges"]) <= sent, check["id"]
        # the report links the same exchanges (its row shows the first four of them)
        assert report[anchor(check["id"])] == check["exchanges"][:4], check["id"]
