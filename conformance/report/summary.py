"""summary.json: the machine-readable result of a run, documented by schemas/summary.json."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from conformance.contract import SCHEMAS, contract_root
from conformance.outcomes import Level
from conformance.record import RunRecord
from conformance.timestamps import iso_utc

SUMMARY_VERSION = 2


SCHEMA = "summary.json"


def schema_path(name: str = SCHEMA) -> Path:
    return contract_root() / SCHEMAS / name


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_path(name).read_text(encoding="utf-8")))


def problems(data: Any, schema: str = SCHEMA) -> list[str]:
    """Every way ``data`` breaks schemas/<schema> (summary.json unless named), one line each
    (empty when valid)."""
    return [f"{'/' + '/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in sorted(_validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]


def build(record: RunRecord, *, files: list[str]) -> dict[str, Any]:
    write = record.write
    stop = record.stop
    return {
        "summary_version": SUMMARY_VERSION,
        "run_id": record.run_id,
        "subject": str(record.subject),
        "verdict": str(record.verdict),
        "pre_approval": record.pre_approval.as_dict(),
        "practice": record.practice,
        "tls_verified": record.tls_verified,
        "proxy": None if record.proxy is None else {"host": record.proxy, "saw_key": record.proxy_saw_key},
        "mode": str(record.mode),
        "app_name": record.app_name,
        "cut_short": None if stop is None else {"reason": str(stop.reason), "detail": stop.detail,
                                                "at": iso_utc(stop.at)},
        "target": dict(record.target),
        "profile": record.profile,
        "clock": {name: list(moments) for name, moments in record.clock.items()},
        "rejudged": None if record.rejudged is None else record.rejudged.as_dict(),
        "started": record.started,
        "finished": record.finished,
        "requests_sent": record.requests_sent,
        "fuzzing": None if record.fuzzing is None else dict(record.fuzzing),
        "kit_version": record.kit_version,
        "contract": record.contract_digest,
        "api_key_fingerprint": record.key_fingerprint,
        "key_source": None if record.key_source is None else str(record.key_source),
        "counts": {str(o): n for o, n in record.counts.items()},
        "checklist": [item.as_dict() for item in record.checklist],
        "kit_errors": list(record.kit_errors),
        "token_resolution_s": write.resolution_s if write is not None else None,
        "write": write.as_dict() if write is not None else None,
        "catalogue": None if record.catalogue is None else dict(record.catalogue),
        "application": None if record.application is None else dict(record.application),
        "report_files": files,
        "checks": [r.as_dict() for r in record.results],
        "broken_requirements": {str(level): record.broken(level) for level in (Level.MUST, Level.SHOULD)},
    }
