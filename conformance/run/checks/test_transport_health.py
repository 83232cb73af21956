"""Answers arrive whole and in time, and within the size cap."""

from __future__ import annotations

import contextlib

import pytest

from conformance import contract
from conformance.contract import OPERATIONS
from conformance.outcomes import Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._endpoints import READS, fetch, title
from conformance.transport import TransportError, redirected_away

requirement = pytest.mark.requirement
PROBES = ("services", "requests")


def _probe(client, name):
    try:
        return client.read(OPERATIONS[name]), None
    except TransportError as exc:
        return None, exc


# the way an answer can fail to arrive whole -> the requirement it breaks
BOUNDS = [pytest.param(kind, name, id=f"{kind}, {name}", marks=requirement(req))
          for kind, req in (("timeout", "GR2-HTTP-TIMELY"), ("too-large", "GR2-HTTP-SIZE")) for name in PROBES]


@pytest.mark.parametrize(("kind", "name"), BOUNDS)
def test_answer_arrives_whole(open311_client, kind, name):
    """Answers arrive complete within the timeout and the size cap"""
    _answer, error = _probe(open311_client, name)
    if error is None:
        return
    if error.kind == kind or (kind == "timeout" and _broken_off(open311_client, name, error)):
        fail(str(error))
    if error.kind not in ("timeout", "too-large"):
        raise Inconclusive(str(error))  # unreachable: nothing to judge the bound on


def _broken_off(client, name, error):
    """A connection lost on this answer while the target answers otherwise: not unreachable,
    but an answer that did not arrive whole."""
    if error.kind != "connection":
        return False
    if error.exchange is not None and error.exchange.status is not None:
        return True  # the headers came, the body broke off
    others = [other for other in PROBES if other != name]
    return any(_probe(client, other)[1] is None for other in others)


@requirement("GR2-DISCOVERY")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(open311_client, open311_profile, fmt):
    """discovery.json and .xml next to the versioned base conform"""
    answer = open311_client.discovery(fmt)
    expect.status(answer, 200)
    expect.valid(answer, "discovery", open311_profile)
    base = open311_client.transport.base_url.rstrip("/")
    urls = [str(e.get("url", "")).rstrip("/") for e in answer.data.get("endpoints") or []
            if isinstance(e, dict)]
    if base not in urls:
        fail(f"{answer.describe()}: no endpoint has the url under test, {base} (listed: {urls})")


@requirement("GR2-STATUS-DOCUMENTED")
@pytest.mark.parametrize("endpoint", READS, ids=title)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_status_is_documented(open311_client, endpoint, fmt):
    """Every status answered is one openapi.yaml allows for the operation"""
    answer = fetch(open311_client, endpoint, fmt)
    documented = contract.load_openapi()["paths"][endpoint.template][endpoint.method.lower()]["responses"]
    allowed = {int(code) for code in documented if code.isdigit()}
    if answer.status not in allowed:
        fail(f"{answer.describe()}: status {answer.status} is not one of {sorted(allowed)} "
             f"documented for {endpoint.method} {endpoint.template}")


@requirement("GR2-NO-REDIRECT-AWAY")
@pytest.mark.after_all
def test_no_redirect_away(open311_client, open311_context):
    """No answer redirects to another origin (the documented base answers itself)"""
    transport = open311_context.transport
    # the documented base, asked bare: what it answers is not judged here, only where it points
    with contextlib.suppress(TransportError):
        transport.get("", label="the base URL itself")
    # every exchange of the run, the write flow's and the fuzzing's included: the transport
    # followed none of these, so what they pointed to was never asked
    away = [(e, location) for e in list(transport.exchanges)
            if (location := redirected_away(e, transport.base_url)) is not None]
    if away:
        open311_context.cite(e.seq for e, _ in away[:expect.MAX_LISTED])
        fail(f"{len(away)} answers redirect away from {transport.redact(transport.base_url)} "
             "(not followed: nothing was sent there):\n"
             + expect.listing(f"{e.method} {e.url} -> {e.status} Location {location}" for e, location in away))
