"""A POST the City must refuse: unknown service, no location, bad attributes, long text."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.outcomes import fail
from conformance.scenarios._writes import service_with_required, valid_post

requirement = pytest.mark.requirement


@pytest.fixture()
def keyed(open311_target):
    if not open311_target.api_key:
        pytest.skip("no API key given: the target would refuse any POST for the key alone")


def _post(client, fields, attributes, label):
    return client.create(fields, attributes, label=label)


@requirement("GR2-POST-UNKNOWN-SERVICE")
def test_unknown_service_refused(keyed, open311_client, open311_catalogue, open311_target):
    """A POST for an unknown service_code is refused with 404"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target,
                                    "open311-conformance: unknown service")
    fields["service_code"] = "000000000000000000000000"
    checks.expect_status(_post(open311_client, fields, attributes, "POST unknown service"), 404)


@requirement("GR2-POST-LOCATION")
def test_missing_location_refused(keyed, open311_client, open311_catalogue, open311_target):
    """A POST without any location is refused with 400"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target,
                                    "open311-conformance: no location")
    for name in ("lat", "long", "address_string", "address_id"):
        fields.pop(name, None)
    checks.expect_status(_post(open311_client, fields, attributes, "POST without location"), 400)


def _required_missing(client, catalogue, target):
    code, attribute = service_with_required(catalogue, ("singlevaluelist", "multivaluelist", "string",
                                                        "number", "text", "datetime"))
    fields, attributes = valid_post(client, catalogue, target, "open311-conformance: attribute missing")
    fields["service_code"] = code
    from conformance.write_flow import fill_attributes

    attributes = fill_attributes(catalogue.definitions[code])
    attributes.pop(attribute["code"], None)
    return attribute["code"], _post(client, fields, attributes, "POST without a required attribute")


@requirement("GR2-POST-REQUIRED-ATTRIBUTE")
def test_missing_required_attribute_refused(keyed, open311_client, open311_catalogue, open311_target):
    """A POST missing a required attribute is refused with 400"""
    _code, answer = _required_missing(open311_client, open311_catalogue, open311_target)
    checks.expect_status(answer, 400)


@requirement("CHI-ERR-NAMES-ATTRIBUTE")
def test_missing_attribute_named(keyed, open311_client, open311_catalogue, open311_target):
    """The refusal names the missing attribute code"""
    code, answer = _required_missing(open311_client, open311_catalogue, open311_target)
    errors = checks.error_list(answer)
    text = " ".join(str(e.get("description", "")) for e in errors if isinstance(e, dict)) if isinstance(
        errors, list) else ""
    if code not in text:
        fail(f"the error does not name {code}: {text!r}")


@requirement("GR2-POST-ATTRIBUTE-VALUE")
def test_unknown_list_value_refused(keyed, open311_client, open311_catalogue, open311_target):
    """A list attribute value that is not a key is refused with 400"""
    code, attribute = service_with_required(open311_catalogue, ("singlevaluelist",))
    from conformance.write_flow import fill_attributes

    fields, _ = valid_post(open311_client, open311_catalogue, open311_target, "open311-conformance: bad list value")
    fields["service_code"] = code
    attributes = fill_attributes(open311_catalogue.definitions[code])
    attributes[attribute["code"]] = "NOT-A-KEY-OF-THIS-LIST"
    checks.expect_status(_post(open311_client, fields, attributes, "POST bad list value"), 400)


@requirement("GR2-POST-DESCRIPTION-LENGTH")
def test_long_description_refused(keyed, open311_client, open311_catalogue, open311_target):
    """A description over 4000 characters is refused with 400"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target, "x" * 4001)
    checks.expect_status(_post(open311_client, fields, attributes, "POST 4001-character description"), 400)
