"""The suite's own layout: the tests sharing a module's fixture reach xdist as one group, so the
fixture is made once (tests/conftest.py groups them; xdist reads the group from the node id)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def made_once() -> str:
    return "a module's fixture"


def test_a_module_fixtures_tests_are_one_group_for_xdist(made_once: str, request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by an xdist worker distributing by group (-n 0, or another --dist)")
    assert request.node.nodeid.endswith(f"@{request.node.module.__name__}"), request.node.nodeid
