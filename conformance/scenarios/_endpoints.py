"""The GET endpoints every format check looks at, resolved against the target's own data."""

from __future__ import annotations

from conformance.client import Answer, Client
from conformance.outcomes import Inconclusive

ENDPOINTS = ("services", "service definition", "requests", "single request")


def fetch(client: Client, endpoint: str, fmt: str) -> Answer:
    if endpoint == "services":
        return client.services(fmt)
    if endpoint == "requests":
        # closed requests only: a list that cannot change between the .json and .xml fetch
        return client.requests({"status": "closed"}, fmt)
    if endpoint == "service definition":
        return client.definition(sample_service_code(client), fmt)
    if endpoint == "single request":
        return client.request(sample_request_id(client), fmt)
    raise ValueError(endpoint)


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
