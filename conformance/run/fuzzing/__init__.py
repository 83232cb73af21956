"""OpenAPI-driven contract testing: schemathesis 4 over ``openapi.yaml``, in JSON and XML.

The hand-written scenarios check what the City documents; this drives schemathesis'
Hypothesis-based generation over every operation of the description to find what nobody
thought of. It is split in two:

- :mod:`conformance.run.fuzzing.wiring`: what schemathesis is told (the schema loaded for the
  run, the XML deserializer that decodes through :mod:`conformance.wire`, the Open311 checks,
  and the requests adapter that hands every request to :class:`~conformance.transport.Transport`).
- :mod:`conformance.run.fuzzing.engine`: what one check does (generate cases for one operation
  and format, send them, judge the answers, write the findings with a curl reproduction).

Every request goes through the run's transport with a label starting with ``openapi:``
(:data:`LABEL_PREFIX`), so evidence, redaction, the write guard, the rate limit and the
request budget apply, and the report counts the fuzzing's requests by that prefix.
"""

from __future__ import annotations

from conformance.run.fuzzing.engine import (
    DEFAULT_SEED,
    FORMATS,
    LABEL_PREFIX,
    MAX_POSTS_PER_RUN,
    OPERATIONS,
    REMOTE_EXAMPLES,
    SIMULATOR_EXAMPLES,
    Finding,
    FuzzResult,
    OperationSpec,
    draw_ahead,
    examples_for,
    fuzz,
    fuzz_requests,
    post_refusal,
    seed_for,
)
from conformance.run.fuzzing.wiring import curl_command, deserialize_xml, load_schema

__all__ = [
    "DEFAULT_SEED", "FORMATS", "LABEL_PREFIX", "MAX_POSTS_PER_RUN", "OPERATIONS", "REMOTE_EXAMPLES",
    "SIMULATOR_EXAMPLES", "Finding", "FuzzResult", "OperationSpec", "curl_command",
    "deserialize_xml", "draw_ahead", "examples_for", "fuzz", "fuzz_requests", "load_schema", "post_refusal",
    "seed_for",
]
