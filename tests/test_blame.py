"""Blame is exact: a failed check names the requirements its failure broke, at the profile's level.

The plugin is driven over a small module of checks written here, each raising what a real check
raises; the fuzzing's judgements are asked directly what each kind of finding blames.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance import profiles
from conformance.run import fuzzing
from conformance.run.engine import CHECKS
from conformance.run.fuzzing import engine
from conformance.run.plugin import RunPlugin

CASES = json.loads((Path(__file__).parent / "cases" / "blame.json").read_text(encoding="utf-8"))["cases"]


def _module(cases: list[dict]) -> str:
    lines = ["import pytest", "from conformance.outcomes import CheckFailed", ""]
    for case in cases:
        marks = ", ".join(repr(i) for i in case["marks"])
        lines += [f"@pytest.mark.requirement({marks})", f"def test_{case['name']}():"]
        if "raises" not in case:
            lines.append("    pass")
        elif case["raises"] is None:
            lines.append("    assert False, 'plain assertion'")
        else:
            lines.append(f"    raise CheckFailed('broke', requirements={tuple(case['raises'])!r})")
        lines.append("")
    return "\n".join(lines)


def _judged(tmp_path: Path, profile: str) -> dict[str, object]:
    # a module name of its own per profile: pytest imports each once per process
    (tmp_path / f"test_blamed_{profile.replace('-', '_')}.py").write_text(_module(CASES), encoding="utf-8")
    transport = SimpleNamespace(redact=lambda text: text, stop=None)
    context = SimpleNamespace(profile=profiles.get(profile), results={}, transport=transport,
                              target=SimpleNamespace(share_answers=False),
                              current_exchanges=None, say=lambda _line: None, kit_errors=[])
    # no plugin from the installed packages and no hunt for unraisable exceptions (five full
    # collections of the worker's heap), as in a run (engine.pytest_args): most of this test's
    # time, and none of them judges anything here
    code = pytest.main([str(tmp_path), "--disable-plugin-autoload", "-p", "conformance.run.plugin",
                        "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:unraisableexception",
                        "--rootdir", str(tmp_path),
                        "-c", str(CHECKS / "pytest.ini")], plugins=[RunPlugin(context, quiet=True)])
    assert code in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    return {nodeid.rsplit("::test_", 1)[1]: result for nodeid, result in context.results.items()}


@pytest.mark.parametrize("profile", ["chicago", "georeport-v2"])
def test_a_failure_blames_what_it_names_at_the_profiles_level(tmp_path, profile):
    judged = _judged(tmp_path, profile)
    for case in CASES:
        expected = case["expect"].get(profile, case["expect"].get("any"))
        result = judged[case["name"]]
        assert result.outcome == expected["outcome"], (case["name"], result.message)
        assert result.broken == expected.get("broken", []), case["name"]
        if "level" in expected:
            assert result.level == expected["level"], case["name"]
        # what a check blames is always among what it is reported to judge
        assert set(result.broken) <= set(result.requirement_ids), case["name"]


# -- the fuzzing's judgements -------------------------------------------------------------------
SPECS = {spec.operation.name: spec for spec in fuzzing.OPERATIONS}


def _failure(kind: str):
    from schemathesis.core.failures import Failure, MalformedJson, ServerError
    from schemathesis.openapi.checks import ContentDeserializationError

    if kind == "unsafe":
        return ContentDeserializationError(operation="x", message=f"Failed: {engine.UNSAFE_XML}: DTD")
    if kind == "undecodable":
        return ContentDeserializationError(operation="x", message="Failed: wrong root <x>")
    if kind == "malformed-json":
        return MalformedJson(operation="x", validation_message="bad", document="{", position=0,
                             lineno=1, colno=1, message="bad")
    if kind == "server":
        return ServerError(operation="x", status_code=500)
    return Failure(operation="x", message="the body breaks the schema")


BLAMES = [
    # judgement, operation, format, status, failure kind -> requirement
    ("schema violation", "services", "json", 200, "schema", "GR2-SVC-LIST"),
    ("schema violation", "requests", "xml", 200, "schema", "GR2-REQ-SCHEMA"),
    ("schema violation", "tokens", "json", 200, "schema", "GR2-TOKEN-ANSWER"),
    ("schema violation", "services", "xml", 200, "unsafe", "GR2-FMT-XML-SAFE"),
    ("schema violation", "services", "xml", 200, "undecodable", "GR2-FMT-XML-ROOT"),
    ("schema violation", "requests", "json", 400, "schema", "GR2-ERR-BODY"),
    ("schema violation", "requests", "xml", 404, "undecodable", "GR2-ERR-FORMAT"),
    ("schema violation", "requests", "json", 400, "malformed-json", "GR2-ERR-FORMAT"),
    ("undocumented content type", "services", "xml", 200, "schema", "GR2-FMT-XML-CONTENT-TYPE"),
    ("undocumented content type", "services", "json", 400, "schema", "GR2-ERR-FORMAT"),
    ("server error", "requests", "json", 500, "server", "GR2-ERR-NO-5XX"),
    ("undocumented status", "services", "json", 203, "schema", "GR2-STATUS-DOCUMENTED"),
    ("invalid input accepted", "requests", "json", 200, "schema", "GR2-INPUT-REFUSED"),
]


@pytest.mark.parametrize(("judgement", "operation", "fmt", "status", "kind", "expected"), BLAMES)
def test_each_kind_of_finding_blames_its_own_requirement(judgement, operation, fmt, status, kind, expected):
    chosen = next(j for j in engine.JUDGEMENTS if j.name == judgement)
    spec = SPECS[operation]
    blamed = chosen.blame(engine.Answered(spec, fmt, status), _failure(kind))
    assert blamed == expected
    assert blamed in spec.blamable(fmt)


def test_a_check_of_ours_names_the_requirement_it_raised():
    from schemathesis.core.failures import CustomFailure

    from conformance.run.fuzzing.wiring import Blamed

    post = SPECS["post-request"]
    key = next(j for j in engine.JUDGEMENTS if j.name == "key not enforced")
    raised = Blamed("GR2-KEY-MISSING", "POST without api_key answered 200")
    failure = CustomFailure(operation="x", title="t", message=str(raised), exception=raised)
    assert key.blame(engine.Answered(post, "json", 200), failure) == "GR2-KEY-MISSING"
    assert set(post.requirement_ids("json")) >= {"GR2-KEY-MISSING", "GR2-KEY-INVALID"}


def test_a_passing_fuzzing_check_never_counts_for_a_write_or_a_read_back():
    # what it blames when broken, it does not claim when passing: GR2-TOKEN-ANSWER (read-back)
    # and GR2-POST-RESPONSE (write) are blamable, never marks
    assert "GR2-TOKEN-ANSWER" in SPECS["tokens"].blamable("json")
    assert "GR2-TOKEN-ANSWER" not in SPECS["tokens"].requirement_ids("json")
    assert "GR2-POST-RESPONSE" not in SPECS["post-request"].requirement_ids("json")


def test_marks_are_the_union_of_what_the_judgements_can_blame():
    discovery = SPECS["discovery"]
    assert "GR2-INPUT-REFUSED" not in discovery.requirement_ids("json")  # nothing invalid is generated
    assert "GR2-FMT-XML-SAFE" in SPECS["services"].requirement_ids("xml")
    assert "GR2-FMT-XML-SAFE" not in SPECS["services"].requirement_ids("json")
