"""What a server may answer normally although the schema calls the input invalid.

schemathesis' negative-data check demands a 4xx for every value outside a parameter's schema.
The requirements say less: an empty parameter is absent, ``service_request_id`` overrides every
other argument of the request list, a parameter the profile does not define may be ignored, a
refusal the profile makes a SHOULD may be skipped, a ``page_size`` over 500 may be clamped.
``open311_negative_rejected`` asks :func:`excuses` first: when every invalid component of the
request is excused by one of :data:`RULES`, or when the request as sent holds no invalid
value at all (a mutation that serialised to a valid one), it demands nothing (a 5xx still
fails through ``not_a_server_error``); any invalid component no rule excuses is still
demanded a 4xx.

Each rule is one function ``(parameter, request) -> bool`` naming its requirement and the
source it reads, so a rule can be traced to the sentence that allows the leniency.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from conformance import contract, requirements
from conformance.outcomes import Level
from conformance.profiles import Profile

REQUEST_LIST = "getServiceRequests"
ID_FILTER = "service_request_id"


@dataclass(slots=True, frozen=True)
class Parameter:
    """One parameter as the server received it: the text, and whether its schema allows it."""

    name: str
    location: str  # query | path
    text: str
    valid: bool
    schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class Request:
    """What a generated request sent, read against the operation's parameters under a profile."""

    operation_id: str
    profile: Profile
    parameters: tuple[Parameter, ...]

    def get(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def invalid(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if not p.valid)


@dataclass(slots=True, frozen=True)
class Rule:
    name: str
    requirement: str | None  # the requirement whose source allows the leniency
    source: str  # the sentence it rests on
    applies: Callable[[Parameter, Request], bool]


@dataclass(slots=True, frozen=True)
class Excuse:
    parameter: str
    rule: Rule

    def describe(self) -> str:
        return f"{self.parameter}: {self.rule.name} ({self.rule.requirement or self.rule.source})"


# -- the rules ----------------------------------------------------------------------------------
def empty_is_absent(parameter: Parameter, request: Request) -> bool:
    """An optional query parameter sent empty counts as not sent (GR2-PARAMS-EMPTY)."""
    return parameter.location == "query" and parameter.text == ""


def id_overrides_the_rest(parameter: Parameter, request: Request) -> bool:
    """With a usable service_request_id, every other argument of the list may be ignored."""
    ids = request.get(ID_FILTER)
    return (request.operation_id == REQUEST_LIST and parameter.location == "query"
            and parameter.name != ID_FILTER and ids is not None and ids.valid
            and bool(ids.text.strip()))


def not_defined_by_the_profile(parameter: Parameter, request: Request) -> bool:
    """A parameter the profile's contract does not define for the operation may be ignored."""
    return parameter.location == "query" and not parameter.schema


def refusal_is_not_a_must(parameter: Parameter, request: Request) -> bool:
    """Where the requirement demanding the refusal is below MUST under the profile."""
    requirement_id = REFUSALS.get((request.operation_id, parameter.name))
    if requirement_id is None:
        return False
    requirement = requirements.load().get(requirement_id)
    return requirement is not None and request.profile.selects(requirement) \
        and request.profile.level_of(requirement) is not Level.MUST


def page_size_clamped(parameter: Parameter, request: Request) -> bool:
    """A page_size above its maximum may be answered with at most the maximum of rows."""
    maximum = parameter.schema.get("maximum")
    return (parameter.name == "page_size" and maximum is not None
            and re.fullmatch(r"\d{1,30}", parameter.text) is not None
            and int(parameter.text) > maximum)


RULES: tuple[Rule, ...] = (
    Rule("empty is absent", "GR2-PARAMS-EMPTY",
         'GR2, general: "optional" arguments sent empty are treated as not sent', empty_is_absent),
    Rule("service_request_id overrides the rest", "GR2-FILTER-ID",
         'GR2, "GET Service Requests", service_request_id: "This overrides all other arguments."',
         id_overrides_the_rest),
    Rule("not defined by the profile", None,
         "openapi.yaml under the profile: the operation defines no such parameter, and a server "
         "following the specification alone ignores what it does not know",
         not_defined_by_the_profile),
    Rule("refusal is not a MUST here", "GR2-BAD-STATUS-400",
         'GR2, "GET Service Requests": status is open or closed, "the reaction to another value '
         'is not stated"; requirements.yaml levels the refusal per profile',
         refusal_is_not_a_must),
    Rule("page_size clamped", "CHI-PAGE-SIZE-LIMIT",
         "CHI: a page_size above 500 is refused with 400 or answers at most 500 rows",
         page_size_clamped),
)

# (operation, parameter) -> the requirement that demands refusing an invalid value; its level
# under the profile decides whether refusal_is_not_a_must excuses it
REFUSALS: dict[tuple[str, str], str] = {
    (REQUEST_LIST, "status"): "GR2-BAD-STATUS-400",
    (REQUEST_LIST, "start_date"): "GR2-BAD-DATE-400",
    (REQUEST_LIST, "end_date"): "GR2-BAD-DATE-400",
    (REQUEST_LIST, "updated_after"): "GR2-BAD-DATE-400",
    (REQUEST_LIST, "updated_before"): "GR2-BAD-DATE-400",
    (REQUEST_LIST, "page"): "CHI-PAGE-SIZE-LIMIT",
    (REQUEST_LIST, "page_size"): "CHI-PAGE-SIZE-LIMIT",
}


INPUT_REFUSED = "GR2-INPUT-REFUSED"  # what an unexcused invalid value breaks when nothing sharper does


def refusal_requirement(request: Request) -> str:
    """The requirement an accepted ``request`` breaks: the one demanding the refusal of its
    first invalid, unexcused parameter that has one (an accepted malformed date breaks
    GR2-BAD-DATE-400), else GR2-INPUT-REFUSED."""
    for parameter in request.invalid:
        if any(r.applies(parameter, request) for r in RULES):
            continue
        named = REFUSALS.get((request.operation_id, parameter.name))
        if named is not None:
            return named
    return INPUT_REFUSED


def refusal_requirements(operation_id: str) -> tuple[str, ...]:
    """Every requirement :func:`refusal_requirement` can name for the operation."""
    return (*dict.fromkeys(r for (op, _name), r in REFUSALS.items() if op == operation_id), INPUT_REFUSED)


def excuses(request: Request, rules: tuple[Rule, ...] | None = None) -> list[Excuse] | None:
    """Why the server may answer ``request`` normally: one excuse per invalid parameter (an
    empty list when nothing it received is invalid: a mutation that serialised to a valid
    value, such as ``service_code=false``, demands nothing), or None when some invalid
    parameter has no excuse. ``rules``: :data:`RULES` unless given."""
    found = []
    for parameter in request.invalid:
        rule = next((r for r in (RULES if rules is None else rules) if r.applies(parameter, request)), None)
        if rule is None:
            return None
        found.append(Excuse(parameter.name, rule))
    return found


# -- reading a request --------------------------------------------------------------------------
def read(operation_id: str, profile: Profile, query: list[tuple[str, str]],
         path: Mapping[str, Any], defined: Mapping[str, Mapping[str, Any]]) -> Request:
    """The request's parameters, each judged by its schema in ``defined`` (name -> the
    parameter's OpenAPI definition under the profile); the first of repeated ones counts."""
    parameters: list[Parameter] = []
    seen: set[tuple[str, str]] = set()
    for location, pairs in (("query", query), ("path", [(n, str(v)) for n, v in path.items()
                                                           if n != "format"])):
        for name, text in pairs:
            if (location, name) in seen:
                continue
            seen.add((location, name))
            definition = defined.get(name) or {}
            schema = definition.get("schema") or {}
            # undefined: not a value of the contract; the rule not_defined_by_the_profile says
            # whether the server may ignore it
            parameters.append(Parameter(name, location, text, bool(schema) and valid(text, schema),
                                        schema))
    return Request(operation_id, profile, tuple(parameters))


def valid(text: str, schema: Mapping[str, Any]) -> bool:
    """Whether the query-string text is a value of the parameter's schema (arrays comma-
    separated, numbers and booleans as their text)."""
    value: Any = text
    kind = schema.get("type")
    if kind == "array":
        value = text.split(",")
    elif kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            return False
        value = int(text)
    elif kind == "boolean":
        if text not in ("true", "false"):
            return False
        value = text == "true"
    return Draft202012Validator(dict(schema), format_checker=contract.format_checker()).is_valid(value)


def parameters_of(raw: Mapping[str, Any], operation_id: str) -> dict[str, dict[str, Any]]:
    """name -> definition of the operation's parameters in an OpenAPI document (refs resolved)."""
    for item in raw.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                out = {}
                for parameter in operation.get("parameters", ()):
                    ref = parameter.get("$ref")
                    if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
                        parameter = raw["components"]["parameters"].get(ref.rsplit("/", 1)[1], {})
                    if parameter.get("name"):
                        out[parameter["name"]] = parameter
                return out
    return {}
