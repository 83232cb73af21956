"""Everything one conformance run shares: target, transport, client, the write flow, results."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from conformance.client import Answer, Client
from conformance.outcomes import CheckResult
from conformance.profiles import Profile
from conformance.run.write_flow import WriteFlow
from conformance.target import Target
from conformance.transport import Exchange, Transport


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
        """Note every exchange where its judgement rests: what the checks send (on the main
        thread) for the check running now, what the write flow sends (on its own) for the flow,
        and a cached answer the client hands a check for that check too."""
        main = threading.main_thread()

        def sent(exchange: Exchange) -> None:
            if threading.current_thread() is main:
                self.cite([exchange.seq])
            elif self.write_flow.sends_here():
                self.write_flow.exchanges.append(exchange.seq)

        def seen(answer: Answer) -> None:
            if threading.current_thread() is main:
                self.cite([answer.exchange.seq])

        self.transport.on_exchange = sent
        self.client.on_answer = seen

    def cite(self, seqs: Iterable[int]) -> None:
        """Add exchanges to the evidence of the check running now (none running: nothing)."""
        current = self.current_exchanges
        if current is not None:
            current.extend(s for s in seqs if s not in current)
