"""``validate``: judge a recorded answer offline, by the schemas and rules a run uses.

Exit codes follow the CLI: 0 valid, 1 invalid (including a body that cannot be decoded:
that is the answer's fault, not the user's), 2 usage error (no such file, unreadable, a
suffix that names no format). Usage errors are one line on stderr, never a traceback.

An empty string in a field that may be empty (``"media_url": ""``, as real cities answer
for "no photo") is a warning: listed, but the exit code stays 0. So is what breaks a
requirement the profile makes a SHOULD (a numeric identifier under georeport-v2); under a
profile that makes it a MUST (chicago) it is a violation, as in a run. Every violation of a
document is listed: a wrong XML root too, with the problems of the rows it holds.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from conformance import contract, profiles, requirements, wire
from conformance.errors import ExitCode, UsageError
from conformance.outcomes import Level

EXIT_VALID, EXIT_INVALID = ExitCode.OK, ExitCode.FAIL

# How the verdict names what it counted, per resource.
_NOUNS = {
    "services": ("service", "services"),
    "service-requests": ("service request", "service requests"),
    "post-response": ("POST answer", "POST answers"),
    "token": ("token answer", "token answers"),
    "errors": ("error", "errors"),
}


def validate_file(path: Path, resource: str, profile: profiles.Profile, out: TextIO | None = None) -> ExitCode:
    """Print what is wrong with the document in ``path`` and say valid or invalid."""
    out = out or sys.stdout
    fmt = _check_arguments(path, resource)  # UsageError: the command line reports it, exit 2
    body = _read(path)

    print(f"{path}: {resource}, {fmt.upper()}, {profile.name} profile", file=out)
    root_problems: list[contract.Violation] = []
    try:
        if fmt == "xml":
            # a wrong root is one violation among the others: the rows are still read and judged
            expected = wire.ROOTS[resource]
            root, data = wire.decode_xml(body, read_as=expected)
            if root != expected:
                root_problems.append(contract.Violation("/", f"the XML root element <{expected}>", f"<{root}>",
                                                        "wrong XML root element"))
        else:
            data = wire.decode(body, fmt, resource).data
    except wire.WireError as exc:
        print(f"  cannot decode: {exc}", file=out)
        print("invalid: the body cannot be decoded", file=out)
        return EXIT_INVALID

    seems = looks_like(data)
    if seems is not None and seems not in _ALIKE.get(resource, {resource}):
        for violation in root_problems:
            print(f"  {violation}", file=out)
        print(f"  this looks like a {_NOUNS_OF[seems]}, not {_NOUNS_OF[resource]}", file=out)
        print(f"invalid: this looks like a {_NOUNS_OF[seems]} (try --resource {seems})", file=out)
        return EXIT_INVALID
    outcome = contract.check(data, resource, profile)
    ruled, advised = rule_findings(data, resource, profile, fmt)
    violations = root_problems + sorted([*outcome.violations, *(v for v, _ in ruled)], key=_place)
    for violation in violations:
        print(f"  {_said(violation, ruled)}", file=out)
    for warning in outcome.warnings:
        print(f"  warning: {warning}", file=out)
    for warning, why in advised:
        print(f"  warning: {warning} ({why})", file=out)
    if outcome.warnings:
        count = len(outcome.warnings)
        print(f"{count} empty string{'s' if count != 1 else ''} where the field may be empty: "
              "warnings, not violations", file=out)
    if advised:
        count = len(advised)
        print(f"{count} finding{'s' if count != 1 else ''} of a requirement the {profile.name} profile does "
              f"not make a MUST: {'warnings, not violations' if count != 1 else 'a warning, not a violation'}",
              file=out)
    if outcome.ignored:
        rows = "row" if outcome.ignored == 1 else "rows"
        print(f"{outcome.ignored} {rows} without service_request_id ignored, as the City "
              "instructs", file=out)
    outcome = dataclasses.replace(outcome, violations=tuple(violations))
    print(_verdict(outcome, data), file=out)
    return EXIT_VALID if outcome.valid else EXIT_INVALID


# Requirements a document can break beyond its schema, each judged by the very predicate the
# run's check uses; the profile's level of the requirement makes a finding a violation (MUST)
# or a warning (SHOULD, MAY), as it makes the run's check fail or warn.
DOCUMENT_RULES: dict[str, Callable[[object, str], list[contract.Violation]]] = {
    "GR2-IDS-STRINGS": contract.numeric_identifiers,
}

Finding = tuple[contract.Violation, str]  # the finding, and which requirement at which level


def rule_findings(data: object, resource: str, profile: profiles.Profile,
                  fmt: str) -> tuple[list[Finding], list[Finding]]:
    """(violations, warnings) of ``data`` under the rules of DOCUMENT_RULES."""
    registry = requirements.load()
    violations: list[Finding] = []
    warnings: list[Finding] = []
    for requirement_id, rule in DOCUMENT_RULES.items():
        requirement = registry[requirement_id]
        if not profile.selects(requirement) or fmt not in requirement.formats:
            continue
        level = profile.level_of(requirement)
        why = f"{requirement_id}, {level} under {profile.name}"
        found = [(violation, why) for violation in rule(data, resource)]
        (violations if level is Level.MUST else warnings).extend(found)
    return violations, warnings


def _place(violation: contract.Violation) -> tuple[object, ...]:
    return contract.sort_key(violation.pointer)


def _said(violation: contract.Violation, ruled: list[Finding]) -> str:
    why = next((w for v, w in ruled if v is violation), None)
    return f"{violation} ({why})" if why else str(violation)


def _check_arguments(path: Path, resource: str) -> str:
    if resource not in contract.RESOURCES:
        raise UsageError(f"unknown resource {resource!r}: expected one of {', '.join(contract.RESOURCES)}")
    fmt = wire.format_of(path.name)
    if fmt is None:
        raise UsageError(f"{path}: cannot tell the format: the file name must end in .json or .xml")
    return fmt


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


# In order: the first resource one of whose keys a row (or the document) carries. Request rows
# share service_code, service_name and description with service rows (and Chicago's carry
# attributes), so they come first, on keys no other resource has; errors and POST answers
# are told by having nothing else.
_MARKS: tuple[tuple[str, frozenset[str]], ...] = (
    ("discovery", frozenset({"endpoints", "key_service"})),
    ("service-requests", frozenset({"status", "requested_datetime", "updated_datetime", "status_notes",
                                    "agency_responsible", "address", "lat", "long", "media_url",
                                    "expected_datetime", "zipcode", "address_id"})),
    ("service-definition", frozenset({"attributes"})),
    ("services", frozenset({"metadata", "keywords", "group", "type"})),
)
_ONLY: tuple[tuple[str, frozenset[str]], ...] = (
    ("errors", frozenset({"code", "description"})),
    ("post-response", frozenset({"token", "service_request_id", "service_notice", "account_id"})),
)
# resources whose documents share a shape: a POST answer and a token answer are alike
_ALIKE = {"post-response": {"post-response", "token"}, "token": {"post-response", "token"}}
_NOUNS_OF = {"services": "service list", "service-definition": "service definition",
             "service-requests": "service request list", "post-response": "POST answer",
             "token": "token answer", "errors": "error list", "discovery": "discovery document"}


def looks_like(data: object) -> str | None:
    """The resource a decoded document looks like, from the keys of its rows; None when it
    has no rows to tell by (an empty list) or looks like nothing known."""
    rows = data if isinstance(data, list) else [data]
    keys = {k for row in rows if isinstance(row, dict) for k in row}
    for resource, marks in _MARKS:
        if keys & marks:
            return resource
    for resource, allowed in _ONLY:
        if keys and keys <= allowed:
            return resource
    return None


def _verdict(outcome: contract.Validation, data: object) -> str:
    if not outcome.valid:
        count = len(outcome.violations)
        return f"invalid: {count} violation{'s' if count != 1 else ''}"
    if outcome.resource == "service-definition" and isinstance(data, dict):
        attributes = data.get("attributes") or []
        return f"valid: service definition with {len(attributes)} attribute" + (
            "" if len(attributes) == 1 else "s")
    if outcome.resource == "discovery":
        return "valid: discovery document"
    singular, plural = _NOUNS[outcome.resource]
    count = (outcome.items or 0) - outcome.ignored
    return f"valid: {count} {singular if count == 1 else plural}"
