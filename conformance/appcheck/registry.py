"""The registry of application checks: ``@check`` registers a judge, :func:`judge_all` runs them.

``@check("APP-...", title=...)`` registers a judge for its requirement ids (as schemathesis
registers its checks). A judge takes the :class:`Recording` and the grading's :class:`Facts`
and returns a :class:`Ruling`: met, not met, not shown (the application never did what the
requirement is about: inconclusive, never passed) or not applicable (the application does not
use the feature, e.g. sends no dates: skipped). :func:`judge_all` turns them into the kit's
:class:`~conformance.outcomes.CheckResult`. The judges themselves are in ``judges.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance import requirements
from conformance.appcheck import flows
from conformance.appcheck.flows import TokenFlow
from conformance.appcheck.leaks import Leak, Needle
from conformance.appcheck.recording import Kind, Seen
from conformance.checklist import State
from conformance.outcomes import CheckResult, Level, Outcome


@dataclass(slots=True, frozen=True)
class Ruling:
    state: State
    message: str
    seqs: tuple[int, ...] = ()
    # not met, but what shows it could be chance: a warning whatever the requirement's level
    doubtful: bool = False


def met(message: str, seqs: tuple[int, ...] = ()) -> Ruling:
    return Ruling(State.MET, message, seqs)


def not_met(message: str, seqs: tuple[int, ...] = ()) -> Ruling:
    return Ruling(State.NOT_MET, message, seqs)


def doubtful(message: str, seqs: tuple[int, ...] = ()) -> Ruling:
    """Probably not met: the recording fits a known mistake but could be chance (a warning)."""
    return Ruling(State.NOT_MET, message, seqs, doubtful=True)


def not_shown(message: str, seqs: tuple[int, ...] = ()) -> Ruling:
    return Ruling(State.NOT_SHOWN, message, seqs)


def not_applicable(message: str) -> Ruling:
    return Ruling(State.NOT_APPLICABLE, message)


@dataclass(slots=True, frozen=True)
class Output:
    """What was read of the application besides its requests: where the kit looked (``places``:
    stdout, stderr, --app-output files), what it found there, and whether the rows without an
    id carried markers to look for (not through --proxy)."""

    leaks: tuple[Leak, ...] = ()
    places: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # --app-output paths that held nothing
    marked: bool = False

    def found(self, needle: Needle) -> list[Leak]:
        return [leak for leak in self.leaks if leak.needle is needle]

    def described(self) -> str:
        if not self.places:
            return "nothing of the application's output was read"
        shown = ", ".join(self.places[:4]) + (f" and {len(self.places) - 4} more" if len(self.places) > 4 else "")
        return f"searched {shown}"


@dataclass(slots=True, frozen=True)
class Facts:
    """What the judges know besides the recording. ``api_key`` stays in memory only."""

    api_key: str
    formats: tuple[str, ...]
    services: Mapping[str, Mapping[str, Any]]
    definitions: Mapping[str, Mapping[str, Any]]
    command: bool = False  # the kit ran the application (-- COMMAND)
    exit_code: int | None = None
    stopped_by_wait: bool = False
    # the application's run is over (it exited, or a hand-run app was declared done): what it
    # never did, it will not do; False in a developer's test, which may go on
    finished: bool = False
    read_only: bool = False  # --read-only: an application that never writes
    app_tz: str | None = None  # the zone the application ran in (TZ), None: not known
    patience_s: float | None = None  # the grading held the first id this long; None: not tested
    stderr_tail: tuple[str, ...] = ()  # the last lines of its stderr, key redacted
    output: Output = field(default_factory=Output)


class Recording:
    """The recorded exchanges with the write flows followed once."""

    def __init__(self, seen: list[Seen]) -> None:
        self.seen = seen
        self.flows: list[TokenFlow] = flows.token_flows(seen)

    def of(self, *kinds: Kind) -> list[Seen]:
        return [s for s in self.seen if s.kind in kinds]

    @property
    def posts(self) -> list[Seen]:
        return self.of(Kind.POST)

    @property
    def gets(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "GET"]


Judge = Callable[[Recording, Facts], Ruling]


@dataclass(slots=True, frozen=True)
class AppCheck:
    name: str
    requirement_ids: tuple[str, ...]
    title: str
    judge: Judge = field(repr=False)
    writes: bool = False  # judges the application's writes: not applicable to one graded --read-only that wrote nothing


CHECKS: dict[str, AppCheck] = {}


READ_ONLY = "read-only application (--read-only): it writes nothing"


def check(*requirement_ids: str, title: str, writes: bool = False) -> Callable[[Judge], Judge]:
    """Register a judge for ``requirement_ids`` (which must be APP- ids of the registry);
    ``writes``: it judges the application's writes, so it does not apply to an application
    graded --read-only that sent no POST."""
    registry = requirements.load()
    unknown = [i for i in requirement_ids if i not in registry or registry[i].subject != "application"]
    if unknown or not requirement_ids:
        raise ValueError(f"application checks judge APP- requirements of the registry, not {unknown}")

    def register(judge: Judge) -> Judge:
        name = judge.__name__
        if name in CHECKS:
            raise ValueError(f"application check {name} registered twice")
        CHECKS[name] = AppCheck(name, requirement_ids, title, judge, writes)
        return judge

    return register


def judge_all(recording: list[Seen], facts: Facts) -> list[CheckResult]:
    registry = requirements.load()
    seen = Recording(recording)
    results = []
    for name, app_check in CHECKS.items():
        level = min((registry[i].level for i in app_check.requirement_ids), key=lambda lv: lv.rank)
        started = time.perf_counter()
        try:
            if app_check.writes and facts.read_only and not seen.posts:
                judgement = not_applicable(READ_ONLY)
            else:
                judgement = app_check.judge(seen, facts)
        except Exception as exc:  # a bug in a judge: the kit's error, not the application's
            judgement, outcome = not_shown(f"the check broke: {type(exc).__name__}: {exc}"), Outcome.ERROR
        else:
            outcome = Outcome.WARNING if judgement.doubtful else _outcome(judgement.state, level)
        message = judgement.message if judgement.state is not State.NOT_SHOWN else f"not shown: {judgement.message}"
        results.append(CheckResult(
            id=f"app::{name}", title=app_check.title, requirement_ids=list(app_check.requirement_ids),
            outcome=outcome, duration_s=time.perf_counter() - started, message=message,
            source="application", level=level, exchanges=sorted(set(judgement.seqs)),
            details={"state": judgement.state.value},
            broken=list(app_check.requirement_ids) if outcome in (Outcome.FAILED, Outcome.WARNING) else []))
    return results


def _outcome(state: State, level: Level) -> Outcome:
    if state is State.NOT_MET:
        return Outcome.FAILED if level is Level.MUST else Outcome.WARNING
    return {State.MET: Outcome.PASSED, State.NOT_SHOWN: Outcome.INCONCLUSIVE,
            State.NOT_APPLICABLE: Outcome.SKIPPED}[state]
