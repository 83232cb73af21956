"""Fixtures of the run's checks.

Named ``open311_*`` because the plugin is loaded into every pytest session where the kit is
installed, and generic names (``client``, ``target``) would shadow other projects' fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conformance.client import Client
from conformance.outcomes import Inconclusive
from conformance.profiles import Profile
from conformance.run.context import RunContext
from conformance.run.write_flow import WriteOutcome
from conformance.target import Target

# where a run's pytest session keeps its context: the plugin puts it, the fixtures read it
CONTEXT_KEY = pytest.StashKey[RunContext]()


@dataclass(slots=True)
class Catalogue:
    """The service list and every definition, as the target serves them in JSON."""

    services: list[dict[str, Any]]
    definitions: dict[str, dict[str, Any]]

    def service_type(self, code: Any) -> Any:
        """The ``type`` the service list gives ``code`` (realtime, batch, blackbox), as listed."""
        listed = {str(s.get("service_code")): s.get("type") for s in self.services if isinstance(s, dict)}
        return listed.get(str(code))

    def list_attributes(self) -> list[tuple[str, dict[str, Any]]]:
        return [(code, a) for code, d in self.definitions.items()
                for a in d.get("attributes") or [] if isinstance(a, dict)]


@pytest.fixture(scope="session")
def open311_context(request: pytest.FixtureRequest) -> RunContext:
    context = request.config.stash.get(CONTEXT_KEY, None)
    if context is None:
        pytest.skip("not inside an open311-conformance run (use `open311-conformance run`)")
    return context


@pytest.fixture(scope="session")
def open311_target(open311_context: RunContext) -> Target:
    return open311_context.target


@pytest.fixture(scope="session")
def open311_client(open311_context: RunContext) -> Client:
    return open311_context.client


@pytest.fixture(scope="session")
def open311_profile(open311_context: RunContext) -> Profile:
    return open311_context.profile


@pytest.fixture()
def open311_catalogue(open311_client: Client) -> Catalogue:
    answer = open311_client.services()
    if not answer.ok or not isinstance(answer.data, list):
        raise Inconclusive(f"no usable service list: {answer.describe()}")
    services = [s for s in answer.data if isinstance(s, dict) and s.get("service_code")]
    definitions = {}
    for service in services:
        if service.get("metadata") is True:
            code = str(service["service_code"])
            definition = open311_client.definition(code)
            if definition.ok and isinstance(definition.data, dict):
                definitions[code] = definition.data
    return Catalogue(services, definitions)


@pytest.fixture()
def open311_history(open311_client: Client, open311_profile: Profile) -> list[dict[str, Any]]:
    """The identified rows of a large page of requests (where the profile pages): the data the
    filter checks judge."""
    answer = open311_client.requests(open311_profile.quirks.documented({"page_size": 500}))
    if not answer.ok:
        answer = open311_client.requests()
    rows, _pending = Client.identified(answer)
    if not rows:
        raise Inconclusive(f"the target lists no identified requests to judge filters on ({answer.describe()})")
    return rows


@pytest.fixture()
def open311_written(open311_context: RunContext) -> WriteOutcome:
    """The write flow's outcome, waited for (it started with the run)."""
    target = open311_context.target
    flow = open311_context.write_flow
    outcome = flow.wait(timeout=target.poll_timeout + 4 * target.timeout + 10)
    # a check that judges the flow's outcome rests on what the flow sent, its POSTs and polls
    open311_context.cite(flow.exchanges)
    if not flow.done:
        raise Inconclusive("the write flow did not finish in time")
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    if outcome.inconclusive:
        raise Inconclusive(outcome.inconclusive)
    if outcome.error:
        raise RuntimeError(f"the write flow broke: {outcome.error}")
    return outcome
