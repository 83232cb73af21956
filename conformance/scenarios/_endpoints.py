"""The GET operations every format check looks at, resolved against the target's own data."""

from __future__ import annotations

from conformance.client import Answer, Client
from conformance.contract import OPERATIONS, Operation
from conformance.outcomes import Inconclusive

# the reads of the contract's operation table that answer in both formats from the target's
# own data (tokens need a write first; discovery has checks of its own)
READS: tuple[Operation, ...] = tuple(OPERATIONS[name] for name in
                                     ("services", "service-definition", "requests", "request"))


def title(operation: Operation) -> str:
    """How check ids name an operation (``services, json``): kept stable across runs."""
    return operation.title


def fetch(client: Client, operation: Operation, fmt: str) -> Answer:
    if operation.name == "requests":
        # closed requests only: a list that cannot change between the .json and .xml fetch
        return client.read(operation, fmt, {"status": "closed"})
    if operation.name == "service-definition":
        return client.read(operation, fmt, service_code=sample_service_code(client))
    if operation.name == "request":
        return client.read(operation, fmt, service_request_id=sample_request_id(client))
    return client.read(operation, fmt)


def sample_service_code(client: Client) -> str:
    services = client.services()
    for service in services.data if services.ok and isinstance(services.data, list) else []:
        if isinstance(service, dict) and service.get("metadata") is True and service.get("service_code"):
            return str(service["service_code"])
    raise Inconclusive(f"no service with a definition in the service list ({services.describe()})")


def sample_request_id(client: Client) -> str:
    answer = client.requests({"status": "closed"})
    rows, _ = Client.identified(answer)
    if not rows:
        answer = client.requests()
        rows, _ = Client.identified(answer)
    if not rows:
        raise Inconclusive(f"no identified request to read ({answer.describe()})")
    return str(rows[0]["service_request_id"])
