"""Check outcomes, requirement levels and the run's verdict.

A check ends in one of six outcomes: passed, failed (a MUST violated), warning (a SHOULD
violated, or a documented Chicago deviation), skipped (a precondition was not met; always
with the reason), inconclusive (the target did not answer in time or at all, or the run was
cut short), error (a bug in the kit). The verdict is ``fail`` when any check failed, ``pass``
when nothing failed and no required check was inconclusive or broke, ``inconclusive``
otherwise.

The enums are ``StrEnum``s: their values are what summary.json, JUnit and the console say,
and a value read back from JSON compares equal to its member.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.errors import ExitCode


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"

    @property
    def undecided(self) -> bool:
        return self in (Outcome.INCONCLUSIVE, Outcome.ERROR)


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.MUST: 0, Level.SHOULD: 1, Level.MAY: 2}


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self]


OUTCOMES = tuple(Outcome)
EXIT_CODES = {Verdict.PASS: ExitCode.OK, Verdict.FAIL: ExitCode.FAIL, Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE}


class CheckFailed(AssertionError):
    """The target broke a requirement the check is about.

    ``requirements`` names the ones broken when the check judges several and the failure
    broke only some of them; empty means every requirement of the check.
    """

    def __init__(self, message: str = "", *, requirements: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.requirements = tuple(dict.fromkeys(requirements))


class Inconclusive(Exception):
    """The check could not decide (no answer, or the data it needs is not there)."""


@dataclass(slots=True, frozen=True)
class CheckResult:
    id: str
    title: str
    requirement_ids: list[str]
    outcome: Outcome
    duration_s: float
    message: str
    source: str = "scenario"
    level: Level = Level.MUST
    exchanges: list[int] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # the requirements a failed or warned check broke (a subset of requirement_ids); the
    # verdict, the checklist and every artifact blame these, never the rest of the check's ids
    broken: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # a value from JSON (compare, collect) or a caller's string becomes the member
        object.__setattr__(self, "outcome", Outcome(self.outcome))
        object.__setattr__(self, "level", Level(self.level))

    @property
    def headline_ids(self) -> list[str]:
        """The requirements to name beside the check: what it broke, else what it judges."""
        return self.broken or self.requirement_ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "requirement_ids": list(self.requirement_ids),
            "level": str(self.level), "outcome": str(self.outcome), "duration_s": round(self.duration_s, 4),
            "message": self.message, "source": self.source, "exchanges": list(self.exchanges),
            "broken_requirements": list(self.broken),
            **({"details": self.details} if self.details else {}),
        }


def count(results: Iterable[CheckResult]) -> dict[Outcome, int]:
    """How many checks ended in each outcome, every outcome present (zero or more)."""
    counts = dict.fromkeys(Outcome, 0)
    for r in results:
        counts[r.outcome] += 1
    return counts


def verdict(results: Iterable[CheckResult]) -> Verdict:
    results = list(results)
    if any(r.outcome is Outcome.FAILED for r in results):
        return Verdict.FAIL
    if any(r.outcome.undecided and r.level is Level.MUST for r in results):
        return Verdict.INCONCLUSIVE
    if not any(r.outcome is Outcome.PASSED for r in results):
        return Verdict.INCONCLUSIVE  # nothing was shown at all
    return Verdict.PASS


def run_verdict(results: Iterable[CheckResult], kit_errors: Iterable[str], *, cut_short: bool = False,
                writes_missing: bool = False) -> Verdict:
    """The verdict of a run.

    A kit error, a run cut short by the kit's own limits, or a run that was meant to write
    but could not (no key) makes a run that did not fail inconclusive; a run cut short is
    inconclusive even when something failed before the cut, because the exit code must say
    the kit stopped, not the target.
    """
    decided = verdict(results)
    if cut_short:
        return Verdict.INCONCLUSIVE
    if any(True for _ in kit_errors) or writes_missing:
        return Verdict.FAIL if decided is Verdict.FAIL else Verdict.INCONCLUSIVE
    return decided


def fail(message: str, *, requirements: Iterable[str] = ()) -> None:
    raise CheckFailed(message, requirements=requirements)
