"""What schemathesis is told: the schema, the XML deserializer, Open311 checks, the adapter.

Registration (deserializer, checks) happens once, on import, the documented way
(``@schemathesis.deserializer``, ``@schemathesis.check``). Nothing here opens a socket: the
:class:`TransportAdapter` mounted on the session schemathesis is handed sends every request
through :class:`~conformance.transport.Transport`.
"""

from __future__ import annotations

import copy
import io
import shlex
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import schemathesis
from requests.adapters import BaseAdapter, HTTPAdapter
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi import checks as openapi_checks
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from conformance import contract, profiles, wire
from conformance.profiles import Profile
from conformance.run.fuzzing import rules
from conformance.transport import Exchange, Response, SameGet, Transport

# JSONP answers are JavaScript, not JSON, and .xml ignores the parameter: the scenarios judge
# it (CHI-JSONP), fuzzing it would only report the documented wrapping as a stray content type
UNFUZZED_PARAMETERS = frozenset({"callback"})
# request headers that are the fuzzing library's, not the kit's: its User-Agent (the kit's
# requests all carry the transport's) and its case id; left out, a generated GET is the same
# request as a scenario's, and the server is told nothing it could answer differently
BOOKKEEPING = frozenset({"user-agent", "x-schemathesis-testcaseid"})


SCHEMA_REF_PREFIX = f"{contract.SCHEMAS}/{profiles.DEFAULT.schema_set}/"


def unfuzzed_parameters(profile: Profile) -> frozenset[str]:
    """What the fuzzing leaves out under ``profile``: JSONP, and the parameters of the quirks it
    lacks (a server following the specification alone ignores them, so generating invalid
    values for them proves nothing)."""
    return UNFUZZED_PARAMETERS | profile.quirks.undocumented_parameters()


def load_schema(profile: Profile | str = profiles.DEFAULT) -> Any:
    """openapi.yaml as schemathesis sees it under ``profile``: its parameters, its schemas."""
    return _load_schema(profiles.get(profile))


@cache
def _load_schema(profile: Profile) -> Any:
    raw = copy.deepcopy(contract.load_openapi())
    left_out = unfuzzed_parameters(profile)
    for item in raw.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [p for p in operation["parameters"] if _name(p, raw)
                                           not in left_out]
    # the bodies reference the default profile's schemas; another profile judges with its own
    raw = _with_schema_set(raw, profile.schema_set)
    _tolerate_application_xml(raw)
    # an explicit, empty config: a schemathesis.toml lying around must not change a verdict
    schema = schemathesis.openapi.from_dict(raw, config=schemathesis.Config())
    schema.location = contract.openapi_path().resolve().as_uri()
    _READINGS[id(schema)] = _Reading(profile, {
        op.operation_id: rules.parameters_of(raw, op.operation_id) for op in contract.OPERATION_TABLE})
    return schema


@dataclass(slots=True, frozen=True)
class _Reading:
    """How the rules read a request of a loaded schema: its profile, each operation's parameters."""

    profile: Profile
    parameters: dict[str, dict[str, dict[str, Any]]]


_READINGS: dict[int, _Reading] = {}  # id() of a cached schema -> its reading


def _tolerate_application_xml(node: Any) -> None:
    """application/xml next to every text/xml body: tolerated by GR2-FMT-XML-CONTENT-TYPE (the
    specification's text/xml is a SHOULD of its own, GR2-FMT-XML-TEXT)."""
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, dict) and "text/xml" in content:
            content.setdefault("application/xml", content["text/xml"])
        for value in node.values():
            _tolerate_application_xml(value)
    elif isinstance(node, list):
        for value in node:
            _tolerate_application_xml(value)


def _with_schema_set(node: Any, schema_set: str) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace(SCHEMA_REF_PREFIX, f"{contract.SCHEMAS}/{schema_set}/", 1)
                    if k == "$ref" and isinstance(v, str) else _with_schema_set(v, schema_set))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_with_schema_set(v, schema_set) for v in node]
    return node


def _name(parameter: dict[str, Any], raw: dict[str, Any]) -> str | None:
    ref = parameter.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
        parameter = raw["components"]["parameters"].get(ref.rsplit("/", 1)[1], {})
    return parameter.get("name")


class Blamed(AssertionError):
    """A check of ours failed, naming the one requirement the answer broke."""

    def __init__(self, requirement: str, message: str) -> None:
        super().__init__(message)
        self.requirement = requirement


# -- answers ------------------------------------------------------------------------------------
def resource_for(operation_id: str | None, status: int) -> str | None:
    """The resource an answer of that operation and status carries (the contract's table)."""
    if status >= 400:
        return "errors"
    operation = contract.OPERATIONS_BY_ID.get(operation_id or "")
    return operation.resource if operation is not None else None


def _operation_id(operation: Any) -> str | None:
    definition = getattr(operation, "definition", None)
    raw = getattr(definition, "raw", None)
    return raw.get("operationId") if isinstance(raw, dict) else None


@schemathesis.deserializer("text/xml", "application/xml")
def deserialize_xml(ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> Any:
    """XML decoded by the kit's own rules, so one JSON Schema judges both formats.

    ``wire`` refuses DTDs and entities and checks the root element the resource must have;
    its WireError becomes schemathesis' "content deserialization error" failure.
    """
    resource = resource_for(_operation_id(ctx.operation), response.status_code)
    expected = wire.ROOTS.get(resource) if resource else None
    _root, data = wire.decode_xml(response.content, expected_root=expected)
    return data


def _requested_format(case: Any) -> str | None:
    fmt = (case.path_parameters or {}).get("format")
    return fmt if fmt in wire.FORMATS else None


@schemathesis.check
def open311_format_content_type(ctx: Any, response: schemathesis.Response, case: Any) -> bool | None:
    """A .json answer is application/json and an .xml answer text/xml, errors included.

    schemathesis' own content-type check accepts any documented type, and every response here
    documents both, so a .xml answer served as JSON would pass it.
    """
    fmt = _requested_format(case)
    if fmt is None or response.status_code >= 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if not wire.content_type_matches(content_type, fmt):
        wanted = " or ".join(wire.JSON_CONTENT_TYPES if fmt == "json" else wire.XML_CONTENT_TYPES)
        raise AssertionError(f"a .{fmt} answer ({response.status_code}) must be served as {wanted}, "
                             f"not {content_type or 'no Content-Type'}")
    return True


@schemathesis.check
def open311_error_list(ctx: Any, response: schemathesis.Response, case: Any) -> bool | None:
    """Every 4xx answer, documented or not, is a GeoReport error list in the requested format."""
    fmt = _requested_format(case)
    if fmt is None or not 400 <= response.status_code < 500:
        return None
    try:
        data = wire.decode(response.content, fmt, "errors").data
    except wire.WireError as exc:
        raise Blamed("GR2-ERR-FORMAT", f"the {response.status_code} answer is not an error list in "
                                       f"{fmt}: {exc}") from None
    violations = contract.validate(data, "errors", contract.DEFAULT_PROFILE)
    if violations:
        raise Blamed("GR2-ERR-BODY", f"the {response.status_code} answer is not a list of code and "
                                     f"description: {violations[0]}")
    return True


@schemathesis.check
def open311_negative_rejected(ctx: Any, response: schemathesis.Response, case: Any) -> bool | None:
    """Invalid input is refused with a 4xx, unless the requirements let the server answer it.

    schemathesis' ``negative_data_rejection``, minus two query-string readings the City's
    documentation leaves open: a repeated parameter (the first counts) and empty items of a
    comma-separated list (ignored), both from serialising mutated arrays and objects; and minus
    every request whose invalid parameters the rules (:mod:`conformance.run.fuzzing.rules`) all
    excuse: empty ones, the rest beside a service_request_id, ones the profile does not define,
    refusals below MUST, a clamped page_size; and every request that, as sent, holds no invalid
    value (schemathesis' mutation serialised to a valid one). Any invalid parameter no rule
    excuses is still demanded a 4xx.
    """
    query = urlsplit(response.request.url or "").query
    pairs = parse_qsl(query, keep_blank_values=True)
    names = [name for name, _value in pairs]
    if len(names) != len(set(names)) or any("," in v and "" in v.split(",") for _n, v in pairs):
        return None
    request = _read(case, pairs)
    if request is not None and rules.excuses(request) is not None:
        return None
    try:
        return openapi_checks.negative_data_rejection(ctx, response, case)
    except Failure as failure:
        # blamed on the requirement that demands refusing what was sent (rules.REFUSALS)
        requirement = rules.refusal_requirement(request) if request is not None else rules.INPUT_REFUSED
        raise Blamed(requirement, f"{failure.title}: {failure.message}") from None


def _read(case: Any, pairs: list[tuple[str, str]]) -> rules.Request | None:
    """The case as the server received it, read by the rules; None when it cannot be read."""
    reading = _READINGS.get(id(getattr(case.operation, "schema", None)))
    operation_id = _operation_id(case.operation)
    if reading is None or operation_id is None:
        return None
    return rules.read(operation_id, reading.profile, pairs, case.path_parameters or {},
                      reading.parameters.get(operation_id, {}))


KEY_PARAMETER = "api_key"
WRONG_KEY = "open311-conformance-not-a-key"


@schemathesis.check
def open311_key_enforced(ctx: Any, response: schemathesis.Response, case: Any) -> bool | None:
    """A POST with a wrong key is refused (401/403), and so is the same POST without a key.

    The generated POST carries a key the target never issued, so a conformant target writes
    nothing. schemathesis' own ``ignored_auth`` sends its probes through a session of its
    own, which would bypass the kit's transport; the probe goes through the case's session.
    """
    if case.method.upper() != "POST":
        return None
    if response.status_code not in (401, 403):
        raise Blamed("GR2-KEY-INVALID", f"POST with a wrong api_key answered {response.status_code}, expected 403")
    session = (ctx.internals.transport_kwargs or {}).get("session")
    if session is None:
        return None
    url = _with_key(response.request.url or "", None)
    probe = session.request("POST", url, data=response.request.body,
                            headers={k: v for k, v in response.request.headers.items()
                                     if k.lower() in ("content-type",)})
    if probe.status_code not in (401, 403):
        raise Blamed("GR2-KEY-MISSING", f"POST without api_key answered {probe.status_code}, expected 403")
    return True


def _with_key(url: str, key: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != KEY_PARAMETER]
    if key is not None:
        query.append((KEY_PARAMETER, key))
    return urlunsplit(parts._replace(query=urlencode(query)))


# -- sending ------------------------------------------------------------------------------------
class TransportAdapter(BaseAdapter):
    """A requests adapter that sends through the kit's transport and keeps what it sent.

    A GET it has sent already (the same request: Hypothesis draws one again now and then, most
    often the one with no optional parameter) is not sent twice: its first answer is handed
    back, and ``repeated`` counts it. Against a remote target every request costs
    the run its pace (a fifth of a second), and asking again tells nothing the first answer
    did not; the check that asked has judged that answer already (issue 21).

    A GET another check of the run sent already, the same request to the byte but for the
    library's bookkeeping, is not sent either when the transport shares answers: that answer
    is judged here, and ``shared`` keeps its exchange for the check to cite. The fuzzing
    judges what any answer to the request must be, so the answer another check got serves as
    well as its own would (the other way round never: a scenario sends what it judges).
    """

    def __init__(self, transport: Transport, label: str) -> None:
        super().__init__()
        self._builder = HTTPAdapter()
        self.transport = transport
        self.label = label
        self.sent: list[Exchange] = []
        self.shared: list[Exchange] = []  # answers other checks got to this check's GETs
        self.repeated = 0
        self.answered_by: Exchange | None = None  # the exchange whose answer the last request got
        self._answers: dict[SameGet, Response] = {}

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        method, url = (request.method or "GET").upper(), request.url or ""
        headers = {name: value for name, value in request.headers.items() if name.lower() not in BOOKKEEPING}
        plain_get = method == "GET" and not request.body
        asked = self.transport.same_get(url, headers)
        answer = self._answers.get(asked) if plain_get else None
        if answer is not None:
            self.repeated += 1
        else:
            answer = self.transport.answered_get(url, headers) if plain_get else None
            if answer is not None:
                self.shared.append(answer.exchange)
            else:
                answer = self.transport.send(method, url, body=request.body, headers=headers, label=self.label)
                self.sent.append(answer.exchange)
            if plain_get:
                self._answers[asked] = answer
        self.answered_by = answer.exchange
        raw = HTTPResponse(body=io.BytesIO(answer.body), headers=HTTPHeaderDict(dict(answer.headers)),
                           status=answer.status, reason=answer.exchange.reason, version=11,
                           preload_content=False, decode_content=False)
        return self._builder.build_response(request, raw)

    def close(self) -> None:
        self._builder.close()


class _NoRedirects(requests.Session):
    """A session that follows no redirect, whatever its caller asks: schemathesis calls
    ``request`` with requests' default (follow), which would re-send a POST's body to any
    Location. The transport follows a GET within the target's origin itself, hop by hop."""

    def resolve_redirects(self, *args: Any, **kwargs: Any) -> Any:
        return iter(())


def session_for(adapter: TransportAdapter) -> requests.Session:
    """A session whose every URL goes to ``adapter``: schemathesis never opens its own."""
    session = _NoRedirects()
    session.trust_env = False
    session.adapters.clear()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def curl_command(exchange: Exchange) -> str:
    """A curl command repeating an exchange; built from the evidence, so the key is redacted."""
    parts = ["curl", "-X", exchange.method, shlex.quote(exchange.url)]
    for name, value in exchange.request_headers.items():
        # the fuzzing library's case id is its bookkeeping, nothing the server judged
        if name.lower() in ("user-agent", "accept-encoding", "accept", "connection", "content-length",
                            "x-schemathesis-testcaseid"):
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if exchange.request_body:
        parts += ["--data-raw", shlex.quote(exchange.request_body)]
    return " ".join(parts)
