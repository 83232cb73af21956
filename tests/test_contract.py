"""The contract itself: data-driven cases (tests/cases/*.json), schemas, openapi.yaml.

A case is ``{description, resource, profiles, sample | data | body+format, mutations?,
valid, message_contains?, ignored?, warnings?, warning_contains?, skip?}`` (``warnings``:
how many empty strings in fields that may be empty, 0 when not given). Mutations edit a copy of the decoded sample
through JSON pointers, so every broken document is a real capture with one thing wrong.
Known gaps are cases with a ``skip`` reason: they show up in every run, never silently.
"""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance import contract, profiles, wire

TESTS = Path(__file__).parent
SAMPLES = TESTS / "fixtures" / "samples"
CASES = TESTS / "cases"
CONTRACT_CASE_FILES = ("samples.json", "broken.json", "wire.json", "empty.json")


def _load_cases() -> list[Any]:
    params = []
    for path in (CASES / name for name in CONTRACT_CASE_FILES):
        for case in json.loads(path.read_text(encoding="utf-8")):
            for profile in case["profiles"]:
                marks = [pytest.mark.skip(reason=case["skip"])] if "skip" in case else []
                params.append(pytest.param(case, profile, marks=marks,
                                           id=f"{path.stem}: {case['description']} [{profile}]"))
    return params


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _resolve(document: Any, pointer: str) -> Any:
    for part in _pointer_parts(pointer):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def _mutate(document: Any, mutation: dict[str, Any]) -> None:
    *parents, last = _pointer_parts(mutation["pointer"])
    target = _resolve(document, "".join("/" + p for p in parents))
    if mutation["op"] == "delete":
        del target[int(last) if isinstance(target, list) else last]
        return
    if "from_sample" in mutation:
        source = json.loads((SAMPLES / mutation["from_sample"]).read_text(encoding="utf-8"))
        value = copy.deepcopy(_resolve(source, mutation["from_pointer"]))
    else:
        value = copy.deepcopy(mutation["value"])
    if isinstance(target, list):
        if last == "-":
            target.append(value)
        else:
            target[int(last)] = value
    else:
        target[last] = value


def _document(case: dict[str, Any]) -> tuple[Any, str | None]:
    """The decoded document, or the decoding error's message."""
    if "data" in case:
        return copy.deepcopy(case["data"]), None
    if "body" in case:
        body, fmt = case["body"].encode("utf-8"), case["format"]
    else:
        path = SAMPLES / case["sample"]
        body, fmt = path.read_bytes(), wire.format_of(path.name)
    try:
        data = wire.decode(body, fmt, case["resource"]).data
    except wire.WireError as exc:
        return None, str(exc)
    for mutation in case.get("mutations", []):
        _mutate(data, mutation)
    return data, None


@pytest.mark.parametrize(("case", "profile"), _load_cases())
def test_quick_check_never_passes_what_the_reference_fails(case: dict[str, Any], profile: str) -> None:
    """The quick check (jsonschema_rs) may only ever be stricter than the reference validator:
    judge takes its word for a document it passes."""
    data, decode_error = _document(case)
    if decode_error is not None:
        return
    reference = contract.validator(case["resource"], profile)
    quick = contract._quick_check(case["resource"], profiles.get(profile).schema_set)
    assert quick is not None, "jsonschema_rs (schemathesis' own dependency) loads every schema"
    if contract.quickly_valid(data, case["resource"], profile):
        assert not list(reference.iter_errors(data))
    if case["valid"] and not case.get("warnings"):
        assert contract.quickly_valid(data, case["resource"], profile), "the quick check fails a valid document"


@pytest.mark.parametrize(("case", "profile"), _load_cases())
def test_case(case: dict[str, Any], profile: str) -> None:
    data, decode_error = _document(case)
    if decode_error is not None:
        assert not case["valid"], f"sample does not decode: {decode_error}"
        assert case.get("message_contains", "") in decode_error
        return
    outcome = contract.check(data, case["resource"], profile)
    lines = [str(v) for v in outcome.violations]
    assert outcome.valid is case["valid"], "\n".join(lines) or "no violation"
    if "message_contains" in case:
        assert any(case["message_contains"] in line for line in lines), "\n".join(lines)
    if "ignored" in case:
        assert outcome.ignored == case["ignored"]
    warnings = [str(w) for w in outcome.warnings]
    assert len(warnings) == case.get("warnings", 0), "\n".join(warnings) or "no warning"
    if "warning_contains" in case:
        assert any(case["warning_contains"] in line for line in warnings), "\n".join(warnings)


def test_cases_name_existing_samples() -> None:
    for path in (CASES / name for name in CONTRACT_CASE_FILES):
        for case in json.loads(path.read_text(encoding="utf-8")):
            assert case["resource"] in contract.RESOURCES, case["description"]
            assert set(case["profiles"]) <= set(profiles.names()), case["description"]
            if "sample" in case:
                assert (SAMPLES / case["sample"]).is_file(), case["sample"]


def test_every_sample_has_a_case() -> None:
    used = {case.get("sample") for path in (CASES / name for name in CONTRACT_CASE_FILES)
            for case in json.loads(path.read_text(encoding="utf-8"))}
    used |= {"e6-excerpts.json"}  # spliced into E6 by mutations
    on_disk = {p.name for p in SAMPLES.iterdir() if p.suffix in (".json", ".xml")}
    assert on_disk - used == set()


# --- schemas -------------------------------------------------------------------------------

SCHEMA_FILES = contract.schema_files()


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_passes_its_metaschema(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    relative = path.relative_to(contract.contract_root()).as_posix()
    assert schema["$id"] == f"https://open311-conformance.invalid/{relative}"
    assert schema["title"] and schema["description"]


@pytest.mark.parametrize("profile", profiles.names())
@pytest.mark.parametrize("resource", contract.RESOURCES)
def test_every_resource_has_a_schema_per_profile(resource: str, profile: str) -> None:
    assert contract.schema_path(resource, profile).is_file()
    contract.validator(resource, profile)  # compiles, and every $ref resolves offline
    contract.validate([], resource, profile)


def test_identical_chicago_schemas_refer_to_the_spec() -> None:
    for resource in ("services", "post-response", "errors", "discovery"):
        schema = json.loads(contract.schema_path(resource, "chicago").read_text())
        assert schema["$ref"] == f"../georeport-v2/{resource}.json"


@pytest.mark.parametrize("service_request_id", [None, "", "14-01100669", 1401100669, "absent"])
def test_partition_rows_and_schema_agree(service_request_id: Any) -> None:
    """partition_rows is the rule; the Chicago schema's if/then/else must say the same."""
    row: dict[str, Any] = {"status": "submitted", "service_code": "4fd3b656e750846c53000004"}
    if service_request_id != "absent":
        row["service_request_id"] = service_request_id
    identified, pending = contract.partition_rows([row])
    strict_only = [v for v in contract.validate([row], "service-requests", "chicago")
                   if v.pointer == "/0/status" or v.pointer == "/0/requested_datetime"]
    # an identified row is held to open|closed and a requested_datetime; a pending one is not
    assert bool(identified) == bool(strict_only)
    assert len(identified) + len(pending) == 1


def test_violation_prints_on_one_line() -> None:
    violation = contract.Violation("/0/status", 'one of ["open","closed"]', '"pending"', "x")
    assert str(violation) == '/0/status: expected one of ["open","closed"], found "pending"'
    assert str(contract.Violation("", "type array", "{}", "x")) == "/: expected type array, found {}"


def test_validation_is_deterministic() -> None:
    data = json.loads((SAMPLES / "e4-requests.pending-rows.json").read_text())
    first = contract.validate(data, "service-requests", "georeport-v2")
    assert first == contract.validate(copy.deepcopy(data), "service-requests", "georeport-v2")
    assert [v.pointer for v in first][:3] == ["/0/requested_datetime", "/0/service_request_id",
                                              "/0/status"]


def test_one_violation_per_location() -> None:
    violations = contract.validate([{"service_code": "x", "service_name": "y", "metadata": True,
                                     "type": 5}], "services", "chicago")
    assert [str(v) for v in violations] == ["/0/type: expected type string, found 5"]


def test_rows_beyond_nine_sort_numerically() -> None:
    sample = json.loads((SAMPLES / "e5-requests.production-2014.json").read_text())
    rows = [copy.deepcopy(row) for _ in range(6) for row in sample]
    rows[2]["status"] = rows[10]["status"] = "pending"
    pointers = [v.pointer for v in contract.validate(rows, "service-requests", "chicago")]
    assert pointers == ["/2/status", "/10/status"]


def test_unknown_resource_or_profile() -> None:
    with pytest.raises(ValueError, match="unknown resource"):
        contract.schema_path("service", "chicago")
    with pytest.raises(ValueError, match="unknown profile"):
        contract.schema_path("services", "boston")


def test_contract_hashes_cover_every_file() -> None:
    hashes = contract.contract_hashes()
    assert "openapi.yaml" in hashes
    assert "schemas/chicago/service-requests.json" in hashes
    assert len(hashes) == 1 + len(SCHEMA_FILES)
    assert all(len(h) == 64 for h in hashes.values())


# --- openapi.yaml --------------------------------------------------------------------------

@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_openapi_passes_the_validator(no_network: None) -> None:
    from openapi_spec_validator import validate

    path = contract.openapi_path()
    validate(yaml.safe_load(path.read_text(encoding="utf-8")), base_uri=path.resolve().as_uri())


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_openapi_ref_resolves() -> None:
    spec = contract.load_openapi()
    root = contract.contract_root()
    refs = _refs(spec)
    assert refs
    for ref in refs:
        target, _, fragment = ref.partition("#")
        if target:
            assert (root / target).is_file(), ref
            document = json.loads((root / target).read_text(encoding="utf-8"))
        else:
            document = spec
        if fragment:
            _resolve(document, fragment)  # raises KeyError when the fragment is dangling


def test_openapi_bodies_use_the_chicago_profile() -> None:
    files = {ref.partition("#")[0] for ref in _refs(contract.load_openapi())} - {""}
    assert files == {f"schemas/chicago/{r}.json" for r in contract.RESOURCES}


def test_openapi_operations() -> None:
    spec = contract.load_openapi()
    operations = {op["operationId"]: (path, method, op) for path, item in spec["paths"].items()
                  for method, op in item.items() if isinstance(op, dict) and "operationId" in op}
    assert set(operations) == {"getServiceList", "getServiceDefinition", "getServiceRequests",
                               "createServiceRequest", "getServiceRequest",
                               "getServiceRequestIdFromToken", "getDiscovery"}
    for _path, method, op in operations.values():
        assert op["security"] == ([{"api_key": []}] if method == "post" else [])
        for status in ("200", "400", "404"):
            if status in op["responses"]:
                content = op["responses"][status].get("content") or spec["components"][
                    "responses"][op["responses"][status]["$ref"].rsplit("/", 1)[1]]["content"]
                assert set(content) == {"application/json", "text/xml"}
    assert "403" in operations["createServiceRequest"][2]["responses"]
    links = spec["components"]["links"]
    assert links["resolveToken"]["parameters"]["token"] == "$response.body#/0/token"
    assert links["readServiceRequest"]["operationId"] == "getServiceRequest"
    assert operations["getDiscovery"][2]["servers"][0]["url"] == "http://127.0.0.1:8311/open311"
