"""Everything one conformance run shares: target, transport, client, the write flow, results."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.client import Answer, Client
from conformance.outcomes import CheckResult
from conformance.profiles import Profile
from conformance.target import Target
from conformance.transport import Transport
from conformance.write_flow import WriteFlow


@dataclass(slots=True)
class RunContext:
    target: Target
    transport: Transport
    client: Client
    run_id: str
    write_flow: WriteFlow
    results: dict[str, CheckResult] = field(default_factory=dict)
    say: Callable[[str], None] = print
    current_exchanges: list[int] | None = None
    kit_errors: list[str] = field(default_factory=list)

    @property
    def profile(self) -> Profile:
        return self.target.profile

    def watch(self) -> None:
        """Note, for the check running now, every exchange its judgement rests on."""
        main = threading.main_thread()

        def seen(answer: Answer) -> None:
            current = self.current_exchanges
            if threading.current_thread() is main and current is not None and answer.exchange.seq not in current:
                current.append(answer.exchange.seq)

        self.client.on_answer = seen
