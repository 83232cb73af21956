"""The pre-approval conditions, judged from the checks that support each.

Which conditions a run shows is the profile's (``Profile.checklist``): Chicago's six, or
fewer where the profile's requirements could never show one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance import requirements
from conformance.outcomes import CheckResult
from conformance.profiles import Profile

CONDITIONS: tuple[tuple[str, str], ...] = (
    ("key", "The test API key works (writes need it, reads do not)"),
    ("write", "The application can write a service request"),
    ("readback", "It can retrieve the request by id through token polling"),
    ("pending", "It ignores listed requests that have no service_request_id yet"),
    ("formats", "It handles JSON and XML"),
    ("errors", "It handles errors"),
)


@dataclass(slots=True)
class ChecklistItem:
    key: str
    title: str
    state: str  # met | not met | not shown
    checks: list[str] = field(default_factory=list)

    @property
    def mark(self) -> str:
        return {"met": "x", "not met": "!"}.get(self.state, " ")


def checklist(results: Iterable[CheckResult], profile: Profile) -> list[ChecklistItem]:
    registry = requirements.load()
    results = list(results)
    titles = dict(CONDITIONS)
    items = []
    for key in profile.checklist:
        title = titles[key]
        related = [r for r in results
                   if any(registry[i].checklist == key for i in r.requirement_ids if i in registry)]
        if any(r.outcome == "failed" for r in related):
            state = "not met"
        elif any(r.outcome == "passed" for r in related) and not any(
                r.outcome in ("inconclusive", "error") and r.level == "MUST" for r in related):
            state = "met"
        else:
            state = "not shown"
        items.append(ChecklistItem(key, title, state, [r.id for r in related]))
    return items
