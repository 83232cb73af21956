"""A sweep's own files: sweep.json, and index.html (one row per target with its verdict,
linked to its report).

Rendered with the same Jinja2 environment and stylesheet as report.html (autoescaping on:
names, URLs and problems come from files and servers), readable without JavaScript.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from conformance import __version__, leakscan
from conformance.outcomes import Verdict
from conformance.report.html import environment
from conformance.sweep import rows
from conformance.sweep.rows import Sweep


def index_page(sweep: Sweep) -> str:
    counts = [(verdict, n) for verdict, n in sweep.counts().items() if n]
    return environment().get_template("sweep.html.j2").render(
        sweep=sweep, title=f"Open311 conformance sweep: {len(sweep.rows)} targets", why=why(sweep),
        counts=counts, kit_version=__version__)


def why(sweep: Sweep) -> str:
    named = lambda verdict: ", ".join(r.name for r in sweep.rows if r.verdict is verdict)  # noqa: E731
    if sweep.verdict is Verdict.FAIL:
        return f"A target broke a MUST requirement: {named(Verdict.FAIL)}."
    if sweep.verdict is Verdict.PASS:
        return "Every target passed."
    if sweep.kit_errors and not named(Verdict.INCONCLUSIVE):
        return "Every target passed, but the sweep had a kit error."
    return f"Nothing failed, but some targets proved too little to pass: {named(Verdict.INCONCLUSIVE)}."


def write(sweep: Sweep, directory: Path, keys: Iterable[str] = ()) -> Sweep:
    """Write sweep.json and index.html, then scan the whole folder for every key the sweep held.

    The runs redact their own artifacts; a hit here (a console log, a crash's traceback) is
    scrubbed and becomes a kit error of the sweep, and the two files are written again.
    """
    _write_files(sweep, directory)
    leaked: list[str] = []
    for key in keys:
        leaks = leakscan.scan(directory, key)
        leakscan.scrub(leaks, key)
        leaked += [leak.path.relative_to(directory).as_posix() for leak in leaks]
    if leaked:
        sweep.kit_errors.append(f"an API key was found in {', '.join(sorted(set(leaked)))} and removed from it: "
                                "a path that skipped redaction, report it as a kit bug")
        _write_files(sweep, directory)
    return sweep


def _write_files(sweep: Sweep, directory: Path) -> None:
    data = sweep.as_dict()
    (directory / rows.SWEEP).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (directory / rows.INDEX).write_text(index_page(sweep), encoding="utf-8")
