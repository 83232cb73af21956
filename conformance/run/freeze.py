"""Freeze a finished run into its :class:`~conformance.record.RunRecord`.

The one place that reads the live run (the context, the transport's exchanges, the write
flow's outcome) on behalf of the artifacts. Everything here reads what the run already
recorded; nothing sends a request, so writing a report never changes the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from conformance import __version__, requirements, wire
from conformance.checklist import checklist, target_conditions
from conformance.contract import contract_hashes
from conformance.outcomes import CheckResult
from conformance.record import Mode, PollRow, RunRecord, Subject, WriteEvidence, WriteState
from conformance.run import expect
from conformance.run.fuzzing.engine import examples_for, fuzz_requests, seed_for
from conformance.transport import Exchange, proxy_host

if TYPE_CHECKING:
    from conformance.client import Answer
    from conformance.run.context import RunContext


def freeze(context: RunContext, results: Iterable[CheckResult], *, started: str, finished: str,
           kit_errors: Iterable[str] = ()) -> RunRecord:
    target = context.target
    transport = context.transport
    results = tuple(results)
    mode = Mode.READ_ONLY if target.read_only else Mode.FULL if target.api_key else Mode.NO_KEY
    return RunRecord(
        run_id=context.run_id, subject=Subject.TARGET, started=started, finished=finished,
        target=target.describe(), profile=target.profile.name, mode=mode, practice=target.simulator,
        results=results,
        checklist=checklist(results, target_conditions(target.profile.checklist), key_source=target.key_source),
        exchanges=tuple(transport.exchanges),
        requests_sent=transport.requests_sent, kit_version=__version__, contract=contract_hashes(),
        key_fingerprint=transport.key_fingerprint, app_name=target.app_name, stop=transport.stop,
        kit_errors=tuple(transport.redact(e) for e in kit_errors),
        write=write_evidence(context), fuzzing=fuzzing_facts(context), catalogue=catalogue(context),
        requirements=requirements.named_by(results, target.profile),
        key_source=target.key_source, tls_verified=transport.trust.verify,
        proxy=proxy_host(transport.proxy),
        clock={name: tuple(moments) for name, moments in transport.clock.readings.items()},
    )


def write_evidence(context: RunContext) -> WriteEvidence:
    out = context.write_flow.outcome
    redact = context.transport.redact
    state, note = WriteState.WRITTEN, ""
    for candidate in (WriteState.SKIPPED, WriteState.INCONCLUSIVE, WriteState.ERROR):
        reason = getattr(out, candidate.value)
        if reason:
            state, note = candidate, str(reason)
            break
    if state is WriteState.WRITTEN:
        state, note = _post_state(out.post, bool(out.token or out.immediate_id))
    polls: tuple[PollRow, ...] = ()
    waited = poll_error = resolution = None
    if out.immediate_id:
        resolution = 0.0
    token_result = out.token_result
    if token_result is not None:
        waited, poll_error = token_result.waited_s, token_result.error and redact(token_result.error)
        seqs = _poll_exchanges(out.token, len(token_result.polls), context.write_flow.exchanges,
                               context.transport.exchanges)
        polls = tuple(PollRow(p.attempt, p.at_s, p.status, p.service_request_id, redact(p.note), seq)
                      for p, seq in zip(token_result.polls, seqs, strict=True))
        resolving = next((p for p in polls if p.service_request_id), None)
        resolution = resolving.at_s if resolving else None
    return WriteEvidence(
        state, redact(note), service_code=out.service_code, token=out.token,
        service_request_id=out.service_request_id, immediate_id=bool(out.immediate_id),
        resolution_s=resolution, waited_s=waited, poll_error=poll_error, polls=polls,
        post=out.post.exchange.seq if out.post is not None else None,
        pending_list=out.pending_list.exchange.seq if out.pending_list is not None else None,
        probes=tuple(a.exchange.seq for a in out.pending_probes), sent=tuple(context.write_flow.exchanges),
        post_status=out.post.status if out.post is not None else None)


def _post_state(post: Answer | None, answered_handle: bool) -> tuple[WriteState, str]:
    """What the POST showed: written only when its answer holds a token or an id."""
    if post is None:
        return WriteState.NOT_WRITTEN, "the write flow did not reach the POST"
    if not post.status:
        return WriteState.NOT_WRITTEN, f"the POST got no answer ({post.exchange.error or 'no status'})"
    status = f"{post.status} {post.exchange.reason}".strip()
    if not post.ok:
        said = expect.refusal_text(post)  # the server's own words, from whatever body
        return WriteState.REFUSED, f"the POST was answered {status}" + (f": {said}" if said else "")
    if not answered_handle:
        return WriteState.ACCEPTED, (f"the POST was answered {status}, but with neither a token nor a "
                                     "service_request_id: nothing shows a request was written")
    return WriteState.WRITTEN, ""


def _poll_exchanges(token: str | None, polls: int, flow: Iterable[int],
                    exchanges: Iterable[Exchange]) -> list[int | None]:
    # Polls do not carry their exchange; the main write's polls are the flow's exchanges of its
    # token, in order. Linked only when the counts agree, never guessed.
    marker = f"/tokens/{token}."
    sent = set(flow)
    mine = [e.seq for e in exchanges if e.seq in sent and marker in e.url]
    return mine if len(mine) == polls else [None] * polls


def catalogue(context: RunContext) -> dict[str, Any] | None:
    """Service codes, names and attribute codes as this run's own answers gave them.

    Read from the recorded exchanges (services.json and services/{code}.json) rather than
    asked again: a report must not send requests. None when no service list was read.
    """
    base = context.transport.base_url
    listing: tuple[int, list[Any]] | None = None
    definitions: dict[str, tuple[int, dict[str, Any]]] = {}
    for exchange in context.transport.exchanges:
        if exchange.status != 200 or exchange.method != "GET" or not exchange.url.startswith(base):
            continue
        parts = urlsplit(exchange.url[len(base):])
        extra = [k for k, _ in parse_qsl(parts.query) if k != "jurisdiction_id"]
        if extra:
            continue
        path = parts.path
        if path == "services.json" and listing is None:
            data = _json(exchange.response_body)
            if isinstance(data, list):
                listing = (exchange.seq, data)
        elif path.startswith("services/") and path.endswith(".json") and path.count("/") == 1:
            code = path[len("services/"):-len(".json")]
            data = _json(exchange.response_body)
            if isinstance(data, dict) and code not in definitions:
                definitions[code] = (exchange.seq, data)
    if listing is None:
        return None
    services = []
    for row in listing[1]:
        if not isinstance(row, dict) or row.get("service_code") in (None, ""):
            continue
        code = str(row["service_code"])
        definition = definitions.get(code)
        attributes = None
        if definition is not None:
            attributes = sorted(
                ({"code": str(a.get("code")), "datatype": a.get("datatype"), "required": a.get("required")}
                 for a in definition[1].get("attributes") or [] if isinstance(a, dict)),
                key=lambda a: a["code"])
        services.append({"service_code": code, "service_name": _text(row.get("service_name")),
                         "metadata": row.get("metadata"), "type": _text(row.get("type")),
                         "attributes": attributes})
    services.sort(key=lambda s: s["service_code"])
    return {"exchange": listing[0], "services": services}


def _json(body: bytes) -> Any:
    try:
        return wire.decode_json(body)
    except wire.WireError:
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def fuzzing_facts(context: RunContext) -> dict[str, Any]:
    """How the OpenAPI-driven fuzzing ran: what reproduces it, and what it cost."""
    target = context.target
    return {"seed": seed_for(target.seed), "examples_per_operation": examples_for(target.fuzz_examples, target.remote),
            "requests_sent": fuzz_requests(context.transport.exchanges), "share_answers": target.share_answers}
