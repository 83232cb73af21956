"""`run --plan`: every request a run would send, and nothing sent to the target."""

from __future__ import annotations

import pytest

from conformance import cli
from tests.test_transport import base, scripted

pytestmark = pytest.mark.integration
KEY = "plan-test-key-1234567"


def test_plan_against_production_plans_no_write_and_leaks_no_key(capsys):
    assert cli.main(["run", "--plan", "--base-url", "http://311api.cityofchicago.org/open311/v2",
                     "--api-key", KEY]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line and not line.startswith("#")]
    # DELETE: the probe of a method GeoReport has not (GR2-HTTP-UNKNOWN), guarded like a write
    assert lines and all(line.split(" ", 1)[0] in ("GET", "POST", "DELETE") for line in lines)
    writes = [line for line in lines if not line.startswith("GET")]
    assert any(line.startswith("POST") for line in writes)
    assert all("refused by the write guard" in line for line in writes)
    assert all("311api.cityofchicago.org" in line for line in lines)
    assert KEY not in out
    assert "nothing was sent to the target" in out


def test_plan_sends_nothing_to_the_target(capsys):
    with scripted() as target:
        assert cli.main(["run", "--plan", "--base-url", base(target), "--api-key", KEY]) == 0
    assert target.seen == []
    out = capsys.readouterr().out
    # a loopback target may be written to: the plan lists its POSTs as allowed, every one marked
    posts = [line for line in out.splitlines() if line.startswith("POST ")]
    assert posts and all(line.endswith("# allowed by the write guard") for line in posts)


def test_plan_of_the_default_run(capsys):
    assert cli.main(["run", "--plan"]) == 0
    out = capsys.readouterr().out
    assert out.count("\nGET ") > 50
    assert "embedded simulator" in out.splitlines()[0]


def _plan_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line and not line.startswith("#")]


def test_plan_of_a_city_with_only_a_production_url_refuses_every_post(capsys):
    assert cli.main(["run", "--plan", "--city", "washington-dc", "--api-key", KEY]) == 0
    out = capsys.readouterr().out
    lines = _plan_lines(out)
    posts = [line for line in lines if line.startswith("POST")]
    assert posts and all("app.311.dc.gov is a known production host" in line for line in posts)
    assert all(line.split(" ", 2)[1].startswith("http://app.311.dc.gov/cwi/Open311/") for line in lines)
    assert "profile georeport-v2" in out.splitlines()[0]
    assert "jurisdiction_id=dc.gov" in out and KEY not in out


def test_plan_of_chicago_picks_the_test_url_and_may_write(capsys):
    assert cli.main(["run", "--plan", "--city", "chicago", "--api-key", KEY]) == 0
    lines = _plan_lines(capsys.readouterr().out)
    assert all(line.split(" ", 2)[1].startswith("http://test311api.cityofchicago.org/open311/")
               for line in lines)
    assert any(line.startswith("POST ") and "refused" not in line for line in lines)
