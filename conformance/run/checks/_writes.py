"""Building complete, valid POSTs from the target's own catalogue."""

from __future__ import annotations

from typing import Any

from conformance import wire
from conformance.client import Answer, Client
from conformance.contract import OPERATIONS
from conformance.outcomes import Inconclusive, fail
from conformance.profiles import Profile
from conformance.run import expect
from conformance.run.fixtures import Catalogue
from conformance.run.write_flow import Write, choose_service, ensure_location, fill_attributes, moment, post_fields
from conformance.target import Target


def valid_post(client: Client, catalogue: Catalogue, target: Target, description: str
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fields and attributes of a POST the target should accept, given a valid key."""
    service = choose_service(catalogue.services, target)
    if service is None:
        raise Inconclusive("no service to write to")
    code = str(service["service_code"])
    ensure_location(client, target)
    return post_fields(target, code, description), fill_attributes(catalogue.definitions.get(code), moment(client))


def service_with_required(catalogue: Catalogue, datatypes: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """A service with a required attribute of one of ``datatypes``, and that attribute."""
    for code, attribute in catalogue.list_attributes():
        if attribute.get("required") and attribute.get("datatype") in datatypes:
            return code, attribute
    raise Inconclusive(f"no service has a required attribute of datatype {', '.join(datatypes)}")


def readback_params(profile: Profile) -> dict[str, str] | None:
    """The query of a read-back: with extensions where the profile has them (so written
    attributes show). Every read-back asks the same, and the client's cache answers repeats."""
    return {"extensions": "true"} if profile.quirks.extensions else None


def read_back(client: Client, write: Write, fmt: str = "json", params: dict[str, str] | None = None
              ) -> dict[str, Any]:
    """The written request's row, read by its id; fails when it is not there."""
    rid = write.service_request_id
    if rid is None:
        raise Inconclusive("the written request has no service_request_id to read back (see CHI-TOKEN-RESOLVES)")
    answer = client.request(rid, fmt, params)
    expect.status(answer, 200)
    if answer.decode_error:
        fail(f"{answer.describe()}: {_undecoded(answer, rid)}")
    rows, _ = Client.identified(answer)
    mine = [r for r in rows if str(r.get("service_request_id")) == rid]
    if not mine:
        fail(f"{answer.describe()}: no row with service_request_id {rid}")
    return mine[0]


def _undecoded(answer: Answer, rid: str) -> str:
    """Why an answer that did not decode holds no usable row: when the only fault is the XML
    root, say the row is there (a client keyed on the root still cannot read it)."""
    if answer.fmt != "xml" or answer.unsafe:
        return answer.decode_error or ""
    try:
        root, data = wire.decode_xml(answer.body)
    except wire.WireError:
        return answer.decode_error or ""
    expected = wire.ROOTS[OPERATIONS["request"].resource]
    there = any(str(r.get("service_request_id")) == rid for r in _rows_anywhere(data))
    if root != expected and there:
        return f"the row of request {rid} is there, under <{root}>; the root must be <{expected}>"
    return answer.decode_error or ""


def _rows_anywhere(data: Any) -> list[dict[str, Any]]:
    """The rows of a document under an unknown root: a root the decoder does not know keeps
    its repeated children as a map (<requests><request>...</request></requests>)."""
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    if not isinstance(data, dict):
        return []
    rows = [data]
    for value in data.values():
        rows += [value] if isinstance(value, dict) else _rows_anywhere(value) if isinstance(value, list) else []
    return rows
