"""The application's conditions: what the City asks of an app before a production key.

The keys are ``requirements.APP_CHECKLIST`` (the registry validates APP- requirements
against them); the checklist is judged by the same rule as a run's
(``conformance.report.checklist``).
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.outcomes import CheckResult
from conformance.report.checklist import ChecklistItem, checklist

CONDITIONS: tuple[tuple[str, str], ...] = (
    ("app-key", "It sends the test key with every write, and only there"),
    ("app-write", "It writes a service request the City accepts"),
    ("app-readback", "It polls the token until the id and reads the request back"),
    ("app-pending", "It ignores listed requests that have no service_request_id"),
    ("app-formats", "It uses the formats it claims for the whole flow"),
    ("app-polite", "It is polite: paced polls, bounded pages, Retry-After, dates with a zone"),
)


def app_checklist(results: Iterable[CheckResult]) -> list[ChecklistItem]:
    return checklist(results, CONDITIONS)
