"""The pre-approval checklist: the City's conditions, each judged from the checks that support it.

A condition names who showed what. A run of the kit (``run``) shows what the *server* did
with the key the run used, and what the kit, as a client, managed to do with it; only a grading of
your application (``check-app``) can say what the *application* does. Each requirement of
the registry names the condition it supports (its ``checklist`` key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from conformance import requirements
from conformance.outcomes import CheckResult, Level, Outcome
from conformance.requirements import Requirement
from conformance.target import KeySource


class State(StrEnum):
    """Where a condition stands: of the pre-approval checklist, or of an application check."""

    MET = "met"
    NOT_MET = "not met"
    NOT_SHOWN = "not shown"  # nothing the run or the application did shows it either way
    NOT_APPLICABLE = "not applicable"  # the application does not use what it is about (no dates sent)

    @property
    def mark(self) -> str:
        return {State.MET: "x", State.NOT_MET: "!"}.get(self, " ")


@dataclass(slots=True, frozen=True)
class Condition:
    """A condition; ``{key}`` in its title names the key the run used, as the record knows it
    (a practice run's key is the simulator's, not the user's)."""

    key: str
    title: str

    def title_for(self, key_source: KeySource | None) -> str:
        return self.title.replace("{key}", (key_source or KeySource.GIVEN).words)


# What a run of the kit against a server can show: the server's side, and the kit's own write.
TARGET_CONDITIONS: tuple[Condition, ...] = (
    Condition("key", "The server accepts a write with {key}, refuses it without, and needs no key to read"),
    Condition("write", "With {key}, the kit wrote a service request"),
    Condition("readback", "The kit polled the token until an id came, and read the request back by id"),
    Condition("pending", "Rows without a service_request_id appear only in lists, and the kit ignored them"),
    Condition("formats", "The server answers in JSON and in XML as documented"),
    Condition("errors", "The server answers errors as documented"),
)


def target_conditions(keys: Iterable[str]) -> tuple[Condition, ...]:
    """The conditions a profile's checklist shows (``Profile.checklist``), in its order."""
    by_key = {c.key: c for c in TARGET_CONDITIONS}
    return tuple(by_key[k] for k in keys)


@dataclass(slots=True, frozen=True)
class ChecklistItem:
    key: str
    title: str
    state: State
    checks: tuple[str, ...] = ()
    # the requirements warned under it: a met condition beside a warning is never said as a plain "met"
    warnings: tuple[str, ...] = ()
    reason: str = ""  # not met: the first line of the failed check that explains it first

    @property
    def mark(self) -> str:
        return self.state.mark

    @property
    def said(self) -> str:
        """The state as every artifact says it (console, report.html, summary.json)."""
        return f"{self.state}, with warnings ({', '.join(self.warnings)})" if self.warnings else str(self.state)

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "title": self.title, "state": str(self.state), "said": self.said,
                "warnings": list(self.warnings), "reason": self.reason, "checks": list(self.checks)}


def _bearing(result: CheckResult, condition: str, registry: Mapping[str, Requirement]) -> list[str]:
    """The requirements of ``condition`` a result bears on: a failed or warned check through what it
    broke, not everything it judges."""
    ids = result.broken if result.outcome in (Outcome.FAILED, Outcome.WARNING) and result.broken \
        else result.requirement_ids
    return [i for i in ids if i in registry and registry[i].checklist == condition]


def checklist(results: Iterable[CheckResult], conditions: tuple[Condition, ...] = TARGET_CONDITIONS,
              key_source: KeySource | None = None) -> tuple[ChecklistItem, ...]:
    registry = requirements.load()
    # the registry lists what a condition is about first (APP-WRITE before APP-EXIT): its order
    # picks the failure that explains a condition, whatever order the checks ran in
    rank = {rid: n for n, rid in enumerate(registry)}
    results = list(results)
    items = []
    for condition in conditions:
        bearing = {r.id: ids for r in results if (ids := _bearing(r, condition.key, registry))}
        related = [r for r in results if r.id in bearing]
        failed = sorted((r for r in related if r.outcome is Outcome.FAILED),
                        key=lambda r: min(rank[i] for i in bearing[r.id]))
        if failed:
            state = State.NOT_MET
        elif any(r.outcome is Outcome.PASSED for r in related) and not any(
                r.outcome.undecided and r.level is Level.MUST for r in related):
            state = State.MET
        else:
            state = State.NOT_SHOWN
        warned = dict.fromkeys(i for r in related if r.outcome is Outcome.WARNING for i in bearing[r.id])
        reason = failed[0].message.splitlines()[0] if failed and failed[0].message else ""
        items.append(ChecklistItem(condition.key, condition.title_for(key_source), state, tuple(r.id for r in related),
                                   tuple(warned), reason))
    return tuple(items)
