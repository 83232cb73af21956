"""The City's pre-approval conditions, judged from the checks that support each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance import requirements
from conformance.outcomes import CheckResult

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


def checklist(results: Iterable[CheckResult],
              conditions: tuple[tuple[str, str], ...] = CONDITIONS) -> list[ChecklistItem]:
    """Each condition met, not met or not shown; ``conditions`` (key, title) default to the
    City's for a server, check-app passes an application's."""
    registry = requirements.load()
    results = list(results)
    items = []
    for key, title in conditions:
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
