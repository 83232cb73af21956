"""The contract: ``openapi.yaml`` and ``schemas/``, loaded and applied to decoded documents.

Profiles (:mod:`conformance.profiles`) share one layout: ``georeport-v2`` is the
specification read strictly, and ``chicago`` (the default) is the City's documented
behaviour. Schemas are validated with Draft 2020-12 and an explicit format checker, so a
verdict never depends on which optional format packages happen to be installed. Nothing here
does I/O beyond reading the package's own contract files.

This module also holds the one table of the API's resources and operations
(:data:`RESOURCE_TABLE`, :data:`OPERATIONS`) that the wire format, the client, the scenarios
and the fuzzing share. The command line imports it for its ``choices``, so the validation
libraries are imported where they are used, not at the top.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance import profiles
from conformance.profiles import Profile

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

DEFAULT_PROFILE = profiles.DEFAULT
OPENAPI = "openapi.yaml"
SCHEMAS = "schemas"


# --- resources and operations --------------------------------------------------------------

@dataclass(slots=True, frozen=True)
class Resource:
    """A kind of document the API answers with: one schema per profile, one XML shape."""

    name: str  # schemas/<profile>/<name>.json
    xml_root: str  # the root element the specification gives it
    xml_row: str | None = None  # the repeated child of the root, for list documents


RESOURCE_TABLE: tuple[Resource, ...] = (
    Resource("services", "services", "service"),
    Resource("service-definition", "service_definition"),
    Resource("service-requests", "service_requests", "request"),
    Resource("post-response", "service_requests", "request"),
    Resource("token", "service_requests", "request"),
    Resource("errors", "errors", "error"),
    Resource("discovery", "discovery"),
)
RESOURCES_BY_NAME: dict[str, Resource] = {r.name: r for r in RESOURCE_TABLE}
RESOURCES: tuple[str, ...] = tuple(RESOURCES_BY_NAME)


@dataclass(slots=True, frozen=True)
class Operation:
    """One operation of the API, as openapi.yaml describes it.

    ``name`` is what requirements.yaml lists under ``endpoints``; ``title`` is how check
    ids and messages name it. Paths are relative to the versioned base (``.../v2/``), except
    for operations ``beside_base`` (discovery lives one level up).
    """

    name: str
    title: str
    operation_id: str  # openapi.yaml operationId
    method: str  # GET | POST
    template: str  # openapi.yaml path, e.g. /services/{service_code}.{format}
    resource: str  # what a successful answer carries (RESOURCES_BY_NAME)
    needs_key: bool = False
    beside_base: bool = False
    formats: tuple[str, ...] = ("json", "xml")

    @property
    def xml_root(self) -> str:
        return RESOURCES_BY_NAME[self.resource].xml_root

    def stem(self, **values: str) -> str:
        """The path without its format suffix, relative to the versioned base."""
        path = self.template.removeprefix("/").removesuffix(".{format}").format(**values)
        return "../" + path if self.beside_base else path

    def path(self, fmt: str, **values: str) -> str:
        return f"{self.stem(**values)}.{fmt}"


OPERATION_TABLE: tuple[Operation, ...] = (
    Operation("services", "services", "getServiceList", "GET", "/services.{format}", "services"),
    Operation("service-definition", "service definition", "getServiceDefinition", "GET",
              "/services/{service_code}.{format}", "service-definition"),
    Operation("requests", "requests", "getServiceRequests", "GET", "/requests.{format}",
              "service-requests"),
    Operation("request", "single request", "getServiceRequest", "GET",
              "/requests/{service_request_id}.{format}", "service-requests"),
    Operation("tokens", "token", "getServiceRequestIdFromToken", "GET", "/tokens/{token}.{format}",
              "token"),
    Operation("post-request", "POST request", "createServiceRequest", "POST", "/requests.{format}",
              "post-response", needs_key=True),
    Operation("discovery", "discovery", "getDiscovery", "GET", "/discovery.{format}", "discovery",
              beside_base=True),
)
OPERATIONS: dict[str, Operation] = {op.name: op for op in OPERATION_TABLE}
OPERATIONS_BY_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATION_TABLE}

# W3C-note date-times (seconds optional, zone mandatory). RFC 3339, which the stock
# "date-time" checker implements, would wrongly reject "2010-01-01T00:00Z".
_W3C_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_DATETIME_EXPECTED = "a W3C date-time with a zone, e.g. 2010-01-01T00:00:00Z"
# keywords whose automatic wording says nothing useful: the schema's description does
_DESCRIBED = frozenset({"not", "anyOf", "oneOf", "const"})


@dataclass(slots=True, frozen=True)
class Violation:
    """One way a document breaks the contract: where, what was expected, what was found."""

    pointer: str
    expected: str
    found: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: expected {self.expected}, found {self.found}"


@dataclass(slots=True, frozen=True)
class Validation:
    """The result of validating one document, with the rows the City says to ignore.

    ``warnings`` are empty strings where the schema lets the field be empty (null): real
    cities answer ``"media_url": ""`` for "no photo", which is the JSON twin of an empty
    XML element, so it is listed but does not make the document invalid.
    """

    resource: str
    profile: str
    violations: tuple[Violation, ...]
    items: int | None = None
    ignored: int = 0
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[Violation, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.violations


# --- locating the contract -----------------------------------------------------------------

def contract_root() -> Path:
    """The directory holding ``openapi.yaml`` and ``schemas/``.

    An installed wheel carries them in ``conformance/_contract`` (pyproject force-include);
    a checkout keeps them at the top of the repository, where reviewers read them.
    """
    packaged = Path(__file__).resolve().parent / "_contract"
    if (packaged / OPENAPI).is_file():
        return packaged
    return Path(__file__).resolve().parent.parent


def openapi_path() -> Path:
    return contract_root() / OPENAPI


def schema_path(resource: str, profile: Profile | str = DEFAULT_PROFILE) -> Path:
    if resource not in RESOURCES_BY_NAME:
        raise ValueError(f"unknown resource {resource!r}: expected one of {', '.join(RESOURCES)}")
    return schema_dir(profile) / f"{resource}.json"


def schema_dir(profile: Profile | str = DEFAULT_PROFILE) -> Path:
    """The folder of the profile's schema set: schemas/<schema_set>/."""
    return contract_root() / SCHEMAS / profiles.get(profile).schema_set


def schema_files() -> list[Path]:
    return sorted((contract_root() / SCHEMAS).rglob("*.json"))


@cache
def load_openapi() -> dict[str, Any]:
    """The parsed OpenAPI description (``$ref`` s left as written; see :func:`openapi_path`)."""
    import yaml

    with openapi_path().open(encoding="utf-8") as handle:
        # libyaml's parser when PyYAML has it (the same data, a tenth of the CPU: issue 21)
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def contract_hashes() -> dict[str, str]:
    """sha256 of openapi.yaml and every schema, keyed by path relative to the contract root."""
    root = contract_root()
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in [openapi_path(), *schema_files()]}


# --- pending rows --------------------------------------------------------------------------

def is_identified(row: Any) -> bool:
    """True when a row carries a usable ``service_request_id``.

    Non-objects count as identified so that validation reports them instead of dropping them.
    The Chicago schema's ``$defs/identified`` states the same rule; a test keeps them in step.
    """
    if not isinstance(row, dict):
        return True
    return row.get("service_request_id") not in (None, "")


def partition_rows(rows: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """Split a request list into (identified rows, pending rows).

    Chicago lists requests it is still processing with neither token nor
    ``service_request_id`` and instructs clients to ignore them until they get an id.
    """
    identified: list[Any] = []
    pending: list[Any] = []
    for row in rows:
        (identified if is_identified(row) else pending).append(row)
    return identified, pending


# --- rules beyond the schemas ---------------------------------------------------------------

# the identifiers of a request row (GR2-IDS-STRINGS)
REQUEST_IDENTIFIERS = ("service_request_id", "service_code", "address_id", "zipcode")


def numeric_identifiers(data: Any, resource: str) -> list[Violation]:
    """GR2-IDS-STRINGS over one JSON document: every identifier that is not a JSON string.

    The schemas let identifiers be numbers (the specification's own examples are), and the
    profile decides how much that matters, so this is a rule of its own: the run's check and
    ``validate`` both ask it, each then weighing it by the profile's level. Rows without a
    service_request_id are not judged (the City says to ignore them)."""
    found: list[Violation] = []

    def judge(path: tuple[Any, ...], value: Any, who: str) -> None:
        if value is not None and not isinstance(value, str):
            name = str(path[-1]) if path[-1] != "key" else "value key"
            found.append(Violation(_pointer(path), "a JSON string", _show(value), f"{who}: {name} {_show(value)}"))

    if resource == "services" and isinstance(data, list):
        for i, row in enumerate(data):
            if isinstance(row, dict):
                judge((i, "service_code"), row.get("service_code"), f"service {_show(row.get('service_code'))}")
    elif resource == "service-definition" and isinstance(data, dict):
        code = _show(data.get("service_code"))
        judge(("service_code",), data.get("service_code"), f"definition {code}")
        for i, attribute in enumerate(data.get("attributes") or []):
            if not isinstance(attribute, dict):
                continue
            for j, value in enumerate(attribute.get("values") or []):
                if isinstance(value, dict):
                    judge(("attributes", i, "values", j, "key"), value.get("key"),
                          f"definition {code}: attribute {attribute.get('code')}")
    elif resource == "service-requests" and isinstance(data, list):
        for i, row in enumerate(data):
            if isinstance(row, dict) and is_identified(row):
                for name in REQUEST_IDENTIFIERS:
                    judge((i, name), row.get(name), f"request {_show(row.get('service_request_id'))}")
    return found


# --- validation ----------------------------------------------------------------------------

def _check_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    match = _W3C_DATETIME.match(value)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    zone = match.group(8)
    return zone == "Z" or (int(zone[1:3]) <= 23 and int(zone[4:6]) <= 59)


def _check_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


def format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("date-time")(_check_datetime)
    checker.checks("uri")(_check_uri)
    return checker


@cache
def _registry() -> Registry:
    """Every schema under its ``$id``, so relative ``$ref`` s resolve offline."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = []
    for path in schema_files():
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents,
                                                                   default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def validator(resource: str, profile: Profile | str = DEFAULT_PROFILE) -> Draft202012Validator:
    return _validator(resource, profiles.get(profile).schema_set)


@cache
def _validator(resource: str, schema_set: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    path = contract_root() / SCHEMAS / schema_set / f"{resource}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=_registry(), format_checker=format_checker())


# what the quick check may pass: the JSON types, nothing the Rust validator would have to guess at
_JSON_SCALARS = (str, int, float, bool, type(None))


@cache
def _quick_check(resource: str, schema_set: str) -> Callable[[Any], bool] | None:
    """jsonschema_rs' ``is_valid`` for the same schema, registry and format checks as
    :func:`_validator`, or None where it is not installed or cannot load them.

    It only ever says "valid": :func:`judge` takes its word for a document that breaks nothing
    (most of a run's documents, at a fiftieth of the CPU: about a quarter of a second per run,
    issue 21) and asks the reference validator about everything else, so the violations, their
    wording and the warnings are always the reference's. Where the two could read a schema
    differently the Rust one is the stricter (``$`` never matches before a final newline, every
    format it knows is checked), which only sends a document to the reference validator.
    """
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        path = contract_root() / SCHEMAS / schema_set / f"{resource}.json"
        checker = jsonschema_rs.Draft202012Validator(
            json.loads(path.read_text(encoding="utf-8")), registry=_quick_registry(), validate_formats=True,
            formats={"date-time": _check_datetime, "uri": _check_uri})
    except Exception:  # any version that cannot load the schemas: the reference validator alone
        return None
    return checker.is_valid


@cache
def _quick_registry() -> Any:
    """Every schema under its ``$id``, for jsonschema_rs (as :func:`_registry` for jsonschema)."""
    import jsonschema_rs

    resources = [json.loads(path.read_text(encoding="utf-8")) for path in schema_files()]
    return jsonschema_rs.Registry([(contents["$id"], contents) for contents in resources])


def quickly_valid(data: Any, resource: str, profile: Profile | str = DEFAULT_PROFILE) -> bool:
    """True when the quick check finds nothing wrong with ``data``; False when it finds
    something, cannot judge it, or is not there (the reference validator then decides)."""
    quick = _quick_check(resource, profiles.get(profile).schema_set)
    if quick is None or not _plain_json(data):
        return False
    try:
        return bool(quick(data))
    except Exception:  # a value it cannot convert (a lone surrogate, a huge integer)
        return False


def _plain_json(data: Any) -> bool:
    """Only dicts with string keys, lists and JSON scalars: what both validators read alike."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                return False
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif not isinstance(value, _JSON_SCALARS):
            return False
    return True


def validate(data: Any, resource: str, profile: Profile | str = DEFAULT_PROFILE) -> list[Violation]:
    """Every violation of ``resource``'s schema in ``profile``, one per location.

    Ordered by location in the document; where several keywords fail at one place, only the
    most relevant is kept (a wrong type also breaking an enum is one problem, not two).
    Empty strings in fields that may be empty are not violations: see :func:`judge`.
    """
    return judge(data, resource, profile)[0]


def judge(data: Any, resource: str, profile: Profile | str = DEFAULT_PROFILE
          ) -> tuple[list[Violation], list[Violation]]:
    """(violations, warnings) of ``data``: a warning is an empty string where the schema
    lets the field be empty, i.e. where the same place would be valid holding null."""
    if quickly_valid(data, resource, profile):
        return [], []  # nothing broken: no violation, and no empty string to warn about
    from jsonschema.exceptions import relevance

    checker = validator(resource, profile)
    best: dict[tuple[Any, ...], tuple[ValidationError, Violation]] = {}
    for error in checker.iter_errors(data):
        leaf = _leaf(error)
        violation = _violation(leaf)
        key = sort_key(violation.pointer)
        if key not in best or relevance(leaf) > relevance(best[key][0]):
            best[key] = (leaf, violation)
    violations: list[Violation] = []
    warnings: list[Violation] = []
    for key in sorted(best):
        leaf, violation = best[key]
        (warnings if _empty_where_optional(leaf, checker) else violations).append(violation)
    return violations, warnings


def _empty_where_optional(error: ValidationError, checker: Draft202012Validator) -> bool:
    # error.schema is the subschema whose keyword failed ($refs already followed)
    if error.instance != "" or not isinstance(error.schema, dict) or not error.absolute_path:
        return False
    return checker.evolve(schema=error.schema).is_valid(None)


def check(data: Any, resource: str, profile: Profile | str = DEFAULT_PROFILE) -> Validation:
    """Validate and count, applying the profile's rule on rows without an id."""
    profile = profiles.get(profile)
    violations, warnings = judge(data, resource, profile)
    items = len(data) if isinstance(data, list) else None
    ignored = 0
    if resource == "service-requests" and profile.quirks.pending_rows_without_id and isinstance(data, list):
        _, pending = partition_rows(data)
        ignored = len(pending)
    return Validation(resource, profile.name, tuple(violations), items, ignored, warnings=tuple(warnings))


def _leaf(error: ValidationError) -> ValidationError:
    from jsonschema.exceptions import best_match

    # a combinator without its own description is best explained by its best sub-error
    while error.context and not _described(error):
        error = best_match(error.context) or error
        if not error.context:
            break
    return error


def _described(error: ValidationError) -> bool:
    return (error.validator in _DESCRIBED and isinstance(error.schema, dict)
            and "description" in error.schema)


def _violation(error: ValidationError) -> Violation:
    path = list(error.absolute_path)
    found = _show(error.instance)
    if error.validator == "required":
        missing = _missing_property(error)
        if missing is not None:
            path.append(missing)
            return Violation(_pointer(path), f"required property {_show(missing)}", "nothing",
                             error.message)
    return Violation(_pointer(path), _expected(error), found, error.message)


def _missing_property(error: ValidationError) -> str | None:
    # jsonschema raises one error per missing property but hands each the whole list;
    # only its message names the one that error is about
    suffix = " is a required property"
    if error.message.endswith(suffix):
        try:
            name = ast.literal_eval(error.message[: -len(suffix)])
        except (ValueError, SyntaxError):
            name = None
        if isinstance(name, str):
            return name
    instance = error.instance
    if isinstance(instance, dict):
        return next((n for n in error.validator_value if n not in instance), None)
    return None


def _expected(error: ValidationError) -> str:
    kind, value = error.validator, error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if _described(error):
        return str(schema["description"])
    if kind in ("pattern", "format") and schema.get("format") == "date-time":
        return _DATETIME_EXPECTED
    if kind == "type":
        types = value if isinstance(value, list) else [value]
        return "type " + " or ".join(types)
    if kind == "enum":
        return "one of " + json.dumps(value, separators=(",", ":"))
    if kind == "const":
        return json.dumps(value)
    if kind == "format":
        return f"a valid {value}"
    if kind == "pattern":
        return f"a string matching {value}"
    if kind in ("minItems", "maxItems"):
        word = "at least" if kind == "minItems" else "at most"
        return f"{word} {value} item{'s' if value != 1 else ''}"
    if kind in ("minLength", "maxLength"):
        word = "at least" if kind == "minLength" else "at most"
        return f"{word} {value} character{'s' if value != 1 else ''}"
    if kind in ("minimum", "maximum"):
        return f"{'>=' if kind == 'minimum' else '<='} {value}"
    if kind == "not":
        return "something else"
    if kind is False or kind == "false":
        return "no value here"
    return f"{kind} {json.dumps(value, default=str)}"


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if isinstance(value, dict):
        text = "an object" if len(text) > limit else text
    elif isinstance(value, list):
        text = f"a list of {len(value)}" if len(text) > limit else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pointer(path: Sequence[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def sort_key(pointer: str) -> tuple[Any, ...]:
    # numbers compare as numbers so /10 sorts after /9
    parts: Iterator[str] = iter(pointer.split("/")[1:]) if pointer else iter(())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)
