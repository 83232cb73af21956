"""The one table of operations (conformance.contract): it is openapi.yaml's, and everyone's."""

from __future__ import annotations

import pytest

from conformance import contract, requirements, wire
from conformance.run import fuzzing
from conformance.run.checks._endpoints import READS

OPENAPI_OPERATIONS = {
    (method.upper(), path): operation["operationId"]
    for path, item in contract.load_openapi()["paths"].items()
    for method, operation in item.items() if isinstance(operation, dict) and "operationId" in operation
}


def test_the_table_is_openapi_yaml() -> None:
    table = {(op.method, op.template): op.operation_id for op in contract.OPERATION_TABLE}
    assert table == OPENAPI_OPERATIONS


@pytest.mark.parametrize("operation", contract.OPERATION_TABLE, ids=lambda op: op.name)
def test_operation_answers_a_known_resource(operation: contract.Operation) -> None:
    assert operation.resource in contract.RESOURCES
    assert operation.xml_root == wire.ROOTS[operation.resource]
    assert set(operation.formats) <= set(wire.FORMATS)


def test_requirements_name_operations_of_the_table() -> None:
    named = {e for r in requirements.load().values() for e in r.endpoints}
    assert named <= set(contract.OPERATIONS)


def test_the_fuzzing_covers_every_operation_once() -> None:
    assert sorted(spec.operation.name for spec in fuzzing.OPERATIONS) == sorted(contract.OPERATIONS)


def test_only_the_post_needs_the_key() -> None:
    assert [op.name for op in contract.OPERATION_TABLE if op.needs_key] == ["post-request"]
    assert all(op.method == "GET" for op in READS)


@pytest.mark.parametrize(("name", "values", "path"), [
    ("services", {}, "services.xml"),
    ("service-definition", {"service_code": "033"}, "services/033.xml"),
    ("request", {"service_request_id": "14-1"}, "requests/14-1.xml"),
    ("tokens", {"token": "abc"}, "tokens/abc.xml"),
    ("post-request", {}, "requests.xml"),
    ("discovery", {}, "../discovery.xml"),
])
def test_paths_relative_to_the_versioned_base(name: str, values: dict[str, str], path: str) -> None:
    assert contract.OPERATIONS[name].path("xml", **values) == path


def test_list_documents_decode_by_their_row_element() -> None:
    for resource in contract.RESOURCE_TABLE:
        if resource.xml_row:
            body = f"<{resource.xml_root}><{resource.xml_row}><a>1</a></{resource.xml_row}></{resource.xml_root}>"
            assert wire.decode(body, "xml", resource.name).data == [{"a": "1"}]
