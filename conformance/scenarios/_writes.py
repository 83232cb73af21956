"""Building complete, valid POSTs from the target's own catalogue."""

from __future__ import annotations

from typing import Any

from conformance.client import Client
from conformance.fixtures import Catalogue
from conformance.outcomes import Inconclusive
from conformance.target import Target
from conformance.write_flow import choose_service, ensure_location, fill_attributes, post_fields


def valid_post(client: Client, catalogue: Catalogue, target: Target, description: str
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fields and attributes of a POST the target should accept, given a valid key."""
    service = choose_service(catalogue.services, target)
    if service is None:
        raise Inconclusive("no service to write to")
    code = str(service["service_code"])
    ensure_location(client, target)
    return post_fields(target, code, description), fill_attributes(catalogue.definitions.get(code))


def service_with_required(catalogue: Catalogue, datatypes: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """A service with a required attribute of one of ``datatypes``, and that attribute."""
    for code, attribute in catalogue.list_attributes():
        if attribute.get("required") and attribute.get("datatype") in datatypes:
            return code, attribute
    raise Inconclusive(f"no service has a required attribute of datatype {', '.join(datatypes)}")
