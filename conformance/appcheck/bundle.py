"""A grading's bundle, written from the :class:`~.grading.AppGrading` value alone.

For now ``summary.json`` and ``evidence.har`` (the HAR writer is the run's); the shared
record-based writers (HTML, JUnit, manifest) take over once a grading maps onto the run record.
After writing, every file is scanned for the key; a hit is scrubbed and becomes a kit error.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance import __version__, leakscan
from conformance.appcheck.grading import AppGrading
from conformance.appcheck.recording import redactor
from conformance.errors import UsageError
from conformance.report.har import har

SUMMARY_VERSION = 1
FILES = ("summary.json", "evidence.har")


def prepare(directory: Path) -> Path:
    directory = directory.resolve()
    if any((directory / name).exists() for name in (*FILES, "manifest.json")):
        raise UsageError(f"{directory} already holds a report: choose another --report-dir")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create report directory {directory}: {exc.strerror}") from None
    return directory


def summary(grading: AppGrading) -> dict[str, Any]:
    return {
        "summary_version": SUMMARY_VERSION,
        "subject": grading.subject,
        "verdict": grading.verdict,
        "app_name": grading.app_name,
        "mode": grading.mode,
        "target": grading.upstream or grading.base_url,
        "formats": list(grading.formats),
        "started": grading.started,
        "finished": grading.finished,
        "kit_version": __version__,
        "api_key_fingerprint": grading.key_fingerprint,
        "requests_recorded": len(grading.exchanges),
        "app": grading.app.as_dict() if grading.app else None,
        "counts": grading.counts(),
        "checklist": [{"key": i.key, "title": i.title, "state": i.state, "checks": i.checks}
                      for i in grading.checklist],
        "kit_errors": list(grading.kit_errors),
        "checks": [r.as_dict() for r in grading.results],
        "report_files": list(FILES),
    }


def write(grading: AppGrading, directory: Path, api_key: str) -> AppGrading:
    """Write the bundle; the grading back, with a kit error added if the key got in."""
    redact = redactor(api_key)
    (directory / "evidence.har").write_text(json.dumps(
        har(grading.exchanges, redact, comment=f"check-app: {grading.app_name}"), indent=1), encoding="utf-8")
    (directory / "summary.json").write_text(json.dumps(summary(grading), indent=2), encoding="utf-8")
    leaks = leakscan.scan(directory, api_key)
    if not leaks:
        return grading
    leakscan.scrub(leaks, api_key)
    errors = (*grading.kit_errors, *(f"the API key was found in {leak.path.name} and scrubbed" for leak in leaks))
    graded = replace(grading, kit_errors=errors)
    (directory / "summary.json").write_text(json.dumps(summary(graded), indent=2), encoding="utf-8")
    return graded
