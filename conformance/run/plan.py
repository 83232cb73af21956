"""``run --plan``: every request a run would send, one per line, and nothing sent to the target.

A run's later requests depend on earlier answers (a definition per listed service, the id a
token resolves to). To list them honestly the plan runs the whole suite with the transport
in plan mode: each request is announced with the target's URL and the write guard's
decision, then answered by a private embedded simulator standing in for the target.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from conformance.run.engine import execute
from conformance.simulator import server
from conformance.target import Target
from conformance.transport import Transport

STAND_IN_DELAY = 0.05  # seconds: the stand-in resolves tokens at once, the plan stays quick


def print_plan(target: Target, say: Callable[[str], None]) -> None:
    counts: Counter[str] = Counter()
    lines: list[str] = []  # printed afterwards: pytest captures output while the checks run

    def announce(method: str, url: str, refusal: str | None) -> None:
        counts[method] += 1
        if refusal:
            counts["refused"] += 1
            lines.append(f"{method} {url}    # refused by the write guard: {refusal}")
        elif method in ("GET", "HEAD"):
            lines.append(f"{method} {url}")
        else:
            lines.append(f"{method} {url}    # allowed by the write guard")

    stand_in = server.start(delay=STAND_IN_DELAY)
    try:
        simulated = target.simulator
        if simulated:
            target.base_url = stand_in.base_url
        elif target.jurisdiction_id:
            # the stand-in plays the planned city: its jurisdiction_id must not be refused
            stand_in.app.jurisdiction = target.jurisdiction_id
        key = target.api_key or (stand_in.api_key if simulated else None)
        if key:
            stand_in.store.add_key("plan", "plan@open311-conformance.invalid", key=key)
        target.key_from_simulator = simulated and not target.api_key
        target.api_key = key
        where = "the embedded simulator" if simulated else target.base_url
        say(f"# plan of a run against {where} ({target.kind}), profile {target.profile.name}")
        say("# answers come from a stand-in simulator: ids and counts depend on the real target's data")
        transport = Transport(target.base_url, key, timeout=target.timeout, write_policy=target.write_policy,
                              max_requests=target.max_requests, plan=announce, stand_in=stand_in.base_url,
                              trust=target.settings.trust, route=target.settings.route)
        with tempfile.TemporaryDirectory(prefix="open311-plan-") as scratch:
            execute(target, report_dir=Path(scratch), quiet=True, say=lambda _line: None, transport=transport)
    finally:
        stand_in.stop()
    for line in lines:
        say(line)
    writes = sum(n for method, n in counts.items() if method not in ("GET", "HEAD", "refused"))
    total = sum(n for method, n in counts.items() if method != "refused")
    say(f"# {total} requests planned: {writes} writes, {counts['refused']} refused by the write guard; "
          "nothing was sent to the target")
