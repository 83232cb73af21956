"""``open311-conformance validate``, run in-process: exit codes and what it prints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance import cli

SAMPLES = Path(__file__).parent / "fixtures" / "samples"


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str], str]:
    code = cli.main(["validate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


@pytest.mark.parametrize(("sample", "resource", "verdict"), [
    ("e1-services.chicago-test.json", "services", "valid: 14 services"),
    ("e1-services.chicago-test.generated.xml", "services", "valid: 14 services"),
    ("e2-definition.pothole.json", "service-definition",
     "valid: service definition with 2 attributes"),
    ("e3-post-response.json", "post-response", "valid: 1 POST answer"),
    ("e5-requests.production-2014.json", "service-requests", "valid: 2 service requests"),
    ("e6-requests.extensions.generated.xml", "service-requests", "valid: 1 service request"),
    ("e8-errors.403.xml", "errors", "valid: 1 error"),
    ("spec-token.xml", "token", "valid: 1 token answer"),
    ("spec-discovery.json", "discovery", "valid: discovery document"),
])
def test_valid_samples_exit_0(capsys: pytest.CaptureFixture[str], sample: str, resource: str,
                              verdict: str) -> None:
    code, out, err = run(capsys, SAMPLES / sample, "--resource", resource)
    assert (code, out[-1], err) == (0, verdict, "")
    assert out[0].endswith(f"{resource}, {sample.rsplit('.', 1)[1].upper()}, chicago profile")


def test_pending_rows_are_ignored_under_chicago(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, SAMPLES / "e4-requests.pending-rows.json",
                       "--resource", "service-requests")
    assert code == 0
    assert out[-2:] == ["3 rows without service_request_id ignored, as the City instructs",
                        "valid: 0 service requests"]


def test_pending_rows_beside_real_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = (json.loads((SAMPLES / "e5-requests.production-2014.json").read_text())
            + json.loads((SAMPLES / "e4-requests.pending-rows.json").read_text())[:2])
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(rows))
    code, out, _ = run(capsys, path, "--resource", "service-requests")
    assert code == 0
    assert out[-2:] == ["2 rows without service_request_id ignored, as the City instructs",
                        "valid: 2 service requests"]


def test_pending_rows_are_violations_under_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, SAMPLES / "e4-requests.pending-rows.json",
                       "--resource", "service-requests", "--profile", "georeport-v2")
    assert code == 1
    assert '  /0/status: expected one of ["open","closed"], found "submitted"' in out
    assert ('  /2/service_request_id: expected required property "service_request_id", '
            "found nothing") in out
    assert out[-1] == "invalid: 9 violations"
    assert not any("ignored" in line for line in out)


def test_each_violation_on_its_own_line(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    rows = json.loads((SAMPLES / "e5-requests.production-2014.json").read_text())
    rows[0]["status"] = "pending"
    rows[0]["lat"] = "41.85"
    rows[1]["requested_datetime"] = "2014-07-12T10:48:56"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(rows))
    code, out, _ = run(capsys, path, "--resource", "service-requests")
    assert code == 1
    assert out[1:] == [
        '  /0/lat: expected type number or null, found "41.85"',
        '  /0/status: expected one of ["open","closed"], found "pending"',
        "  /1/requested_datetime: expected a W3C date-time with a zone, e.g. "
        '2010-01-01T00:00:00Z, found "2014-07-12T10:48:56"',
        "invalid: 3 violations",
    ]


def test_one_violation_singular(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "errors.json"
    path.write_text('[{"code": "403", "description": "Invalid api_key"}]')
    code, out, _ = run(capsys, path, "--resource", "errors")
    assert (code, out[-2:]) == (1, ['  /0/code: expected type integer, found "403"',
                                    "invalid: 1 violation"])


@pytest.mark.parametrize(("body", "suffix", "resource", "reason"), [
    (b"[{", ".json", "services", "not valid JSON"),
    (b"<services><service></services>", ".xml", "services", "XML not well-formed"),
    (b'<!DOCTYPE errors [<!ENTITY a "&#65;">]><errors>&a;</errors>', ".xml", "errors", "DTD"),
])
def test_undecodable_body_is_invalid(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     body: bytes, suffix: str, resource: str,
                                     reason: str) -> None:
    path = tmp_path / f"answer{suffix}"
    path.write_bytes(body)
    code, out, err = run(capsys, path, "--resource", resource)
    assert (code, err) == (1, "")
    assert out[1].startswith("  cannot decode: ") and reason in out[1]
    assert out[-1] == "invalid: the body cannot be decoded"


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    code, out, err = run(capsys, tmp_path / "nope.json", "--resource", "services")
    assert (code, out) == (2, [])
    assert err == f"open311-conformance validate: error: {tmp_path / 'nope.json'}: no such file\n"


def test_unknown_suffix_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    path = tmp_path / "answer.txt"
    path.write_text("[]")
    code, out, err = run(capsys, path, "--resource", "services")
    assert (code, out) == (2, [])
    assert "the file name must end in .json or .xml" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_directory_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "answers.json"
    folder.mkdir()
    code, _, err = run(capsys, folder, "--resource", "services")
    assert code == 2 and "is a directory" in err


def test_unreadable_file_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    shutil.copy(SAMPLES / "e3-post-response.json", path)
    path.chmod(0)
    try:
        if path.read_bytes():  # root reads anything: nothing to prove then
            pytest.skip("running with privileges that ignore file permissions")
    except PermissionError:
        pass
    code, _, err = run(capsys, path, "--resource", "post-response")
    assert code == 2 and "permission denied" in err


def test_unknown_resource_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["validate", str(SAMPLES / "e3-post-response.json"), "--resource", "service"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("profile", ["chicago", "georeport-v2"])
def test_empty_strings_in_optional_fields_are_warnings(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       profile: str) -> None:
    rows = json.loads((SAMPLES / "e5-requests.production-2014.json").read_text())
    for row in rows:
        row["media_url"] = ""  # what real cities answer for "no photo"
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(rows))
    code, out, err = run(capsys, path, "--resource", "service-requests", "--profile", profile)
    assert (code, err) == (0, "")
    assert out[1:] == [
        '  warning: /0/media_url: expected a valid uri, found ""',
        '  warning: /1/media_url: expected a valid uri, found ""',
        "2 empty strings where the field may be empty: warnings, not violations",
        "valid: 2 service requests",
    ]


def test_empty_required_field_stays_a_violation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = json.loads((SAMPLES / "e5-requests.production-2014.json").read_text())
    rows[0]["media_url"] = ""
    rows[1]["status"] = ""
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(rows))
    code, out, _ = run(capsys, path, "--resource", "service-requests", "--profile", "georeport-v2")
    assert code == 1
    assert out[1:] == [
        '  /1/status: expected one of ["open","closed"], found ""',
        '  warning: /0/media_url: expected a valid uri, found ""',
        "1 empty string where the field may be empty: warnings, not violations",
        "invalid: 1 violation",
    ]


SHAPES = [
    ("e1-services.chicago-test.json", "service-requests", "service list"),
    ("e1-services.chicago-test.json", "errors", "service list"),
    ("e4-requests.pending-rows.json", "services", "service request list"),
    ("e2-definition.pothole.json", "services", "service definition"),
    ("e8-errors.403.json", "service-requests", "error list"),
    ("spec-discovery.json", "services", "discovery document"),
    ("e3-post-response.json", "service-requests", "POST answer"),
]


@pytest.mark.parametrize(("sample", "resource", "seems"), SHAPES)
def test_a_document_of_another_resource_is_invalid_and_named(capsys: pytest.CaptureFixture[str], sample: str,
                                                              resource: str, seems: str) -> None:
    assert cli.main(["validate", str(SAMPLES / sample), "--resource", resource]) == 1
    out = capsys.readouterr().out
    assert f"invalid: this looks like a {seems}" in out and "valid: 0" not in out


# validate and run agree: a requirement the profile makes a MUST is a violation, a SHOULD a
# warning; and every violation of a document is listed (cases/validate.json)
RULE_CASES = json.loads((Path(__file__).parent / "cases" / "validate.json").read_text())["cases"]


@pytest.mark.parametrize("case", RULE_CASES, ids=[c["name"] for c in RULE_CASES])
def test_validate_case(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: dict) -> None:
    path = tmp_path / f"answer.{case['format']}"
    body = case["body"]
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    code, out, err = run(capsys, path, "--resource", case["resource"], "--profile", case["profile"])
    assert (code, err) == (case["exit"], ""), out
    assert out[1:] == case["lines"]
