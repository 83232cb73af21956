"""The application's conditions: what the City asks of an app before a production key.

The keys are ``requirements.APP_CHECKLIST`` (the registry validates APP- requirements
against them); the checklist is judged by the same rule as a run's
(``conformance.checklist``).
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.checklist import ChecklistItem, Condition, checklist
from conformance.outcomes import CheckResult

CONDITIONS: tuple[Condition, ...] = (
    Condition("app-key", "The application sends the test key with every write, and only there"),
    Condition("app-write", "The application writes a service request the City accepts"),
    Condition("app-readback", "The application polls the token until the id and reads the request back"),
    Condition("app-pending", "The application ignores listed requests that have no service_request_id"),
    Condition("app-formats", "The application uses the formats it claims for the whole flow"),
    Condition("app-polite", "The application is polite: documented paths, paced polls, bounded pages, Retry-After, "
                            "dates with a zone"),
)


def app_checklist(results: Iterable[CheckResult]) -> tuple[ChecklistItem, ...]:
    return checklist(results, CONDITIONS)
