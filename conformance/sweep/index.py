"""index.html of a sweep: one row per target with its verdict, linked to its report.

Rendered with the same Jinja2 environment and stylesheet as report.html (autoescaping on:
names, URLs and problems come from files and servers), readable without JavaScript.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance import __version__
from conformance.outcomes import Verdict
from conformance.report.html import _environment

if TYPE_CHECKING:
    from conformance.sweep.rows import Sweep


def index_page(sweep: Sweep) -> str:
    counts = [(verdict, n) for verdict, n in sweep.counts().items() if n]
    return _environment().get_template("sweep.html.j2").render(
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
