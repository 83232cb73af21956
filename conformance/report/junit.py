"""junit.xml for CI, written from the record: one test case per check.

Written by the kit rather than pytest's junitxml plugin so that it says what the record
says (our six outcomes, the verdict, the pre-approval status, the app name) and so that an
application's grading, which runs no pytest at all, gets the same file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conformance.outcomes import CheckResult, Outcome
from conformance.record import RunRecord

MESSAGE_CAP = 2000  # characters of a message in the attribute; the element text holds it whole


def junit(record: RunRecord) -> bytes:
    counts = record.counts
    suite = ET.Element("testsuite", {
        "name": f"open311-conformance {record.subject}",
        "tests": str(len(record.results)),
        "failures": str(counts[Outcome.FAILED]),
        "errors": str(counts[Outcome.ERROR]),
        "skipped": str(counts[Outcome.SKIPPED] + counts[Outcome.INCONCLUSIVE]),
        "time": f"{sum(r.duration_s for r in record.results):.3f}",
        "timestamp": record.started,
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("verdict", record.verdict), ("pre_approval_complete", record.pre_approval.complete),
                        ("practice", record.practice), ("mode", record.mode),
                        ("app_name", record.app_name or ""), ("target", record.target.get("base_url", "")),
                        ("profile", record.profile), ("run_id", record.run_id),
                        ("cut_short", record.cut_short or ""),
                        ("rejudged", record.rejudged.sentence() if record.rejudged else "")):
        ET.SubElement(properties, "property", {"name": name, "value": str(value).lower()
                                               if isinstance(value, bool) else str(value)})
    for result in record.results:
        suite.append(_case(result))
    ET.indent(suite)
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="utf-8", xml_declaration=True) + b"\n"


def _case(result: CheckResult) -> ET.Element:
    module, _, name = result.id.rpartition("::")
    case = ET.Element("testcase", {"classname": module.removesuffix(".py").replace("/", ".") or "checks",
                                   "name": name or result.id, "time": f"{result.duration_s:.3f}"})
    properties = ET.SubElement(case, "properties")
    for key, value in (("conformance_outcome", result.outcome), ("level", result.level),
                       ("requirements", " ".join(result.requirement_ids)),
                       ("broken_requirements", " ".join(result.broken)), ("title", result.title)):
        ET.SubElement(properties, "property", {"name": key, "value": str(value)})
    message = _xml_text(result.message)
    tag = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.SKIPPED: "skipped",
           Outcome.INCONCLUSIVE: "skipped"}.get(result.outcome)
    if tag is not None:
        label = f"{result.outcome}: {message}" if result.outcome is Outcome.INCONCLUSIVE else message
        element = ET.SubElement(case, tag, {"message": label[:MESSAGE_CAP]})
        if tag != "skipped":
            element.text = message
    elif result.outcome is Outcome.WARNING:
        ET.SubElement(case, "system-out").text = f"warning ({result.level}): {message}"
    return case


def _xml_text(text: str) -> str:
    # XML 1.0 has no place for most control characters; a server may have sent them
    return "".join(ch if ch in "\t\n\r" or ch >= " " else f"\\x{ord(ch):02x}" for ch in text)
