"""report.html and exchanges.html, rendered from the run's record with Jinja2 templates.

report.html is what a City reviewer reads: its first screen holds the verdict, the
pre-approval status, the application's name, the checklist and every failed check with its
message; below, the write flow and one line per check grouped by requirement. The bodies of
the exchanges live in exchanges.html (and whole in evidence.har), so the report stays
light and prints in a few pages. Autoescaping is on for every template: a value from the
target reaches markup only escaped.
"""

from __future__ import annotations

import hashlib
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from conformance import cachedir
from conformance.checklist import State
from conformance.outcomes import CheckResult, Level, Outcome, Verdict
from conformance.record import Mode, RunRecord, Subject
from conformance.report.evidence import BODY_SHOWN, body_text
from conformance.transport import Exchange

TEMPLATES = Path(__file__).with_name("templates")
EXCHANGES_PAGE = "exchanges.html"
ARTIFACTS = ("summary.json", "junit.xml", "evidence.har", EXCHANGES_PAGE, "manifest.json")
# of a failed check's message on the first screen: its headline and 20 lines under it (APP-EXIT
# quotes the last 20 lines of the application's stderr whole); the rest is linked
MESSAGE_LINES = 1 + 20
STATE_MARKS = {State.MET: "✔", State.NOT_MET: "✘", State.NOT_SHOWN: "–"}  # beside the state said in words
_OPEN = (Outcome.FAILED, Outcome.ERROR)


@cache
def environment() -> jinja2.Environment:
    # compiled templates kept in the kit's cache (Jinja2 checks each against its source):
    # compiling the pages anew took every run about 0.1 s of CPU (issue 21)
    compiled = cachedir.kept("jinja2")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled)) if compiled else None)
    env.globals["css"] = (TEMPLATES / "base.css").read_text(encoding="utf-8")
    return env


def anchor(check_id: str) -> str:
    """A check's anchor: readable, and unique through a hash of the whole id (slugs may collide)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", check_id).strip("-")[:80]
    return f"check-{slug}-{hashlib.sha1(check_id.encode('utf-8')).hexdigest()[:6]}"


def title(record: RunRecord) -> str:
    if record.subject is Subject.APPLICATION:
        who = record.app_name or "an application"
        return f"Open311 application grading: {who}"
    where = "embedded simulator (practice)" if record.practice else str(record.target.get("base_url", ""))
    return f"Open311 conformance report: {where}"


# --- report.html ----------------------------------------------------------------------------

@dataclass(slots=True, frozen=True)
class Capped:
    text: str
    left: int


@dataclass(slots=True, frozen=True)
class CheckRow:
    result: CheckResult
    first: bool  # the check's own row (a check judging several requirements is listed under each)
    on_flow: bool  # it cites the write flow's exchanges: the flow's section holds their story


@dataclass(slots=True, frozen=True)
class Group:
    id: str
    level: str
    statement: str
    source: str
    rows: list[CheckRow]


def report_page(record: RunRecord) -> str:
    anchors = {r.id: anchor(r.id) for r in record.results}
    failed = [r for r in record.results if r.outcome in _OPEN]
    # a grading's warnings are few and each is about the application: the first screen names them
    warned = [r for r in record.results if r.outcome is Outcome.WARNING] \
        if record.subject is Subject.APPLICATION else []
    return environment().get_template("report.html.j2").render(
        record=record, title=title(record), why=why(record), counts=list(record.counts.items()),
        anchors=anchors, failed=failed, warned=warned, capped={r.id: cap(r.message) for r in failed + warned},
        checklist_heading=("The application's checklist" if record.subject is Subject.APPLICATION
                           else "The City's pre-approval conditions, as this run showed them"),
        state_marks=STATE_MARKS, open_checks=_open_checks(record), groups=_groups(record),
        environment=_facts(record), artifacts=ARTIFACTS, exchanges_page=EXCHANGES_PAGE)


def cap(message: str, lines: int = MESSAGE_LINES) -> Capped:
    parts = message.splitlines()
    return Capped("\n".join(parts[:lines]), max(0, len(parts) - lines))


def why(record: RunRecord) -> str:
    failing = [r for r in record.results if r.outcome is Outcome.FAILED]
    if record.verdict is Verdict.FAIL:
        ids = record.broken(Level.MUST)
        subject = "application" if record.subject is Subject.APPLICATION else "target"
        return (f"The {subject} broke {len(ids)} MUST requirement{'s' if len(ids) != 1 else ''} "
                f"({', '.join(ids)}): {len(failing)} check{'s' if len(failing) != 1 else ''} failed.")
    if record.verdict is Verdict.PASS:
        return "Nothing failed and every required check decided: every MUST requirement checked was met."
    reasons = []
    if record.cut_short:
        reasons.append(record.cut_short)
        if failing:
            reasons.append(f"{len(failing)} check{'s' if len(failing) != 1 else ''} failed before that")
    if record.mode is Mode.NO_KEY:
        reasons.append("no API key was given, so writing and reading back were not tried")
    undecided = [r for r in record.results if r.outcome.undecided and r.level is Level.MUST]
    if undecided and not record.cut_short:
        reasons.append(f"{len(undecided)} required check{'s' if len(undecided) != 1 else ''} could not decide")
    if record.kit_errors:
        reasons.append(f"{len(record.kit_errors)} kit error{'s' if len(record.kit_errors) != 1 else ''}")
    if not record.results:
        reasons.append("no check ran")
    return "The run proves too little to pass: " + ("; ".join(reasons) or "nothing passed") + "."


def _open_checks(record: RunRecord) -> dict[str, list[CheckResult]]:
    by_id = {r.id: r for r in record.results}
    out: dict[str, list[CheckResult]] = {}
    for item in record.checklist:
        related = [by_id[c] for c in item.checks if c in by_id]
        bad = [r for r in related if r.outcome is Outcome.WARNING] if item.state is State.MET else [
            r for r in related if r.outcome in _OPEN] or [
            r for r in related if r.outcome in (Outcome.INCONCLUSIVE, Outcome.SKIPPED)]
        out[item.key] = bad[:2]
    return out


def _groups(record: RunRecord) -> list[Group]:
    registry = record.requirements
    grouped: dict[str, list[CheckResult]] = {}
    for r in record.results:
        for rid in r.requirement_ids or ["(none)"]:
            grouped.setdefault(rid, []).append(r)
    order = [rid for rid in registry if rid in grouped] + [rid for rid in grouped if rid not in registry]
    placed: set[str] = set()
    groups = []
    for rid in order:
        req = registry.get(rid)
        rows = []
        flow = set(record.write.exchanges) if record.write is not None else set()
        for r in grouped[rid]:
            rows.append(CheckRow(r, r.id not in placed, bool(flow.intersection(r.exchanges))))
            placed.add(r.id)
        level = str(req.level) if req else ""
        groups.append(Group(rid, level, req.statement if req else "", req.source if req else "", rows))
    return groups


def _facts(record: RunRecord) -> list[tuple[str, str]]:
    target = record.target
    digest = record.contract_digest
    facts = [("Target", f"{target.get('base_url')} ({record.target_kind})"), ("Profile", record.profile),
             ("Subject", str(record.subject)), ("Mode", str(record.mode))]
    if target.get("faults"):
        facts.append(("Simulator faults", ", ".join(target["faults"])))
    facts += [
        ("Kit", f"open311-conformance {record.kit_version} · Python {platform.python_version()}"),
        ("openapi.yaml sha256", str(digest["openapi.yaml"])),
        ("schemas/ sha256", f"{digest['schemas']} over {digest['schema_files']} files (each listed in manifest.json)"),
        ("API key", record.key_words),
        ("Run id", record.run_id), ("Started", record.started), ("Finished", record.finished),
    ]
    sent = f"{record.requests_sent}"
    if record.fuzzing:
        fuzz = record.fuzzing
        sent += (f" ({fuzz['requests_sent']} by the OpenAPI-driven fuzzing: seed {fuzz['seed']}, "
                 f"{fuzz['examples_per_operation']} examples per operation; reproduce with --seed {fuzz['seed']})")
    facts.append(("Requests", sent))
    if record.application:
        # the output tails are lists of lines: APP-EXIT quotes the stderr's when it matters, and
        # summary.json keeps both whole
        facts += [_application_fact(k, v) for k, v in record.application.items() if k not in ("tail", "stderr_tail")]
    return facts


def _application_fact(key: str, value: object) -> tuple[str, str]:
    """One fact of the application's run in words: ``stopped_by_wait False`` is "stopped by wait: no"."""
    name = key.removesuffix("_s")
    label = f"Application {name.replace('_', ' ')}"
    if value is None:
        return label, "none"
    if isinstance(value, bool):
        return label, "yes" if value else "no"
    if name != key and isinstance(value, int | float):
        return label, f"{value:g} s"
    return label, str(value)


# --- exchanges.html -------------------------------------------------------------------------

@dataclass(slots=True, frozen=True)
class Cited:
    anchor: str
    title: str


@dataclass(slots=True, frozen=True)
class ExchangeView:
    seq: int
    label: str | None
    method: str
    url: str
    status: str
    ms: str
    request: str
    response: str
    notes: list[str]
    cited: list[Cited]
    open: bool


def exchanges_page(record: RunRecord) -> str:
    cited: dict[int, list[Cited]] = {}
    opened: set[int] = set()
    for r in record.results:
        for seq in r.exchanges:
            cited.setdefault(seq, []).append(Cited(anchor(r.id), r.title))
            if r.outcome in _OPEN:
                opened.add(seq)
    views = [exchange_view(e, cited.get(e.seq, []), e.seq in opened) for e in record.exchanges]
    return environment().get_template("exchanges.html.j2").render(
        record=record, title=f"Exchanges of {title(record)}", exchanges=views, cap_kib=BODY_SHOWN // 1024)


def exchange_view(ex: Exchange, cited: Iterable[Cited] = (), opened: bool = False) -> ExchangeView:
    status = f"{ex.status} {ex.reason}".strip() if ex.status else "no answer"
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
    return ExchangeView(ex.seq, ex.label, ex.method, ex.url, status, f"{ex.elapsed_s * 1000:.0f}",
                        "\n".join(request), "\n".join(response), notes, list(cited), opened)
