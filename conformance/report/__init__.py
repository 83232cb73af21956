"""Everything a run leaves behind, in one directory.

pytest writes ``report.html`` (through pytest-html and :mod:`conformance.report.html`) and
``junit.xml`` while it runs; :func:`write_reports` then settles the report's verdict on the
runner's final one, adds ``evidence.har`` and ``summary.json``, scans everything for the
API key, and writes ``manifest.json`` last, over everything else in the directory.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from conformance import leakscan, outcomes
from conformance.report import har, html, summary
from conformance.report.checklist import checklist
from conformance.report.evidence import catalogue, write_evidence
from conformance.report.manifest import MANIFEST, bundle_files, write_manifest

if TYPE_CHECKING:
    from conformance.context import RunContext
    from conformance.runner import RunResult

__all__ = ["write_reports", "write_manifest"]

SUMMARY = "summary.json"
HAR = "evidence.har"
HTML = "report.html"


def write_reports(result: RunResult, context: RunContext) -> None:
    """Write the artifacts. A key found in one turns into a kit error on ``result`` (so the
    verdict and exit code the runner reports change with it) before the manifest is made."""
    directory = result.report_dir
    redact = context.transport.redact
    log = har.har(context.transport.exchanges, redact, comment=f"open311-conformance run {result.run_id}")
    # compact: json's C encoder is skipped when indenting, and the HAR is megabytes of bodies
    (directory / HAR).write_text(json.dumps(log, ensure_ascii=False, separators=(",", ":")) + "\n",
                                 encoding="utf-8")
    _write_html_and_summary(result, context)
    key = context.transport.api_key
    leaks = leakscan.scan(directory, key) if key else []
    if leaks and key:
        leakscan.scrub(leaks, key)
        names = ", ".join(sorted(leak.path.relative_to(directory).as_posix() for leak in leaks))
        result.kit_errors.append(f"the API key was found in {names} and removed from it: "
                                 "a path that skipped redaction, report it as a kit bug")
        result.verdict = outcomes.run_verdict(result.results, result.kit_errors)
        _write_html_and_summary(result, context)
    write_manifest(result, context)


def _write_html_and_summary(result: RunResult, context: RunContext) -> None:
    directory = result.report_dir
    html.finalize(directory / HTML, result, context)
    files = sorted({*bundle_files(directory), SUMMARY} - {MANIFEST})
    data = summary.build(result, context, checklist=checklist(result.results, context.profile),
                         write=write_evidence(context, result.results), catalogue=catalogue(context), files=files)
    text = context.transport.redact(json.dumps(data, indent=2, ensure_ascii=False))
    (directory / SUMMARY).write_text(text + "\n", encoding="utf-8")
