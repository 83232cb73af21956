"""Everything a run leaves behind: summary.json, and (with pytest-html) report.html, junit.xml."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from conformance import __version__
from conformance.report.checklist import checklist

if TYPE_CHECKING:
    from conformance.context import RunContext
    from conformance.runner import RunResult


def summary(result: RunResult, context: RunContext) -> dict[str, Any]:
    target = context.target
    return {
        "run_id": result.run_id,
        "verdict": result.verdict,
        "target": target.describe(),
        "profile": target.profile,
        "started": result.started,
        "finished": result.finished,
        "requests_sent": result.requests_sent,
        "kit_version": __version__,
        "api_key_fingerprint": context.transport.key_fingerprint,
        "checklist": [{"key": i.key, "title": i.title, "state": i.state} for i in checklist(result.results)],
        "kit_errors": result.kit_errors,
        "checks": [r.as_dict() for r in result.results],
    }


def write_reports(result: RunResult, context: RunContext) -> None:
    data = summary(result, context)
    text = context.transport.redact(json.dumps(data, indent=2, ensure_ascii=False))
    (result.report_dir / "summary.json").write_text(text + "\n", encoding="utf-8")
