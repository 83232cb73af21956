"""Check outcomes and the run's verdict.

A check ends in one of six outcomes: passed, failed (a MUST violated), warning (a SHOULD
violated, or a documented Chicago deviation), skipped (a precondition was not met; always
with the reason), inconclusive (the target did not answer in time or at all), error (a bug
in the kit). The verdict is ``fail`` when any check failed, ``pass`` when nothing failed and
no required check was inconclusive or broke, ``inconclusive`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("passed", "failed", "warning", "skipped", "inconclusive", "error")
EXIT_CODES = {"pass": 0, "fail": 1, "inconclusive": 3}


class CheckFailed(AssertionError):
    """The target broke the requirement the check is about."""


class Inconclusive(Exception):
    """The check could not decide (no answer, or the data it needs is not there)."""


@dataclass(slots=True)
class CheckResult:
    id: str
    title: str
    requirement_ids: list[str]
    outcome: str
    duration_s: float
    message: str
    source: str = "scenario"
    level: str = "MUST"
    exchanges: list[int] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "requirement_ids": self.requirement_ids,
            "level": self.level, "outcome": self.outcome, "duration_s": round(self.duration_s, 4),
            "message": self.message, "source": self.source, "exchanges": self.exchanges,
            **({"details": self.details} if self.details else {}),
        }


def verdict(results: Iterable[CheckResult]) -> str:
    results = list(results)
    if any(r.outcome == "failed" for r in results):
        return "fail"
    if any(r.outcome in ("inconclusive", "error") and r.level == "MUST" for r in results):
        return "inconclusive"
    if not any(r.outcome == "passed" for r in results):
        return "inconclusive"  # nothing was shown at all
    return "pass"


def run_verdict(results: Iterable[CheckResult], kit_errors: Iterable[str]) -> str:
    """The verdict of a run: a kit error makes a run that did not fail inconclusive."""
    decided = verdict(results)
    if any(True for _ in kit_errors):
        return "fail" if decided == "fail" else "inconclusive"
    return decided


def fail(message: str) -> None:
    raise CheckFailed(message)
