"""report.html: pytest-html 4, with the conformance view added through its hooks.

pytest-html writes the file in its ``pytest_sessionfinish`` and calls
``pytest_html_results_summary`` right before rendering. By then every check's report has
been made, so ``context.results`` is complete: the verdict, the checklist and the evidence
are computed there and go into the *static* summary slots of the template (prefix and
postfix), which the browser shows without running the report's script. The table rows
get our outcome, level and requirement ids as columns, and a pointer to the evidence.

The runner decides the verdict once more after pytest returns (a kit error noticed then
can change it); :func:`finalize` swaps the verdict block, which sits between two
comment markers no escaped server text can forge, for the runner's final one, so the
report, summary.json and the exit code never disagree.
"""

from __future__ import annotations

import platform
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance import __version__, outcomes
from conformance.report import render
from conformance.report.checklist import checklist
from conformance.report.evidence import WRITE_FLOW_REQUIREMENTS, contract_digest, fuzzing_facts, write_evidence
from conformance.timestamps import iso_utc

if TYPE_CHECKING:
    from conformance.context import RunContext
    from conformance.runner import RunResult

TITLE = "Open311 conformance report"
ARTIFACTS = ("summary.json", "junit.xml", "evidence.har", "manifest.json")


def build_view(context: RunContext, verdict: str, started: str | None, finished: str | None) -> render.View:
    results = list(context.results.values())
    write = write_evidence(context, results)
    target = context.target
    contract = contract_digest()
    redact = context.transport.redact
    fingerprint = context.transport.key_fingerprint
    fuzz = fuzzing_facts(context)
    env: list[tuple[str, str]] = [
        ("Target", f"{escape(str(redact(target.base_url)))} ({escape(target.kind)})"),
        ("Profile", escape(target.profile.name)),
    ]
    if target.faults:
        env.append(("Simulator faults", escape(", ".join(target.faults))))
    env += [
        ("Kit", f"open311-conformance {escape(__version__)} · Python {platform.python_version()}"),
        ("openapi.yaml sha256", f"<code>{escape(str(contract['openapi.yaml']))}</code>"),
        ("schemas/ sha256", f"<code>{contract['schemas']}</code> over {contract['schema_files']} files "
                            "(each listed in manifest.json)"),
        ("API key fingerprint", escape(fingerprint) if fingerprint else "no key given"),
        ("Run id", escape(context.run_id)),
        ("Started", escape(started or "–")),
        ("Finished", escape(finished or "–")),
        ("Requests sent", f"{context.transport.requests_sent} ({fuzz['requests_sent']} by the OpenAPI-driven "
                          f"fuzzing: seed {fuzz['seed']}, {fuzz['examples_per_operation']} examples per operation; "
                          f"reproduce with --seed {fuzz['seed']})"),
        ("Artifacts", " · ".join(f'<a href="{a}">{a}</a>' for a in ARTIFACTS)),
    ]
    return render.View(verdict, results, checklist(results, context.profile),
                       {e.seq: e for e in context.transport.exchanges}, write, env, list(context.kit_errors), redact)


def provisional_verdict(context: RunContext) -> str:
    """The runner's rule, applied to what pytest has recorded so far."""
    return outcomes.run_verdict(context.results.values(), context.kit_errors)


class HtmlReport:
    """pytest-html hooks of one run; registered by the runner next to ``RunPlugin``."""

    def __init__(self, context: RunContext, started: str | None = None) -> None:
        self.context = context
        self.started = started
        self._view: render.View | None = None

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"{TITLE}: {self.context.target.base_url or 'embedded simulator'}"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[0] = '<th class="sortable" data-column-type="result">pytest</th>'
        cells[1:1] = ['<th class="sortable" data-column-type="outcome">Outcome</th>',
                      '<th class="sortable" data-column-type="level">Level</th>',
                      '<th class="sortable" data-column-type="requirements">Requirements</th>']

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        result = self.context.results.get(getattr(report, "nodeid", ""))
        outcome, level, ids = (result.outcome, result.level, " ".join(result.requirement_ids)) if result \
            else ("", "", "")
        cells[1:1] = [f'<td class="col-outcome">{escape(outcome)}</td>',
                      f'<td class="col-level">{escape(level)}</td>',
                      f'<td class="col-requirements">{escape(ids)}</td>']

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # runs before pytest-html's own logreport (trylast), which processes the extras
        decided = report.when == "call" or (report.when == "setup" and not report.passed)
        result = self.context.results.get(report.nodeid)
        if not decided or result is None:
            return
        from pytest_html import extras

        view = render.View(result.outcome, [result], [], {e.seq: e for e in self.context.transport.exchanges},
                           None, [], redact=self.context.transport.redact)
        if self.context.write_flow.done and WRITE_FLOW_REQUIREMENTS.intersection(result.requirement_ids):
            view.write = write_evidence(self.context, self.context.results.values())
        report.extras = [*getattr(report, "extras", []), extras.html(render.check_extra(view, result))]

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        finished = iso_utc()
        self._view = build_view(self.context, provisional_verdict(self.context), self.started, finished)
        prefix.append(render.verdict_block(self._view))
        postfix.append(render.results_block(self._view))


def finalize(path: Path, result: RunResult, context: RunContext) -> None:
    """Make report.html show the runner's final verdict; write a plain one if pytest-html did not."""
    view = build_view(context, result.verdict, result.started, result.finished)
    view.kit_errors = list(result.kit_errors)
    block = render.verdict_block(view)
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if text.count(render.START) == 1 and text.count(render.END) == 1:
            head, rest = text.split(render.START, 1)
            _, tail = rest.split(render.END, 1)
            path.write_text(head + block + tail, encoding="utf-8")
            return
    # pytest stopped before pytest-html wrote (a usage error): the static part alone still says it
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"/><title>{TITLE}</title></head><body>'
            f"<h1>{TITLE}</h1>{block}{render.results_block(view)}</body></html>")
    path.write_text(page, encoding="utf-8")
