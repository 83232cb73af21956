"""One OpenAPI-driven check: generate cases for an operation in one format, send, judge.

Generation is schemathesis' Hypothesis strategy for the operation with the ``format`` path
parameter pinned, driven by ``hypothesis.given`` with a fixed seed, no example database, no
deadline and no shrinking (shrinking would send requests nobody budgeted). Failures are
collected instead of raised, so every generated case is judged and Hypothesis never replays.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as openapi_checks

from conformance import profiles
from conformance.contract import OPERATIONS as CONTRACT_OPERATIONS
from conformance.contract import Operation
from conformance.fuzzing import wiring
from conformance.profiles import Profile
from conformance.transport import Exchange, Transport, TransportError

DEFAULT_SEED = 311
SIMULATOR_EXAMPLES = 10
REMOTE_EXAMPLES = 3
# POSTs the fuzzing may send in a whole run, key probes included: one case per format, sent
# with a wrong key, and its probe without a key. A conformant target refuses every one of
# them, so the fuzzing writes no request: the run's few writes are the write flow's.
MAX_POSTS_PER_RUN = 6
POSTS_PER_CASE = 2
POST_CASES_PER_FORMAT = 1
LABEL_PREFIX = "openapi:"

CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    wiring.open311_negative_rejected,
    wiring.open311_format_content_type,
    wiring.open311_error_list,
    wiring.open311_key_enforced,
]


@dataclass(slots=True, frozen=True)
class OperationSpec:
    """An operation of the contract's table the fuzzing covers, and what its checks judge."""

    operation: Operation
    requirements: tuple[str, ...]
    negative: bool = True  # has parameters besides the format to generate invalid values for

    @property
    def operation_id(self) -> str:
        return self.operation.operation_id

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def path(self) -> str:
        return self.operation.template

    def requirement_ids(self, fmt: str) -> tuple[str, ...]:
        common = ("GR2-ERR-NO-5XX", "GR2-STATUS-DOCUMENTED", "GR2-ERR-BODY", "GR2-ERR-FORMAT")
        by_format = {"json": ("GR2-FMT-JSON-CONTENT-TYPE",),
                     "xml": ("GR2-FMT-XML-CONTENT-TYPE", "GR2-FMT-XML-ROOT", "GR2-FMT-XML-SAFE")}
        return tuple(dict.fromkeys(common + by_format[fmt] + self.requirements))


OPERATIONS: tuple[OperationSpec, ...] = (
    OperationSpec(CONTRACT_OPERATIONS["services"], ("GR2-SVC-LIST",)),
    OperationSpec(CONTRACT_OPERATIONS["service-definition"], ("GR2-SVC-DEF",)),
    OperationSpec(CONTRACT_OPERATIONS["requests"], ("GR2-REQ-SCHEMA",)),
    OperationSpec(CONTRACT_OPERATIONS["request"], ("GR2-REQ-SCHEMA",)),
    OperationSpec(CONTRACT_OPERATIONS["tokens"], ()),
    OperationSpec(CONTRACT_OPERATIONS["discovery"], ("GR2-DISCOVERY",), negative=False),
    OperationSpec(CONTRACT_OPERATIONS["post-request"], ("GR2-KEY-MISSING", "GR2-KEY-INVALID"),
                  negative=False),
)


@dataclass(slots=True)
class Finding:
    """One generated request whose answer broke the contract."""

    method: str
    url: str
    status: int | None
    failures: list[str]
    curl: str

    def describe(self) -> str:
        head = f"{self.method} {self.url} -> {self.status}"
        lines = [head] + [f"    {f}" for f in self.failures] + [f"    reproduce: {self.curl}"]
        return "\n".join(lines)


@dataclass(slots=True)
class FuzzResult:
    operation_id: str
    fmt: str
    seed: int
    examples: int
    cases: int = 0
    findings: list[Finding] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    error: TransportError | None = None

    @property
    def sent(self) -> int:
        return len(self.exchanges)


# -- decisions ----------------------------------------------------------------------------------
def seed_for(target_seed: int | None) -> int:
    return DEFAULT_SEED if target_seed is None else target_seed


def examples_for(fuzz_examples: int | None, remote: bool) -> int:
    if fuzz_examples is not None:
        return fuzz_examples
    return REMOTE_EXAMPLES if remote else SIMULATOR_EXAMPLES


def post_refusal(transport: Transport, api_key: str | None) -> str | None:
    """Why the fuzzing sends no POST to this target, or None when it may send a few."""
    refusal = transport.write_refusal("requests.json")
    if refusal:
        return f"writes are not allowed: {refusal}"
    if not api_key:
        return "no api_key: the run sends no POST without one"
    sent = fuzz_requests(transport.exchanges, method="POST")
    if sent >= MAX_POSTS_PER_RUN:
        return f"the fuzzing already sent its {MAX_POSTS_PER_RUN} POSTs of this run"
    return None


def fuzz_requests(exchanges: list[Exchange], method: str | None = None) -> int:
    """How many of ``exchanges`` the fuzzing sent (by label), optionally of one method."""
    return sum(1 for e in exchanges if (e.label or "").startswith(LABEL_PREFIX)
               and (method is None or e.method == method))


def request_cap(spec: OperationSpec, examples: int) -> int:
    """The most requests one check may send: every example, and the key probe of a POST."""
    if spec.method == "POST":
        return min(POST_CASES_PER_FORMAT, examples) * POSTS_PER_CASE
    return examples + (max(1, examples // 2) if spec.negative and examples else 0)


# -- running ------------------------------------------------------------------------------------
def fuzz(transport: Transport, spec: OperationSpec, fmt: str, *, base_url: str, seed: int,
         examples: int, api_key: str | None = None, post_fields: Mapping[str, Any] | None = None,
         on_exchange: Callable[[Exchange], None] | None = None,
         profile: Profile | str = profiles.DEFAULT) -> FuzzResult:
    """Generate, send and judge the cases of one operation in one format, with the
    parameters and schemas of ``profile``."""
    schema = wiring.load_schema(profile)
    operation = schema[spec.path][spec.method]
    adapter = wiring.TransportAdapter(transport, f"{LABEL_PREFIX} {spec.operation_id} {fmt}",
                                      on_exchange)
    session = wiring.session_for(adapter)
    result = FuzzResult(spec.operation_id, fmt, seed, examples, exchanges=adapter.sent)
    cap = request_cap(spec, examples)
    kwargs: dict[str, Any] = {"session": session, "base_url": base_url.rstrip("/")}
    if spec.method == "POST" and api_key:
        # never the target's key: a generated POST must not write a request
        kwargs["params"] = {wiring.KEY_PARAMETER: wiring.WRONG_KEY}

    def one(case: Any) -> None:
        if result.error is not None or len(adapter.sent) >= cap:
            return
        if spec.method == "POST":
            if fuzz_requests(transport.exchanges, "POST") + POSTS_PER_CASE > MAX_POSTS_PER_RUN:
                return
            case.body = _post_body(case.body, post_fields or {})
        before = len(adapter.sent)
        try:
            response = case.call(**kwargs)
            result.cases += 1
            try:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)
            except FailureGroup as group:
                sent = adapter.sent[before]
                result.findings.append(Finding(
                    sent.method, sent.url, sent.status,
                    [transport.redact(_describe(f)) for f in group.exceptions],
                    wiring.curl_command(sent)))
        except TransportError as exc:
            result.error = exc

    # a different stream per check, the same one for the same seed
    check_seed = seed ^ zlib.crc32(f"{spec.operation_id} {fmt}".encode())
    modes = [(GenerationMode.POSITIVE, min(POST_CASES_PER_FORMAT, examples)
              if spec.method == "POST" else examples)]
    if spec.negative:
        modes.append((GenerationMode.NEGATIVE, max(1, examples // 2)))
    for mode, count in modes:
        if count <= 0 or result.error is not None:
            continue
        strategy = operation.as_strategy(generation_mode=mode, path_parameters={"format": fmt})
        _drive(strategy, count, check_seed + (mode is GenerationMode.NEGATIVE), one)
    return result


def _drive(strategy: Any, count: int, seed: int, body: Callable[[Any], None]) -> None:
    @hypothesis.seed(seed)
    @hypothesis.settings(max_examples=count, database=None, deadline=None, derandomize=False,
                         phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                         verbosity=Verbosity.quiet, report_multiple_bugs=False)
    @hypothesis.given(strategy)
    def run(case: Any) -> None:
        body(case)

    run()


def _post_body(generated: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The generated form over a base the target would accept with its key, so a refusal is
    the key's doing.

    The key travels as the security scheme says (query), never as a generated form field;
    values with control characters are dropped because the City refuses them for reasons
    the contract does not describe (XML cannot carry them).
    """
    body = dict(generated) if isinstance(generated, Mapping) else {}
    for name in ("api_key", "jurisdiction_id"):
        body.pop(name, None)
    body = {k: v for k, v in body.items() if not k.startswith("attribute[")
            and not (isinstance(v, str) and not v.isprintable())}
    return {**body, **fields}


def _describe(failure: Any) -> str:
    title = getattr(failure, "title", "") or type(failure).__name__
    message = (getattr(failure, "message", "") or "").strip()
    first = " ".join(line.strip() for line in message.splitlines()[:3] if line.strip())
    return f"{title}: {first}" if first else title
