"""The static HTML of report.html: verdict, checklist, environment, evidence by requirement.

pytest-html 4 renders its results table with JavaScript from a JSON blob; what a reviewer
must see (the verdict, the City's conditions, the requests and answers behind them) is
rendered here as plain markup instead, so it shows without scripts and prints. Every value
that came from the target, or from a message about it, goes through ``_e`` (html.escape)
after redaction; nothing is formatted into markup raw.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from conformance import requirements
from conformance.outcomes import CheckResult
from conformance.report.checklist import ChecklistItem
from conformance.report.evidence import (
    BODY_SHOWN,
    WRITE_FLOW_REQUIREMENTS,
    WriteEvidence,
    body_text,
)
from conformance.transport import Exchange

START, END = "<!-- open311:verdict:start -->", "<!-- open311:verdict:end -->"
_STATE_MARK = {"met": "✔ met", "not met": "✘ NOT MET", "not shown": "– not shown"}
_VERDICT_TEXT = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}
_FAILING = ("failed", "error")


@dataclass(slots=True)
class View:
    """Everything the static part of the report shows, gathered once."""

    verdict: str
    results: list[CheckResult]
    checklist: list[ChecklistItem]
    exchanges: dict[int, Exchange]
    write: WriteEvidence | None
    environment: list[tuple[str, str]]
    kit_errors: list[str] = field(default_factory=list)
    redact: Callable[[Any], Any] = lambda value: value
    anchors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.anchors.update((r.id, anchor(r.id)) for r in self.results if r.id not in self.anchors)

    def text(self, value: Any) -> str:
        """Escaped, redacted text: the only way a value reaches markup."""
        return escape(str(self.redact("" if value is None else value)), quote=True)


_e = escape


def anchor(check_id: str) -> str:
    """A check's anchor: readable, and unique through a hash of the whole id (slugs may collide)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", check_id).strip("-")[:80]
    return f"check-{slug}-{hashlib.sha1(check_id.encode('utf-8')).hexdigest()[:6]}"


# --- the first screen -----------------------------------------------------------------------

def verdict_block(view: View) -> str:
    """Verdict, checklist and environment, between markers so the runner's final verdict can
    replace the block (see ``conformance.report.html.finalize``)."""
    verdict = view.verdict
    failing = [r for r in view.results if r.outcome in _FAILING]
    undecided = [r for r in view.results if r.outcome in ("inconclusive", "error") and r.level == "MUST"]
    parts = [START, f'<style>{CSS}</style>',
             f'<section id="open311-verdict" class="o3 o3-verdict o3-v-{_e(verdict)}">',
             f'<h2 class="o3-verdict-line">Verdict: '
             f'<span class="o3-v">{_VERDICT_TEXT.get(verdict, _e(verdict))}</span></h2>',
             f"<p class=\"o3-why\">{_why(view, failing, undecided)}{_conditions_note(view)}</p>",
             f'<p class="o3-counts">{_counts(view.results)}</p>',
             "<h3>The City's pre-approval conditions</h3>",
             '<table class="o3-checklist"><thead><tr><th>Condition</th><th>State</th><th>Evidence</th></tr>'
             "</thead><tbody>"]
    for item in view.checklist:
        parts.append(f'<tr class="o3-s-{_e(item.state.replace(" ", "-"))}"><td>{_e(item.title)}</td>'
                     f'<td class="o3-state">{_STATE_MARK.get(item.state, _e(item.state))}</td>'
                     f"<td>{_condition_links(view, item)}</td></tr>")
    parts.append("</tbody></table>")
    if failing:
        parts.append(f"<h3>Failed checks ({len(failing)})</h3><ul class=\"o3-failed-list\">")
        for r in failing:
            first = (r.message or "").splitlines()[0] if r.message else ""
            parts.append(f'<li><a href="#{view.anchors[r.id]}">{_e(" ".join(r.requirement_ids))}: '
                         f"{view.text(r.title)}</a> <span class=\"o3-msg\">{view.text(first)}</span></li>")
        parts.append("</ul>")
    if view.kit_errors:
        parts.append("<h3>Kit errors</h3><ul>")
        parts += [f"<li><pre>{view.text(e)}</pre></li>" for e in view.kit_errors]
        parts.append("</ul>")
    parts.append('<h3 id="o3-environment">Environment</h3><table class="o3-env"><tbody>')
    parts += [f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in view.environment]
    parts.append("</tbody></table></section>")
    parts.append(END)
    return "\n".join(parts)


def _why(view: View, failing: list[CheckResult], undecided: list[CheckResult]) -> str:
    if view.verdict == "fail":
        ids = sorted({i for r in failing for i in r.requirement_ids})
        return (f"The target broke {len(ids)} MUST requirement{'s' if len(ids) != 1 else ''} "
                f"({_e(', '.join(ids))}): {len(failing)} check{'s' if len(failing) != 1 else ''} failed.")
    if view.verdict == "pass":
        return "Nothing failed and every required check decided: the target met every MUST requirement checked."
    reasons = []
    if undecided:
        reasons.append(f"{len(undecided)} required check{'s' if len(undecided) != 1 else ''} could not decide")
    if view.kit_errors:
        reasons.append(f"{len(view.kit_errors)} kit error{'s' if len(view.kit_errors) != 1 else ''}")
    if not view.results:
        reasons.append("no check ran")
    return "Nothing failed, but the run proves too little: " + (", ".join(reasons) or "nothing passed") + "."


def _conditions_note(view: View) -> str:
    # the verdict judges the API; pre-approval needs all six conditions shown as well
    open_items = [i for i in view.checklist if i.state != "met"]
    if not view.checklist:
        return ""
    if not open_items:
        return " <b>All six of the City's pre-approval conditions are met.</b>"
    note = f" <b>{len(open_items)} of the City's six pre-approval conditions {'is' if len(open_items) == 1 else 'are'}"
    note += " not met or not shown by this run"
    if view.write is not None and view.write.state != "written" and view.write.note:
        note += f" (writing: {view.text(view.write.state)}, {view.text(view.write.note)})"
    return note + ".</b>"


def _counts(results: Iterable[CheckResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return " · ".join(f'<span class="o3-o o3-o-{_e(k)}">{n} {_e(k)}</span>' for k, n in counts.items())


def _condition_links(view: View, item: ChecklistItem) -> str:
    by_id = {r.id: r for r in view.results}
    related = [by_id[c] for c in item.checks if c in by_id]
    # a met condition needs no pointers; an open one points at what kept it open
    bad = [] if item.state == "met" else [r for r in related if r.outcome in _FAILING] or [
        r for r in related if r.outcome in ("inconclusive", "skipped")]
    links = [f'<a href="#cond-{_e(item.key)}">{len(related)} check{"s" if len(related) != 1 else ""}</a>']
    if item.key in ("write", "readback") and view.write is not None:
        links.append('<a href="#write-flow">write flow and token polls</a>')
    links += [f'<a class="o3-o-{_e(r.outcome)}" href="#{view.anchors[r.id]}">{_e(r.outcome)}: '
              f"{view.text(r.title)}</a>" for r in bad[:2]]
    return " · ".join(links)


# --- evidence -------------------------------------------------------------------------------

def results_block(view: View) -> str:
    registry = requirements.load()
    parts = ['<section id="open311-results" class="o3">', "<h2>Evidence for each condition</h2>"]
    by_id = {r.id: r for r in view.results}
    for item in view.checklist:
        parts.append(f'<div class="o3-cond" id="cond-{_e(item.key)}"><h3>{_e(item.title)}: '
                     f'<span class="o3-state">{_STATE_MARK.get(item.state, _e(item.state))}</span></h3>')
        rows = [by_id[c] for c in item.checks if c in by_id]
        parts.append(_check_list(view, rows) if rows else "<p>No check of this run supports it.</p>")
        parts.append("</div>")
    if view.write is not None:
        parts.append(write_flow_section(view))
    parts.append("<h2>Results by requirement</h2>")
    placed: set[str] = set()
    shown: set[int] = set(view.write.exchanges) if view.write is not None else set()
    grouped: dict[str, list[CheckResult]] = {}
    for r in view.results:
        for rid in r.requirement_ids or ["(none)"]:
            grouped.setdefault(rid, []).append(r)
    order = [rid for rid in registry if rid in grouped] + [rid for rid in grouped if rid not in registry]
    for rid in order:
        req = registry.get(rid)
        head = (f"{_e(rid)} <span class=\"o3-level\">{_e(req.level)}</span> {_e(req.statement)} "
                f"<span class=\"o3-source\">({_e(req.source)})</span>") if req else _e(rid)
        parts.append(f'<div class="o3-req" id="req-{_e(rid)}"><h3>{head}</h3>')
        for r in grouped[rid]:
            if r.id in placed:
                parts.append(f'<p class="o3-see">See <a href="#{view.anchors[r.id]}">{view.text(r.title)}</a> '
                             "(judged together with another requirement).</p>")
                continue
            placed.add(r.id)
            parts.append(check_article(view, r, shown))
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _check_list(view: View, rows: list[CheckResult]) -> str:
    items = [f'<li><span class="o3-o o3-o-{_e(r.outcome)}">{_e(r.outcome)}</span> '
             f'<a href="#{view.anchors[r.id]}">{view.text(r.title)}</a> '
             f'<span class="o3-rids">{_e(" ".join(r.requirement_ids))}</span></li>' for r in rows]
    return '<ul class="o3-checks">' + "".join(items) + "</ul>"


def check_article(view: View, result: CheckResult, shown: set[int]) -> str:
    """A check with its evidence. An exchange is shown whole the first time (anchor ex-N) and
    linked to after that, unless the check did not pass: those show all their evidence."""
    anchor = view.anchors[result.id]
    parts = [f'<article class="o3-check o3-c-{_e(result.outcome)}" id="{anchor}">',
             f'<h4><span class="o3-o o3-o-{_e(result.outcome)}">{_e(result.outcome.upper())}</span> '
             f'{view.text(result.title)} <span class="o3-level">{_e(result.level)}</span></h4>',
             f'<p class="o3-nodeid"><code>{view.text(result.id)}</code> · {result.duration_s:.3f} s</p>']
    if result.message:
        parts.append(f'<pre class="o3-message">{view.text(result.message)}</pre>')
    flow = view.write is not None and WRITE_FLOW_REQUIREMENTS.intersection(result.requirement_ids)
    if flow:
        parts.append('<p>Judged on the <a href="#write-flow">write flow</a>:</p>')
        parts.append(timeline(view, view.write))
        parts.append(_exchange_links(view, view.write.exchanges))
    own = [s for s in result.exchanges if s in view.exchanges]
    if own:
        parts.append(f'<p class="o3-ex-head">{len(own)} exchange{"s" if len(own) != 1 else ""}:</p>')
        opened = result.outcome not in ("passed", "skipped")
        for s in own:
            if s not in shown:
                parts.append(exchange_html(view, view.exchanges[s], f"ex-{s}", opened))
                shown.add(s)
            elif opened:
                parts.append(exchange_html(view, view.exchanges[s], f"{anchor}-ex-{s}", opened))
            else:
                parts.append(_exchange_links(view, [s], "shown earlier"))
    elif not flow:
        parts.append('<p class="o3-none">No HTTP exchange: judged on what earlier answers recorded.</p>')
    parts.append("</article>")
    return "\n".join(parts)


def write_flow_section(view: View) -> str:
    write = view.write
    assert write is not None
    rows = [("State", view.text(write.state) + (f" — {view.text(write.note)}" if write.note else "")),
            ("Service", view.text(write.service_code or "–")),
            ("Token", view.text(write.token or "–")),
            ("service_request_id", view.text(write.service_request_id or "–")),
            ("Resolved after", "–" if write.resolution_s is None else f"{write.resolution_s:.3f} s"
             + (" (the POST answered the id at once)" if write.immediate_id else "")),
            ("Polled for", "–" if write.waited_s is None else f"{write.waited_s:.3f} s"
             + (f" — {view.text(write.poll_error)}" if write.poll_error else ""))]
    parts = ['<div class="o3-flow" id="write-flow"><h2>Write, token polling and read-back</h2>',
             '<table class="o3-env"><tbody>']
    parts += [f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows]
    parts.append("</tbody></table>")
    parts.append("<h3>Token poll timeline</h3>" + timeline(view, write))
    parts.append("<h3>Exchanges of the write flow</h3>")
    parts += [exchange_html(view, view.exchanges[s], f"ex-{s}", False) for s in write.exchanges
              if s in view.exchanges]
    parts.append("</div>")
    return "\n".join(parts)


def timeline(view: View, write: WriteEvidence) -> str:
    if not write.polls:
        return '<p class="o3-none">No token poll.</p>'
    rows = []
    for p in write.polls:
        answer = f"service_request_id {view.text(p.service_request_id)}" if p.service_request_id else \
            view.text(p.note or "pending (no id yet)")
        link = f'<a href="#ex-{p.exchange}">#{p.exchange}</a>' if p.exchange is not None else "–"
        rows.append(f"<tr><td>{p.attempt}</td><td>{p.at_s:.3f} s</td><td>{_e(str(p.status or '–'))}</td>"
                    f"<td>{answer}</td><td>{link}</td></tr>")
    return ('<table class="o3-timeline"><thead><tr><th>Attempt</th><th>At</th><th>HTTP</th>'
            "<th>Answer</th><th>Exchange</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _exchange_links(view: View, seqs: list[int], note: str = "") -> str:
    suffix = f' <span class="o3-ms">({_e(note)})</span>' if note else ""
    links = [f'<a href="#ex-{s}">#{s} {_e(view.exchanges[s].method)} {view.text(_path(view.exchanges[s].url))}'
             f" → {_e(str(view.exchanges[s].status or 'no answer'))}</a>{suffix}" for s in seqs
             if s in view.exchanges]
    return '<ul class="o3-exlinks">' + "".join(f"<li>{link}</li>" for link in links) + "</ul>"


def exchange_html(view: View, ex: Exchange, anchor: str, opened: bool) -> str:
    status = f"{ex.status} {ex.reason}" if ex.status else "no answer"
    label = f'<span class="o3-label">{view.text(ex.label)}</span> ' if ex.label else ""
    summary = (f'<span class="o3-seq">#{ex.seq}</span> {label}<code>{_e(ex.method)} {view.text(ex.url)}</code>'
               f' → <b>{view.text(status)}</b> <span class="o3-ms">{ex.elapsed_s * 1000:.0f} ms</span>')
    request = [f"{ex.method} {ex.url}"] + [f"{k}: {v}" for k, v in ex.request_headers.items()]
    if ex.request_body is not None:
        request += ["", ex.request_body]
    response = [f"HTTP {status}"] + [f"{k}: {v}" for k, v in ex.response_headers.items()]
    text, is_text, left = body_text(ex.response_body or b"", BODY_SHOWN)
    notes = []
    if ex.response_body and not is_text:
        response += ["", f"({len(ex.response_body)} bytes, not UTF-8 text: see evidence.har)"]
    elif ex.response_body:
        response += ["", text]
    if left:
        notes.append(f"{left} more bytes not shown; evidence.har holds the whole body")
    if ex.truncated:
        notes.append("the transport stopped reading this body (size or time cap)")
    if ex.error:
        notes.append(f"error: {ex.error}")
    note = "".join(f'<p class="o3-note">{view.text(n)}</p>' for n in notes)
    return (f'<details class="o3-ex" id="{_e(anchor)}"{" open" if opened else ""}><summary>{summary}</summary>'
            f'<div class="o3-ex-body"><pre class="o3-req-text">{view.text(chr(10).join(request))}</pre>'
            f'<pre class="o3-res-text">{view.text(chr(10).join(response))}</pre>{note}</div></details>')


def _path(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[-1]


def check_extra(view: View, result: CheckResult) -> str:
    """The small HTML pytest-html shows under a row of its table: pointers into the static part."""
    parts = [f'<div class="o3 o3-extra"><p>Outcome <b>{_e(result.outcome)}</b> · level {_e(result.level)} · '
             f'{_e(" ".join(result.requirement_ids))} · <a href="#{view.anchors[result.id]}">evidence</a></p>']
    if result.message:
        parts.append(f"<pre>{view.text(result.message)}</pre>")
    seqs = list(result.exchanges)
    if view.write is not None and WRITE_FLOW_REQUIREMENTS.intersection(result.requirement_ids):
        seqs += [s for s in view.write.exchanges if s not in seqs]
    if seqs:
        parts.append(_exchange_links(view, seqs))
    parts.append("</div>")
    return "".join(parts)


CSS = """
#environment-header, #environment { display: none; }
.o3, .o3 h2, .o3 h3, .o3 h4, .o3 p, .o3 td, .o3 th, .o3 li { color: #1f2328; }
.o3 { font-family: Helvetica, Arial, sans-serif; font-size: 14px; overflow-wrap: anywhere; }
.o3-verdict { border: 3px solid #888; padding: 8px 16px; margin: 8px 0 16px; }
.o3-v-pass { border-color: #1a7f37; } .o3-v-fail { border-color: #cf222e; }
.o3-v-inconclusive { border-color: #9a6700; }
.o3-verdict-line { font-size: 26px; margin: 4px 0; }
.o3-v-pass .o3-v { color: #1a7f37; } .o3-v-fail .o3-v { color: #cf222e; } .o3-v-inconclusive .o3-v { color: #9a6700; }
.o3 table { border-collapse: collapse; margin: 4px 0 12px; }
.o3 th, .o3 td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
.o3-state { white-space: nowrap; font-weight: bold; }
.o3-s-met .o3-state { color: #1a7f37; } .o3-s-not-met .o3-state { color: #cf222e; }
.o3-s-not-shown .o3-state { color: #9a6700; }
.o3 a { color: #0969da; }
.o3-o { font-weight: bold; font-size: 12px; }
.o3-o-passed { color: #1a7f37; } .o3-o-failed, .o3-o-error { color: #cf222e; }
.o3-o-warning { color: #bc4c00; } .o3-o-skipped { color: #57606a; } .o3-o-inconclusive { color: #8250df; }
.o3-check { border-left: 4px solid #ccc; padding: 2px 10px; margin: 10px 0; }
.o3-c-passed { border-color: #1a7f37; } .o3-c-failed, .o3-c-error { border-color: #cf222e; }
.o3-c-warning { border-color: #bc4c00; } .o3-c-inconclusive { border-color: #8250df; }
.o3-check h4 { margin: 6px 0 2px; } .o3-nodeid { color: #57606a; margin: 0 0 4px; font-size: 12px; }
.o3-level { font-size: 11px; border: 1px solid #999; padding: 0 4px; }
.o3-source, .o3-rids, .o3-ms { color: #57606a; font-size: 12px; }
.o3 pre { white-space: pre-wrap; word-break: break-all; background: #f6f8fa; padding: 6px; margin: 4px 0;
  max-height: 40em; overflow: auto; font-size: 12px; }
.o3-message { border-left: 3px solid #cf222e; }
.o3-ex summary { cursor: pointer; font-size: 12px; } .o3-ex-body { margin-left: 16px; }
.o3-note { color: #9a6700; font-size: 12px; margin: 0; }
@media print {
  .controls, p.filter, .summary__reload, #results-table, .run-count { display: none; }
  .o3-verdict { break-inside: avoid; } .o3 pre { max-height: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""
