"""The fault catalogue: named, deliberate deviations of the simulated City.

Each fault breaks exactly one requirement of ``conformance/requirements.yaml`` so the kit's
own tests can prove that the check for that requirement catches it: a MUST fault fails the
run, a SHOULD fault leaves a warning. The behaviour of a
fault is a small explicit branch at the one place in the simulator (``app.py``, ``queries.py``,
``writes.py`` or ``store.py``) it applies; grep for the fault's name to find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conformance.errors import UsageError


@dataclass(slots=True, frozen=True)
class Fault:
    name: str
    requirement: str
    description: str
    # "fuzzing": only the OpenAPI-driven checks can find it (no hand-written check sends the
    # input), so it may break a requirement a scenario-found fault breaks too
    found_by: str = "scenario"
    # the fault whose requirement this one breaks more subtly: a sharper check catches it, so
    # the two may share their requirement
    sharpens: str | None = None


_FAULTS = (
    # --- formats --------------------------------------------------------------------------
    Fault("json-content-type-html", "GR2-FMT-JSON-CONTENT-TYPE",
          "successful .json answers are served as text/html"),
    Fault("xml-content-type-json", "GR2-FMT-XML-CONTENT-TYPE",
          "successful .xml answers are served as application/json"),
    Fault("xml-wrong-root", "GR2-FMT-XML-ROOT",
          "services.xml has the root element <service_list> instead of <services>"),
    Fault("xml-entity-bomb", "GR2-FMT-XML-SAFE",
          "services.xml carries a DTD with nested entity declarations (a 'billion laughs')"),
    Fault("xml-parity-drift", "GR2-FMT-PARITY",
          "in services.xml one service's service_name differs from services.json"),
    Fault("unsupported-format-200", "GR2-FMT-UNSUPPORTED",
          "an unsupported format suffix (services.csv) is answered 200 with a CSV body"),
    # --- errors and HTTP ------------------------------------------------------------------
    Fault("error-body-text", "GR2-ERR-BODY",
          "400 answers to .json requests (bad status, date, page...) have a plain-text body "
          "such as 'Bad Request'; 404s stay right"),
    Fault("errors-always-json", "GR2-ERR-FORMAT",
          "400 answers to .xml requests come as JSON; 404s stay right"),
    Fault("odd-parameter-500", "GR2-ERR-NO-5XX",
          "an extensions value other than true/false crashes the request lists with a 500"),
    Fault("odd-input-ignored", "GR2-INPUT-REFUSED",
          "request lists answer an extensions value other than true/false, and a page or page_size "
          "that is no number, as if the parameter were absent",
          found_by="fuzzing"),
    Fault("odd-id-500", "GR2-ERR-NO-5XX",
          "requests/{id} crashes with a 500 when the id holds anything but letters, digits and "
          "dashes", found_by="fuzzing"),
    Fault("stalled-answer", "GR2-HTTP-TIMELY",
          "requests.json sends its headers, then stalls for 120 s before the body"),
    Fault("oversized-body", "GR2-HTTP-SIZE",
          "requests.json streams a 12 MiB body (the answer padded with whitespace)"),
    Fault("services-status-203", "GR2-STATUS-DOCUMENTED",
          "services.json and services.xml answer 203 Non-Authoritative Information"),
    # --- service list and definitions -----------------------------------------------------
    Fault("services-bad-type", "GR2-SVC-LIST",
          "one service in the service list has type 'instant'"),
    Fault("definition-wrong-code", "GR2-SVC-DEF",
          "service definitions echo another service's service_code"),
    Fault("definition-unknown-200", "GR2-SVC-DEF-404",
          "a definition for an unknown service_code is answered 200 with no attributes"),
    # --- keys -----------------------------------------------------------------------------
    Fault("post-no-key-accepted", "GR2-KEY-MISSING",
          "a POST without api_key is accepted (an unknown key is still refused)"),
    Fault("post-any-key-accepted", "GR2-KEY-INVALID",
          "a POST with an unknown api_key is accepted (a missing key is still refused)"),
    Fault("reads-need-key", "CHI-KEY-READS-OPEN",
          "GETs of services, definitions, requests and tokens without a valid api_key get 403"),
    Fault("key-revoked", "CHI-KEY-WRITE",
          "every acceptable POST is answered 403, also with the provisioned test key"),
    # --- writing --------------------------------------------------------------------------
    Fault("post-answers-both", "GR2-POST-RESPONSE",
          "an accepted POST answers token and service_request_id together"),
    Fault("post-answers-id", "CHI-POST-TOKEN",
          "an accepted POST answers a service_request_id at once, without a token"),
    Fault("post-answers-nothing", "GR2-POST-RESPONSE",
          "an accepted POST is stored but answered 200 with an empty list: neither token nor id",
          sharpens="post-answers-both"),
    Fault("post-unknown-service-accepted", "GR2-POST-UNKNOWN-SERVICE",
          "a POST for an unknown service_code is accepted"),
    Fault("post-no-location-accepted", "GR2-POST-LOCATION",
          "a POST without any location is accepted"),
    Fault("post-missing-attribute-accepted", "GR2-POST-REQUIRED-ATTRIBUTE",
          "a POST missing a required attribute is accepted"),
    Fault("post-bad-list-value-accepted", "GR2-POST-ATTRIBUTE-VALUE",
          "a POST whose list attribute value is not one of the keys is accepted"),
    Fault("post-long-description-accepted", "GR2-POST-DESCRIPTION-LENGTH",
          "a POST with a description over 4000 characters is accepted (and stored whole)"),
    # --- POST: locations, descriptions, optional fields, key edge cases (issue 12) --------
    Fault("post-address-string-refused", "GR2-POST-ADDRESS-STRING",
          "a POST located by address_string alone is refused with 400 (lat and long demanded, "
          "as Chicago's POST page reads)"),
    Fault("post-address-id-refused", "GR2-POST-ADDRESS-ID",
          "a POST located by address_id alone is refused with 400"),
    Fault("post-lat-alone-accepted", "GR2-POST-LOCATION-PAIR",
          "a POST with lat but no long (and no address) is accepted"),
    Fault("post-location-range-accepted", "GR2-POST-LOCATION-RANGE",
          "a POST with lat outside -90..90 or long outside -180..180 is accepted"),
    Fault("post-no-service-code-404", "GR2-POST-SERVICE-CODE-MISSING",
          "a POST without service_code is answered 404 (the empty code looked up) instead of 400"),
    Fault("post-description-required", "GR2-POST-DESCRIPTION-OPTIONAL",
          "a POST without a description is refused with 400 'description required'"),
    Fault("post-description-required-html", "GR2-POST-DESCRIPTION-OPTIONAL",
          "a POST without a description is refused with 400 and an HTML page saying it is required",
          sharpens="post-description-required"),
    Fault("post-description-required-text", "GR2-POST-DESCRIPTION-OPTIONAL",
          "a POST without a description is refused with 400 and a plain-text line saying it is "
          "required", sharpens="post-description-required"),
    Fault("description-lines-joined", "GR2-POST-DESCRIPTION-TEXT",
          "a written description is stored with its line breaks turned into spaces"),
    Fault("media-url-altered", "GR2-POST-OPTIONAL-FIELDS",
          "a written media_url reads back without its query string"),
    Fault("post-long-description-cut", "GR2-POST-INPUT-KEPT",
          "a POST with a description over 4000 characters is accepted and stored cut to 4000"),
    Fault("post-long-description-dropped", "GR2-POST-INPUT-KEPT",
          "a POST with a description over 4000 characters is accepted and stored without it",
          sharpens="post-long-description-cut"),
    Fault("media-url-dropped", "GR2-POST-MEDIA-URL-KEPT",
          "a written media_url is accepted but not stored: the request reads back without it"),
    Fault("services-type-misstated", "GR2-POST-TYPE",
          "every service is listed as type realtime, yet a POST answers a token"),
    Fault("token-echo-missing", "GR2-TOKEN-ANSWER",
          "tokens/{token} answers without the token"),
    Fault("post-empty-key-accepted", "GR2-KEY-EMPTY",
          "a POST with an empty api_key= is accepted (a missing or unknown key is still refused)"),
    Fault("get-wrong-key-400", "GR2-KEY-GET-WRONG",
          "a GET carrying an api_key that was never issued is answered 400"),
    # --- tokens and read-back -------------------------------------------------------------
    Fault("token-pending-404", "CHI-TOKEN-PENDING",
          "tokens/{token} answers 404 until the request is processed"),
    Fault("token-never-resolves", "CHI-TOKEN-RESOLVES",
          "written requests are never processed: tokens never get a service_request_id"),
    Fault("token-unknown-200", "GR2-TOKEN-404",
          "an unknown token is answered 200 with an empty list"),
    Fault("readback-mismatch", "CHI-READBACK-ID",
          "a written request reads back with its description altered"),
    Fault("readback-wrong-root", "CHI-READBACK-ID",
          "a written request reads back as .xml under the root <requests>, not <service_requests>",
          sharpens="readback-mismatch"),
    Fault("list-omits-new", "CHI-READBACK-LIST",
          "requests written through POST never appear in requests lists (also not by id)"),
    Fault("single-returns-two", "GR2-REQ-ONE",
          "requests/{id} answers two rows: the request and another one"),
    Fault("unknown-id-200", "GR2-REQ-404",
          "an unknown service_request_id is answered 200 with an empty list"),
    # --- lists, pending rows and filters --------------------------------------------------
    Fault("bad-status-enum", "GR2-REQ-SCHEMA",
          "in unfiltered lists some history rows have status 'pending'"),
    Fault("pending-in-id-filter", "CHI-PENDING-ONLY-LISTS",
          "rows still being processed also appear in id-filtered request lists"),
    Fault("dates-without-zone", "GR2-DATES-W3C",
          "date-times of requests are answered without their UTC offset"),
    Fault("filter-id-first-only", "GR2-FILTER-ID",
          "a comma list of service_request_id answers only the first id"),
    Fault("filter-service-code-ignored", "GR2-FILTER-SERVICE-CODE",
          "the service_code filter is ignored"),
    Fault("filter-status-ignored", "GR2-FILTER-STATUS",
          "the status filter is ignored"),
    Fault("filter-dates-ignored", "GR2-FILTER-DATES",
          "start_date and end_date are checked but not applied"),
    Fault("bad-status-accepted", "GR2-BAD-STATUS-400",
          "an unknown status value is answered 200, matching no request"),
    Fault("bad-date-accepted", "GR2-BAD-DATE-400",
          "a malformed date parameter is ignored and answered 200"),
    Fault("jurisdiction-empty-400", "CHI-JURISDICTION",
          "an empty jurisdiction_id= is refused with 400 (Chicago quirk F3)"),
    Fault("filter-updated-ignored", "CHI-FILTER-UPDATED",
          "updated_after and updated_before are checked but not applied"),
    Fault("paging-ignored", "CHI-PAGING",
          "every page answers the first page"),
    Fault("page-size-unbounded", "CHI-PAGE-SIZE-LIMIT",
          "page_size 0 or above 500 is accepted (0 means the default, above 500 is honoured)"),
    Fault("extensions-missing", "CHI-EXTENSIONS",
          "extensions=true adds no attributes, extended_attributes or notes"),
    # --- GET: formats, jurisdiction, errors, dates, parameters (issue 12) -------------------
    Fault("accept-header-wins", "GR2-FMT-SUFFIX-WINS",
          "an Accept header naming the other format wins over the suffix"),
    Fault("unknown-path-html", "GR2-HTTP-UNKNOWN",
          "an unknown path is answered 404 with an HTML page"),
    Fault("numeric-ids", "GR2-IDS-STRINGS",
          "identifiers are answered as JSON numbers, as in the specification's examples"),
    Fault("jurisdiction-unknown-empty", "GR2-JURISDICTION-CONSISTENT",
          "an unknown jurisdiction_id is answered 200 with an empty list (or definition)"),
    Fault("post-jurisdiction-unknown-500", "GR2-JURISDICTION-POST",
          "a POST with an unknown jurisdiction_id crashes with a 500"),
    Fault("date-zone-optional", "GR2-DATE-ZONE-400",
          "a start_date or end_date without a zone is taken as UTC"),
    Fault("date-offset-refused", "GR2-DATE-OFFSET",
          "a date parameter with a numeric offset (-05:00) is refused with 400"),
    Fault("params-taken-literally", "GR2-PARAMS-EMPTY",
          "status=, service_code= and status=open,closed are matched literally (no request); "
          "start_date= is refused"),
    Fault("bad-status-ignored", "GR2-BAD-STATUS-IGNORED",
          "an unknown status value is ignored: the whole list is answered (georeport dialect)"),
    Fault("default-window-all", "GR2-DEFAULT-WINDOW",
          "without dates the whole history (120 days) is answered (georeport dialect)"),
    Fault("date-span-unbounded", "GR2-DATE-SPAN",
          "a start_date..end_date span over 90 days is honoured (georeport dialect)"),
    Fault("request-unlisted-code", "GR2-REQ-CODE-LISTED",
          "in unfiltered lists some requests carry a service_code the service list lacks"),
    Fault("single-returns-first", "GR2-REQ-ONE",
          "requests/{id} answers the newest request whatever the id",
          sharpens="single-returns-two"),
    Fault("filter-id-unknown-ignored", "GR2-FILTER-ID",
          "a service_request_id list naming an unknown id is ignored (the whole list answers)",
          sharpens="filter-id-first-only"),
    Fault("filter-code-empty-ignored", "GR2-FILTER-SERVICE-CODE",
          "a service_code filter matching no request is ignored (the whole list answers)",
          sharpens="filter-service-code-ignored"),
    Fault("xml-boolean-capitalised", "GR2-SVC-LIST",
          "XML booleans are written True and False", sharpens="services-bad-type"),
    Fault("unsupported-format-text", "GR2-FMT-UNSUPPORTED",
          "an unsupported format suffix is refused 400 with a plain-text body",
          sharpens="unsupported-format-200"),
    Fault("discovery-other-url", "GR2-DISCOVERY",
          "discovery lists the production URL, not the base under test",
          sharpens="discovery-missing"),
    Fault("content-type-no-charset", "GR2-FMT-CHARSET",
          "successful answers name no charset (application/json, text/xml)"),
    Fault("errors-no-charset", "GR2-FMT-CHARSET",
          "error answers name no charset (application/json, text/xml); successful ones do",
          sharpens="content-type-no-charset"),
    Fault("xml-application-type", "GR2-FMT-XML-TEXT",
          "successful .xml answers are served as application/xml"),
    Fault("error-code-generic", "GR2-ERR-CODE-STATUS",
          "every error's code is 1, whatever the HTTP status"),
    Fault("empty-strings", "GR2-EMPTY-NULL",
          "JSON request lists answer \"\" for optional text fields they have no value for"),
    Fault("address-fields-missing", "GR2-REQ-ADDRESS-FIELDS",
          "requests carry no address_id and no zipcode (georeport dialect)"),
    # --- SHOULD requirements: the run warns, the verdict stands -----------------------------
    Fault("xml-no-declaration", "GR2-FMT-UTF8",
          "XML answers start without the <?xml ... encoding=\"utf-8\"?> declaration"),
    Fault("definition-order-repeats", "GR2-SVC-DEF-ORDER",
          "every attribute of a definition has order 1"),
    Fault("service-realtime", "CHI-SVC-BATCH",
          "the Test service is listed as type realtime"),
    Fault("error-names-no-attribute", "CHI-ERR-NAMES-ATTRIBUTE",
          "the refusal of a POST missing a required attribute does not name the attribute"),
    Fault("pending-with-token", "CHI-PENDING-SHAPE",
          "rows still being processed are listed with their token"),
    Fault("page-size-default-100", "CHI-PAGE-SIZE-DEFAULT",
          "without page_size a page holds 100 requests"),
    Fault("oldest-first", "CHI-ORDER-NEWEST",
          "request lists are ordered oldest first"),
    Fault("jsonp-ignored", "CHI-JSONP",
          "callback= is ignored: the answer is plain JSON"),
    Fault("discovery-missing", "GR2-DISCOVERY",
          "discovery.json and discovery.xml are answered 404"),
    Fault("base-redirects-away", "GR2-NO-REDIRECT-AWAY",
          "the base URL itself is answered 302 to another host (127.0.0.2)"),
)

CATALOGUE: dict[str, Fault] = {fault.name: fault for fault in _FAULTS}


def unknown(names: Iterable[str]) -> list[str]:
    """The names that are not in the catalogue, in the order given."""
    return [name for name in names if name not in CATALOGUE]


class UnknownFault(UsageError, ValueError):
    """A fault name the catalogue does not hold: a usage error on the command line."""


def check(names: Iterable[str]) -> frozenset[str]:
    """The names as a set; UnknownFault naming every unknown one."""
    names = tuple(names)
    bad = unknown(names)
    if bad:
        raise UnknownFault(f"unknown fault{'s' if len(bad) > 1 else ''}: {', '.join(bad)} "
                         "(see 'open311-conformance serve --list-faults')")
    return frozenset(names)


def describe() -> list[str]:
    """One line per fault: name, requirement id, description."""
    width = max(len(f.name) for f in _FAULTS)
    req_width = max(len(f.requirement) for f in _FAULTS)
    return [f"{f.name:<{width}}  {f.requirement:<{req_width}}  {f.description}" for f in _FAULTS]
