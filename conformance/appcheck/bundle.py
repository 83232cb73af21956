"""A grading's bundle: the :class:`~.grading.AppGrading` frozen into the run record that every
report writer reads, so ``check-app`` leaves the same artifacts as ``run`` (report.html,
exchanges.html, junit.xml, summary.json, evidence.har, manifest.json)."""

from __future__ import annotations

from pathlib import Path

from conformance import __version__, requirements
from conformance.appcheck.grading import AppGrading
from conformance.contract import contract_hashes
from conformance.record import Mode, RunRecord, Subject
from conformance.report import write_bundle
from conformance.target import KeySource, describe_host
from conformance.transport import Stop


def to_record(grading: AppGrading, run_id: str, stop: Stop | None = None) -> RunRecord:
    proxied = grading.mode == "proxy"
    server = grading.upstream if proxied and grading.upstream else grading.base_url
    kind = describe_host(server) if proxied else "embedded simulator (grading mode)"
    application = {"mode": grading.mode, "formats": ",".join(grading.formats),
                   "served_at": grading.base_url, "upstream": grading.upstream,
                   **({"writes": "none: read-only application (--read-only)"} if grading.read_only else {}),
                   "patience": (f"the first id was held {grading.patience_s:g} s" if grading.patience_s
                                else "not tested (--quick or --proxy)"),
                   **(grading.app.as_dict() if grading.app else {"command": None})}
    return RunRecord(
        run_id=run_id, subject=Subject.APPLICATION, started=grading.started, finished=grading.finished,
        target={"base_url": server, "kind": kind, "profile": "chicago", "api_key_given": proxied},
        profile="chicago", mode=Mode.READ_ONLY if grading.read_only else Mode.FULL, practice=not proxied,
        results=grading.results,
        checklist=grading.checklist, exchanges=grading.exchanges, requests_sent=len(grading.exchanges),
        kit_version=__version__, contract=contract_hashes(), key_fingerprint=grading.key_fingerprint,
        app_name=grading.app_name, kit_errors=grading.kit_errors, application=application, stop=stop,
        requirements=requirements.named_by(grading.results, "chicago"),
        # the grading simulator makes the key the application uses; a proxy uses the one given
        key_source=KeySource.GIVEN if proxied else KeySource.SIMULATOR,
        tls_verified=grading.tls_verified, proxy=grading.proxy)


def write(grading: AppGrading, directory: Path, api_key: str, run_id: str, stop: Stop | None = None) -> RunRecord:
    """Write the bundle; the record it holds (with a kit error added if the key got in)."""
    return write_bundle(to_record(grading, run_id, stop), directory, key=api_key)
