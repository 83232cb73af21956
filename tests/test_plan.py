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
    assert lines and all(line.split(" ", 1)[0] in ("GET", "POST") for line in lines)
    posts = [line for line in lines if line.startswith("POST")]
    assert posts and all("refused by the write guard" in line for line in posts)
    assert all("311api.cityofchicago.org" in line for line in lines)
    assert KEY not in out
    assert "nothing was sent to the target" in out


def test_plan_sends_nothing_to_the_target(capsys):
    with scripted() as target:
        assert cli.main(["run", "--plan", "--base-url", base(target), "--api-key", KEY]) == 0
    assert target.seen == []
    out = capsys.readouterr().out
    # a loopback target may be written to: the plan lists its POSTs as allowed
    assert any(line.startswith("POST ") and "refused" not in line for line in out.splitlines())


def test_plan_of_the_default_run(capsys):
    assert cli.main(["run", "--plan"]) == 0
    out = capsys.readouterr().out
    assert out.count("\nGET ") > 50
    assert "embedded simulator" in out.splitlines()[0]
