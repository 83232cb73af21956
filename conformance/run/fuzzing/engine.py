"""One OpenAPI-driven check: generate cases for an operation in one format, send, judge.

Generation is schemathesis' Hypothesis strategy for the operation with the ``format`` path
parameter pinned, driven by ``hypothesis.given`` with a fixed seed, no example database, no
deadline and no shrinking (shrinking would send requests nobody budgeted). Failures are
collected instead of raised, so every generated case is judged and Hypothesis never replays;
so no answer steers a draw, and what a check draws is kept and read back by every later run
with the same inputs (:mod:`conformance.run.fuzzing.drawn`).
A case drawing a GET the check has sent already is not sent again: the answer it would get
was judged when the check first asked (the adapter in :mod:`wiring` keeps it).
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, configuration
from hypothesis.internal.conjecture import providers
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup, MalformedJson, ServerError
from schemathesis.openapi.checks import (
    ContentDeserializationError,
    JsonSchemaError,
    MalformedMediaType,
    MissingContentType,
    UndefinedContentType,
    UndefinedStatusCode,
)
from schemathesis.specs.openapi import checks as openapi_checks

from conformance import cachedir, profiles, requirements
from conformance.contract import OPERATIONS as CONTRACT_OPERATIONS
from conformance.contract import Operation
from conformance.profiles import Profile
from conformance.run.fuzzing import drawn, rules, wiring
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
FORMATS = ("json", "xml")  # every operation is checked in each

@dataclass(slots=True, frozen=True)
class OperationSpec:
    """An operation of the contract's table the fuzzing covers, and what its checks judge."""

    operation: Operation
    schema_requirement: str  # what a 2xx body breaking the operation's schema breaks
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

    def blamable(self, fmt: str) -> tuple[str, ...]:
        """Every requirement a finding of this operation in ``fmt`` can blame."""
        judgements = [j for j in JUDGEMENTS if self.negative or j.check is not wiring.open311_negative_rejected]
        return tuple(dict.fromkeys(i for j in judgements for i in j.requirements(self, fmt)))

    def requirement_ids(self, fmt: str) -> tuple[str, ...]:
        """The check's marks: what it can blame, less what it can never show met. A random
        token or a POST with a wrong key shows no write and no read-back, so a passing check
        must not count for those conditions; when broken, the plugin names them anyway."""
        registry = requirements.load()
        return tuple(i for i in self.blamable(fmt) if registry[i].checklist not in UNSHOWN_CONDITIONS)


OPERATIONS: tuple[OperationSpec, ...] = (
    OperationSpec(CONTRACT_OPERATIONS["services"], "GR2-SVC-LIST"),
    OperationSpec(CONTRACT_OPERATIONS["service-definition"], "GR2-SVC-DEF"),
    OperationSpec(CONTRACT_OPERATIONS["requests"], "GR2-REQ-SCHEMA"),
    OperationSpec(CONTRACT_OPERATIONS["request"], "GR2-REQ-SCHEMA"),
    OperationSpec(CONTRACT_OPERATIONS["tokens"], "GR2-TOKEN-ANSWER"),
    OperationSpec(CONTRACT_OPERATIONS["discovery"], "GR2-DISCOVERY", negative=False),
    OperationSpec(CONTRACT_OPERATIONS["post-request"], "GR2-POST-RESPONSE", negative=False),
)


UNSHOWN_CONDITIONS = frozenset({"write", "readback", "pending"})  # checklist keys no generated request shows
CONTENT_TYPE_REQUIREMENT = {"json": "GR2-FMT-JSON-CONTENT-TYPE", "xml": "GR2-FMT-XML-CONTENT-TYPE"}
UNSAFE_XML = "unsafe XML refused"  # how wire's UnsafeXmlError reads once schemathesis wraps it

Blame = Callable[["Answered", Any], str]
Blamable = Callable[["OperationSpec", str], tuple[str, ...]]


@dataclass(slots=True, frozen=True)
class Answered:
    """What a judgement's blame looks at: the operation, the format and the answer's status."""

    spec: OperationSpec
    fmt: str
    status: int


@dataclass(slots=True, frozen=True)
class Judgement:
    """One property every generated answer is judged on, and the requirement its failure breaks.

    ``blame`` names the one requirement a failure of ``check`` broke; ``requirements`` lists
    every one it can name, so a check's marks are the union of its judgements' and a finding
    can never blame a requirement its check does not carry.
    """

    name: str
    check: Callable[..., Any]
    blame: Blame
    requirements: Blamable


def _one(requirement: str) -> tuple[Blame, Blamable]:
    return (lambda _answered, _failure: requirement), (lambda _spec, _fmt: (requirement,))


def _content_type_blame(answered: Answered, _failure: Any) -> str:
    # an error answer in another type is an error not in the requested format
    return "GR2-ERR-FORMAT" if answered.status >= 400 else CONTENT_TYPE_REQUIREMENT[answered.fmt]


def _by_format() -> tuple[Blame, Blamable]:
    return _content_type_blame, (lambda _spec, fmt: (CONTENT_TYPE_REQUIREMENT[fmt], "GR2-ERR-FORMAT"))


def _schema_blame(answered: Answered, failure: Any) -> str:
    unreadable = isinstance(failure, ContentDeserializationError | MalformedJson)
    if answered.status >= 400:
        # an error answer that cannot be read in its format, or that is not an error list
        return "GR2-ERR-FORMAT" if unreadable else "GR2-ERR-BODY"
    if unreadable and answered.fmt == "xml":
        return "GR2-FMT-XML-SAFE" if UNSAFE_XML in (failure.message or "") else "GR2-FMT-XML-ROOT"
    return answered.spec.schema_requirement


def _schema_requirements(spec: OperationSpec, fmt: str) -> tuple[str, ...]:
    xml = ("GR2-FMT-XML-ROOT", "GR2-FMT-XML-SAFE") if fmt == "xml" else ()
    return ("GR2-ERR-FORMAT", "GR2-ERR-BODY", *xml, spec.schema_requirement)


def _named_by_check(default: str) -> Blame:
    """The requirement a check of ours named when it raised (wiring.Blamed), else ``default``."""
    def blame(_answered: Answered, failure: Any) -> str:
        raised = getattr(failure, "exception", None)
        return raised.requirement if isinstance(raised, wiring.Blamed) else default

    return blame


# What the fuzzing judges. Each judgement runs on its own, so a failure is blamed on the
# requirement of the judgement that raised it, never on every requirement of the check.
JUDGEMENTS: tuple[Judgement, ...] = (
    Judgement("server error", not_a_server_error, *_one("GR2-ERR-NO-5XX")),
    Judgement("undocumented status", openapi_checks.status_code_conformance, *_one("GR2-STATUS-DOCUMENTED")),
    Judgement("undocumented content type", openapi_checks.content_type_conformance, *_by_format()),
    Judgement("schema violation", openapi_checks.response_schema_conformance, _schema_blame,
              _schema_requirements),
    Judgement("invalid input accepted", wiring.open311_negative_rejected, _named_by_check(rules.INPUT_REFUSED),
              lambda spec, _fmt: rules.refusal_requirements(spec.operation_id)),
    Judgement("wrong content type for the format", wiring.open311_format_content_type, *_by_format()),
    Judgement("error list", wiring.open311_error_list, _named_by_check("GR2-ERR-BODY"),
              lambda _spec, _fmt: ("GR2-ERR-FORMAT", "GR2-ERR-BODY")),
    Judgement("key not enforced", wiring.open311_key_enforced, _named_by_check("GR2-KEY-INVALID"),
              lambda spec, _fmt: ("GR2-KEY-INVALID", "GR2-KEY-MISSING") if spec.method == "POST" else ()),
)


@dataclass(slots=True)
class Finding:
    """One generated request whose answer broke the contract."""

    method: str
    url: str
    status: int | None
    failures: list[Broken]
    curl: str

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.requirement for f in self.failures))

    def describe(self) -> str:
        head = f"{self.method} {self.url} -> {self.status}"
        lines = [head] + [f"    {f}" for f in self.failures] + [f"    reproduce: {self.curl}"]
        return "\n".join(lines)


@dataclass(slots=True, frozen=True)
class Broken:
    """One property a generated answer broke, in the kit's words, and the requirement it names."""

    requirement: str
    text: str

    def __str__(self) -> str:
        return f"{self.requirement}: {self.text}"


@dataclass(slots=True)
class FuzzResult:
    operation_id: str
    fmt: str
    seed: int
    examples: int
    cases: int = 0
    repeated: int = 0  # cases that drew a GET this check had sent already: answered and judged once
    findings: list[Finding] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    # answers another check got to the same GET, judged here instead of sending it (one per case)
    shared: list[Exchange] = field(default_factory=list)
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
         profile: Profile | str = profiles.DEFAULT) -> FuzzResult:
    """Generate, send and judge the cases of one operation in one format, with the
    parameters and schemas of ``profile``."""
    schema = wiring.load_schema(profile)
    operation = schema[spec.path][spec.method]
    adapter = wiring.TransportAdapter(transport, f"{LABEL_PREFIX} {spec.operation_id} {fmt}")
    session = wiring.session_for(adapter)
    result = FuzzResult(spec.operation_id, fmt, seed, examples, exchanges=adapter.sent, shared=adapter.shared)
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
        repeated = adapter.repeated
        try:
            response = case.call(**kwargs)
            answered_by = adapter.answered_by  # before judging: a POST's key probe is sent then
            result.cases += 1
            if adapter.repeated > repeated:  # the same GET as an earlier case: its answer is judged already
                result.repeated += 1
                return
            broken = judge(case, response, spec, fmt, kwargs)
            if broken:
                result.findings.append(Finding(
                    answered_by.method, answered_by.url, answered_by.status,
                    [Broken(b.requirement, transport.redact(b.text)) for b in broken],
                    wiring.curl_command(answered_by)))
        except TransportError as exc:
            result.error = exc

    for draw in draws(spec, fmt, seed, examples):
        if result.error is not None:
            break
        for case in drawn.cases(operation, draw, _generate):
            one(case)
    return result


def draw_ahead(profile: Profile | str, seed: int, examples: int) -> drawn.Ahead | None:
    """Start drawing, on another core, what every check of a run with these settings draws and is
    not kept yet (:func:`drawn.ahead`); stop it when the run's checks are done. A run that draws
    (the first on a machine, or after a change of its inputs) spends a second of CPU on it, most
    of which then overlaps the run's own work instead of adding to it (issue 21)."""
    schema = wiring.load_schema(profile)
    return drawn.ahead([(schema[spec.path][spec.method], draw) for spec in OPERATIONS for fmt in FORMATS
                        for draw in draws(spec, fmt, seed, examples)], _generate)


def draws(spec: OperationSpec, fmt: str, seed: int, examples: int) -> list[drawn.Draw]:
    """What the check of ``spec`` in ``fmt`` draws: valid cases, then invalid ones when the
    operation has parameters to make invalid."""
    # a different stream per check, the same one for the same seed
    check_seed = seed ^ zlib.crc32(f"{spec.operation_id} {fmt}".encode())
    modes = [(GenerationMode.POSITIVE, min(POST_CASES_PER_FORMAT, examples)
              if spec.method == "POST" else examples)]
    if spec.negative:
        modes.append((GenerationMode.NEGATIVE, max(1, examples // 2)))
    return [drawn.Draw(spec.operation_id, fmt, mode, count, check_seed + (mode is GenerationMode.NEGATIVE))
            for mode, count in modes if count > 0]


def _generate(operation: Any, draw: drawn.Draw, take: Callable[[Any], None]) -> None:
    """Draw ``draw``'s cases of ``operation`` with Hypothesis, handing each to ``take`` (in the
    run's process, or in the one drawing ahead)."""
    strategy = operation.as_strategy(generation_mode=draw.mode, path_parameters={"format": draw.fmt})
    with hypothesis_files_in_the_kits_cache():
        _drive(strategy, draw.count, draw.seed, take)


def hypothesis_home() -> Path:
    """Where Hypothesis keeps its files while the fuzzing generates: the kit's cache."""
    return cachedir.cache_home() / "hypothesis"


@contextlib.contextmanager
def hypothesis_files_in_the_kits_cache() -> Iterator[None]:
    """Hypothesis' files in :func:`hypothesis_home` while the fuzzing generates, not in the
    current directory. It keeps only what it derives the same every time (its Unicode tables,
    the constants it reads from source files, by their hash; no example database here), and
    deriving them anew costs 1.6 s of CPU: in a directory without them every run paid it (a
    new checkout, CI, a user's own folder) and left a ``.hypothesis`` directory there (issue
    21). A HYPOTHESIS_STORAGE_DIRECTORY of the user's own is left to decide; afterwards
    Hypothesis finds its directory as before, for whatever else runs in the process."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    configuration.set_hypothesis_home_dir(hypothesis_home())
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(None)


def judge(case: Any, response: Any, spec: OperationSpec, fmt: str, kwargs: Mapping[str, Any]) -> list[Broken]:
    """Every property ``response`` broke, each blamed on its own requirement.

    A 5xx is a server error and nothing else: what its body or content type lacks follows
    from the failure, and blaming it again would name requirements the server never reached.
    """
    answered = Answered(spec, fmt, response.status_code)
    judgements = JUDGEMENTS[:1] if response.status_code >= 500 else JUDGEMENTS
    if spec.method != "POST" and _passes_all(case, response, judgements, kwargs):
        return []
    broken = []
    for judgement in judgements:
        try:
            case.validate_response(response, checks=[judgement.check], transport_kwargs=dict(kwargs))
        except (FailureGroup, Failure) as raised:
            failures = raised.exceptions if isinstance(raised, FailureGroup) else [raised]
            broken += [Broken(judgement.blame(answered, f), _describe(judgement, f)) for f in failures]
    return broken


@contextlib.contextmanager
def seed_alone() -> Iterator[None]:
    """Generation decided by the seed alone. Hypothesis also draws, now and then, from the string
    and number constants of every "local" module loaded (the kit's own among them), so the same
    seed sent other requests under another kit version or command (``rejudge`` loads modules
    ``run`` does not): a re-judged run could not ask what the recorded one asked. Its pool of
    local constants is empty while the kit generates (an internal of Hypothesis: pinned here,
    and tests/test_rejudge.py fails if it stops holding)."""
    original = getattr(providers, "_get_local_constants", None)
    if original is None or not hasattr(providers, "CONSTANTS_CACHE"):
        # a Hypothesis without that pool (older) or with another shape (newer): generation goes
        # on as the library does it, and only re-judging's reproduction test can tell
        yield
        return
    empty = providers.Constants()
    providers.CONSTANTS_CACHE.cache.clear()  # choices cached from the pool with the constants
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def _passes_all(case: Any, response: Any, judgements: tuple[Judgement, ...], kwargs: Mapping[str, Any]) -> bool:
    """Whether the answer breaks none of ``judgements``, asked in one call: most answers break
    nothing, and each call pays schemathesis' set-up (its config, the response converted) once
    more, a third of the judging's CPU (issue 21). The checks of one call run independently and
    send nothing for a GET (only a POST's key probe sends), so an answer that breaks something
    is judged again one judgement at a time, to blame each failure on its own requirement."""
    try:
        case.validate_response(response, checks=[j.check for j in judgements], transport_kwargs=dict(kwargs))
    except (FailureGroup, Failure):
        return False
    return True


def _drive(strategy: Any, count: int, seed: int, body: Callable[[Any], None]) -> None:
    @hypothesis.seed(seed)
    @hypothesis.settings(max_examples=count, database=None, deadline=None, derandomize=False,
                         phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                         verbosity=Verbosity.quiet, report_multiple_bugs=False)
    @hypothesis.given(strategy)
    def run(case: Any) -> None:
        body(case)

    with seed_alone():
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


def _describe(judgement: Judgement, failure: Any) -> str:
    """A failure in the kit's words: the judgement's name, then what the answer did against what
    the contract documents. Never the fuzzing library's titles ("Custom check failed: `name`",
    "Undocumented Content-Type"): a reader of the report does not know its internals."""
    words = _in_kit_words(failure)
    return f"{judgement.name}: {words}" if words else judgement.name


def _in_kit_words(failure: Any) -> str:
    if isinstance(failure, UndefinedStatusCode):
        return (f"status {failure.status_code} is not one the contract documents for this operation "
                f"(documented: {', '.join(map(str, failure.defined_status_codes))})")
    if isinstance(failure, UndefinedContentType):
        return (f"content type {failure.content_type} is not one the contract documents "
                f"(documented: {', '.join(failure.defined_content_types)})")
    if isinstance(failure, MissingContentType):
        return "the answer has no Content-Type header"
    if isinstance(failure, MalformedMediaType):
        return f"the Content-Type {failure.actual!r} is not a media type"
    if isinstance(failure, JsonSchemaError):
        where = "/".join(str(part) for part in failure.instance_path)
        return f"the body is off its schema at {where or 'its top level'}: {failure.validation_message}"
    if isinstance(failure, MalformedJson):
        return f"the body is not valid JSON: {failure.validation_message}"
    if isinstance(failure, ServerError):
        return f"the server answered {failure.status_code}"
    # the kit's own checks (CustomFailure: the message of their AssertionError) and the rest
    message = (getattr(failure, "message", "") or "").strip()
    return " ".join(line.strip() for line in message.splitlines()[:3] if line.strip())
