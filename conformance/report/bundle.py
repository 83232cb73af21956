"""A run's bundle on disk: the names of its files, and reading its summary back.

``compare``, ``sweep`` and ``sweep collect`` read bundles written by other runs, perhaps by
another version of the kit; what they read is checked here before anything trusts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance import jsonfile
from conformance.errors import UsageError

SUMMARY = "summary.json"
HAR = "evidence.har"
HTML = "report.html"
EXCHANGES = "exchanges.html"
JUNIT = "junit.xml"


def load_summary(location: Path) -> dict[str, Any]:
    """summary.json of a report directory (or the file itself); UsageError when it is not one."""
    path = location / SUMMARY if location.is_dir() else location
    if not location.exists():
        raise UsageError(f"{location}: no such directory")
    if not path.is_file():
        raise UsageError(f"{location}: not a report directory (no {SUMMARY})")
    data = jsonfile.read(path)
    checks = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(checks, list) or not all(
            isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("outcome"), str)
            for c in checks):
        raise UsageError(f"{path}: not a conformance summary (no checks with id and outcome)")
    return data
