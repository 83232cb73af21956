"""What the artifacts of a run share: exchanges as text, the write flow, the service catalogue.

Everything here reads what the run already recorded (``transport.exchanges``, the write
flow's outcome); nothing sends a request, so writing a report never changes the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from conformance import wire
from conformance.contract import contract_hashes

if TYPE_CHECKING:
    from conformance.context import RunContext
    from conformance.outcomes import CheckResult
    from conformance.transport import Exchange

BODY_SHOWN = 64 * 1024  # bytes of a body the HTML report shows; the HAR keeps all of it

# The write flow runs on its own thread, so the checks judging it list no exchanges of
# their own: these requirements get the flow's exchanges and the token timeline as evidence.
WRITE_FLOW_REQUIREMENTS = frozenset({
    "CHI-KEY-WRITE", "GR2-POST-RESPONSE", "CHI-POST-TOKEN", "CHI-TOKEN-PENDING",
    "CHI-TOKEN-RESOLVES", "CHI-READBACK-ID", "CHI-READBACK-LIST", "CHI-PENDING-ONLY-LISTS",
    "CHI-PENDING-SHAPE",
})


@dataclass(slots=True)
class PollRow:
    attempt: int
    at_s: float
    status: int | None
    service_request_id: str | None
    note: str
    exchange: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "at_s": self.at_s, "status": self.status,
                "service_request_id": self.service_request_id, "note": self.note,
                "exchange": self.exchange}


@dataclass(slots=True)
class WriteEvidence:
    """The write flow as recorded: what was written, the token, every poll."""

    state: str  # written | skipped | inconclusive | error | not written
    note: str = ""
    service_code: str | None = None
    token: str | None = None
    service_request_id: str | None = None
    immediate_id: bool = False
    resolution_s: float | None = None
    waited_s: float | None = None
    poll_error: str | None = None
    polls: list[PollRow] = field(default_factory=list)
    post: int | None = None
    pending_list: int | None = None
    probes: list[int] = field(default_factory=list)

    @property
    def exchanges(self) -> list[int]:
        seqs = [s for s in (self.post, self.pending_list) if s is not None] + self.probes
        seqs += [p.exchange for p in self.polls if p.exchange is not None]
        return sorted(set(seqs))

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state, "note": self.note, "service_code": self.service_code,
            "token": self.token, "service_request_id": self.service_request_id,
            "immediate_id": self.immediate_id, "resolution_s": self.resolution_s,
            "waited_s": self.waited_s, "poll_error": self.poll_error,
            "polls": [p.as_dict() for p in self.polls], "exchanges": self.exchanges,
        }


def write_evidence(context: RunContext, results: Iterable[CheckResult]) -> WriteEvidence:
    out = context.write_flow.outcome
    state, note = "written", ""
    for name in ("skipped", "inconclusive", "error"):
        if getattr(out, name):
            state, note = name, str(getattr(out, name))
            break
    if state == "written" and out.post is None:
        state, note = "not written", "the write flow did not reach the POST"
    evidence = WriteEvidence(state, context.transport.redact(note), service_code=out.service_code,
                             token=out.token, service_request_id=out.service_request_id,
                             immediate_id=bool(out.immediate_id))
    evidence.post = out.post.exchange.seq if out.post is not None else None
    evidence.pending_list = out.pending_list.exchange.seq if out.pending_list is not None else None
    evidence.probes = [a.exchange.seq for a in out.pending_probes]
    if out.immediate_id:
        evidence.resolution_s = 0.0
    token_result = out.token_result
    if token_result is not None:
        evidence.waited_s = token_result.waited_s
        evidence.poll_error = token_result.error
        evidence.polls = [PollRow(p.attempt, p.at_s, p.status, p.service_request_id,
                                  context.transport.redact(p.note)) for p in token_result.polls]
        resolving = next((p for p in evidence.polls if p.service_request_id), None)
        evidence.resolution_s = resolving.at_s if resolving else None
        _link_polls(evidence, context.transport.exchanges, results)
    return evidence


def _link_polls(evidence: WriteEvidence, exchanges: Iterable[Exchange], results: Iterable[CheckResult]) -> None:
    # Polls do not carry their exchange; the flow's polls are the exchanges of its token no
    # check claimed, in order. Linked only when the counts agree, never guessed.
    claimed = {seq for r in results for seq in r.exchanges}
    marker = f"/tokens/{evidence.token}."
    mine = [e.seq for e in exchanges if marker in e.url and e.seq not in claimed]
    if len(mine) == len(evidence.polls):
        for poll, seq in zip(evidence.polls, mine, strict=True):
            poll.exchange = seq


def evidence_for(result: CheckResult, write: WriteEvidence | None) -> list[int]:
    """The exchanges a check's judgement rests on, the write flow's included where it judged it."""
    seqs = list(result.exchanges)
    if write is not None and WRITE_FLOW_REQUIREMENTS.intersection(result.requirement_ids):
        seqs += [s for s in write.exchanges if s not in seqs]
    return seqs


# --- bodies ---------------------------------------------------------------------------------

def body_text(body: bytes, cap: int | None = None) -> tuple[str, bool, int]:
    """(text, is_text, bytes left out). Binary bodies come back empty with is_text False."""
    shown = body if cap is None else body[:cap]
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a cap can cut a multi-byte character: that is still text
        if cap is not None and exc.start >= len(shown) - 3 and len(body) > cap:
            text = shown[:exc.start].decode("utf-8", "replace")
        else:
            return "", False, len(body)
    return text, True, len(body) - len(shown)


def media_type(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value
    return ""


def query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# --- contract and catalogue -----------------------------------------------------------------

def contract_digest(hashes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """openapi.yaml's hash, and one digest over every schema (the manifest lists each)."""
    hashes = dict(hashes or contract_hashes())
    schemas = sorted((p, h) for p, h in hashes.items() if p.startswith("schemas/"))
    joined = "".join(f"{h}  {p}\n" for p, h in schemas).encode("utf-8")
    return {"openapi.yaml": hashes.get("openapi.yaml"), "schemas": hashlib.sha256(joined).hexdigest(),
            "schema_files": len(schemas)}


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
    from conformance.fuzzing.engine import examples_for, fuzz_requests, seed_for

    target = context.target
    return {"seed": seed_for(target.seed), "examples_per_operation": examples_for(target.fuzz_examples, target.remote),
            "requests_sent": fuzz_requests(context.transport.exchanges)}
