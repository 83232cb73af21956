"""summary.json: the machine-readable result of a run, documented by schemas/summary.json."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from conformance import __version__, outcomes
from conformance.contract import SCHEMAS, contract_root
from conformance.report.checklist import ChecklistItem
from conformance.report.evidence import WriteEvidence, fuzzing_facts

if TYPE_CHECKING:
    from conformance.context import RunContext
    from conformance.runner import RunResult

SUMMARY_VERSION = 1


def schema_path() -> Path:
    return contract_root() / SCHEMAS / "summary.json"


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_path().read_text(encoding="utf-8")))


def problems(data: Any) -> list[str]:
    """Every way ``data`` breaks schemas/summary.json, one line each (empty when valid)."""
    return [f"{'/' + '/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]


def build(result: RunResult, context: RunContext, *, checklist: list[ChecklistItem],
            write: WriteEvidence, catalogue: dict[str, Any] | None, files: list[str]) -> dict[str, Any]:
    target = context.target
    counts = dict.fromkeys(outcomes.OUTCOMES, 0)
    for r in result.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return {
        "summary_version": SUMMARY_VERSION,
        "run_id": result.run_id,
        "verdict": result.verdict,
        "target": target.describe(),
        "profile": target.profile.name,
        "started": result.started,
        "finished": result.finished,
        "requests_sent": result.requests_sent,
        "fuzzing": fuzzing_facts(context),
        "kit_version": __version__,
        "api_key_fingerprint": context.transport.key_fingerprint,
        "counts": counts,
        "checklist": [{"key": i.key, "title": i.title, "state": i.state, "checks": i.checks}
                      for i in checklist],
        "kit_errors": list(result.kit_errors),
        "token_resolution_s": write.resolution_s,
        "write": write.as_dict(),
        "catalogue": catalogue,
        "report_files": files,
        "checks": [r.as_dict() for r in result.results],
    }
