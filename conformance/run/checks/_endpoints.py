"""The GET operations every format check looks at, resolved against the target's own data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.client import Answer, Client
from conformance.contract import OPERATIONS, Operation
from conformance.outcomes import Inconclusive

# the reads of the contract's operation table that answer in both formats from the target's
# own data (tokens need a write first; discovery has checks of its own)
READS: tuple[Operation, ...] = tuple(OPERATIONS[name] for name in
                                     ("services", "service-definition", "requests", "request"))
# every GET that takes jurisdiction_id (discovery is outside the versioned base)
JURISDICTION_READS: tuple[Operation, ...] = (*READS, OPERATIONS["tokens"])
UNKNOWN_CODE = "000000000000000000000000"
UNKNOWN_ID = "00-00000000"
UNKNOWN_TOKEN = "ffffffffffffffffffffffff"


def title(operation: Operation) -> str:
    """How check ids name an operation (``services, json``): kept stable across runs."""
    return operation.title


def fetch(client: Client, operation: Operation, fmt: str,
          params: Mapping[str, Any] | None = None) -> Answer:
    """The operation's answer in ``fmt`` for the target's own data (tokens: an unknown one)."""
    query = dict(params or {})
    if operation.name == "requests":
        # closed requests only: a list that cannot change between the .json and .xml fetch
        return client.read(operation, fmt, {"status": "closed", **query})
    if operation.name == "service-definition":
        return client.read(operation, fmt, query, service_code=sample_service_code(client))
    if operation.name == "request":
        return client.read(operation, fmt, query, service_request_id=sample_request_id(client))
    if operation.name == "tokens":
        return client.read(operation, fmt, query, token=UNKNOWN_TOKEN)
    return client.read(operation, fmt, query)


def raw_get(client: Client, path: str, params: Mapping[str, Any] | None = None, *,
            headers: Mapping[str, str] | None = None, label: str) -> Answer:
    """GET outside the client's cache (odd headers or paths), decoded as the client does."""
    query = dict(params or {})
    if client.jurisdiction_id:
        query.setdefault("jurisdiction_id", client.jurisdiction_id)
    fmt = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else "json"
    response = client.transport.get(path, query, headers=headers, label=label)
    return client.decode(response, fmt if fmt in ("json", "xml") else "json", None)


def sample_service_code(client: Client) -> str:
    services = client.services()
    for service in services.data if services.ok and isinstance(services.data, list) else []:
        if isinstance(service, dict) and service.get("metadata") is True and service.get("service_code"):
            return str(service["service_code"])
    raise Inconclusive(f"no service with a definition in the service list ({services.describe()})")


def sample_request_id(client: Client, *, not_first: bool = False) -> str:
    """The id of a listed request; ``not_first``: one from the middle of the list, so a
    server answering the first row whatever the id is caught."""
    answer = client.requests({"status": "closed"})
    rows, _ = Client.identified(answer)
    if not rows:
        answer = client.requests()
        rows, _ = Client.identified(answer)
    if not rows:
        raise Inconclusive(f"no identified request to read ({answer.describe()})")
    return str(rows[len(rows) // 2 if not_first else 0]["service_request_id"])
