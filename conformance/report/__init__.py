"""Everything a run leaves behind, in one directory, written from the run's frozen record.

:func:`write_bundle` writes ``evidence.har``, ``exchanges.html``, ``report.html``,
``junit.xml`` and ``summary.json`` from a :class:`~conformance.record.RunRecord`, scans
them for the API key, and writes ``manifest.json`` last, over everything else. The writers
see the record only: none of them decides a verdict or reads the live run.
"""

from __future__ import annotations

import json
from pathlib import Path

from conformance import leakscan
from conformance.errors import UsageError
from conformance.record import RunRecord
from conformance.report.bundle import EXCHANGES, HAR, HTML, JUNIT, SUMMARY
from conformance.report.manifest import MANIFEST, bundle_files, write_manifest

__all__ = ["EXCHANGES", "HAR", "HTML", "JUNIT", "MANIFEST", "SUMMARY", "prepare_directory", "write_bundle",
           "write_manifest"]



def prepare_directory(directory: Path) -> Path:
    """The report directory, created; a usage error when it already holds a run's bundle."""
    directory = directory.resolve()
    if any((directory / name).exists() for name in (SUMMARY, MANIFEST)):
        raise UsageError(f"{directory} already holds a run's report: choose another --report-dir")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create report directory {directory}: {exc.strerror}") from None
    return directory


def write_bundle(record: RunRecord, directory: Path, key: str | None = None) -> RunRecord:
    """Write the artifacts of ``record`` and return the record they finally hold.

    A key found in an artifact (a path that skipped redaction) is a kit error: the
    artifacts are written again from a record that says so, so the verdict and exit code
    change with it, and scrubbed, before the manifest is made.
    """
    _write_artifacts(record, directory)
    leaks = leakscan.scan(directory, key) if key else []
    if leaks and key:
        names = ", ".join(sorted(leak.path.relative_to(directory).as_posix() for leak in leaks))
        record = record.with_kit_error(f"the API key was found in {names} and removed from it: "
                                       "a path that skipped redaction, report it as a kit bug")
        _write_artifacts(record, directory)
        leakscan.scrub(leakscan.scan(directory, key), key)
    write_manifest(record, directory)
    return record


def _write_artifacts(record: RunRecord, directory: Path) -> None:
    # the writers (Jinja2, jsonschema) load when a bundle is written, for start-up time: a run
    # prepares its directory before it sends anything, and its write goes before the checks load
    from conformance.report import har, html, junit, summary

    log = har.har(record.exchanges, comment=f"open311-conformance {record.subject} {record.run_id}")
    # compact: json's C encoder is skipped when indenting, and the HAR is megabytes of bodies
    (directory / HAR).write_text(json.dumps(log, ensure_ascii=False, separators=(",", ":")) + "\n",
                                 encoding="utf-8")
    (directory / EXCHANGES).write_text(html.exchanges_page(record), encoding="utf-8")
    (directory / HTML).write_text(html.report_page(record), encoding="utf-8")
    (directory / JUNIT).write_bytes(junit.junit(record))
    files = sorted({*bundle_files(directory), SUMMARY} - {MANIFEST})
    data = summary.build(record, files=files)
    (directory / SUMMARY).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
