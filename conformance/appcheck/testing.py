"""The simulator inside an application developer's own tests (the ``open311_simulator`` fixture).

Like moto for AWS: a test gets a running City-like server, points its code at ``base_url``
with ``api_key``, can switch faults of the catalogue on and off, and afterwards looks at what
its code sent (``recording``) or has the application checks judge it (``grade``), handing
over what the code printed or wrote (``output=``) to have it searched for the rows without an
id and for the key, as ``check-app`` searches an application's output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.appcheck import judges, leaks
from conformance.appcheck.grading import JURISDICTION, GradingSimulator
from conformance.appcheck.recording import Kind, Seen, redactor
from conformance.outcomes import CheckResult

DEFAULT_DELAY_S = 0.5  # short: a developer's suite should stay fast
Output = str | bytes | os.PathLike[str]


@dataclass(slots=True)
class Open311Simulator:
    server: GradingSimulator

    @classmethod
    def start(cls, delay: float = DEFAULT_DELAY_S, grading: bool = True,
              faults: Iterable[str] = (), app_name: str = "pytest") -> Open311Simulator:
        return cls(GradingSimulator(app_name=app_name, delay=delay, faults=tuple(faults), grading=grading))

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_key(self) -> str:
        return self.server.api_key

    @property
    def jurisdiction_id(self) -> str:
        return JURISDICTION

    @property
    def faults(self) -> frozenset[str]:
        return self.server.sim.app.faults

    def set_faults(self, *names: str) -> None:
        """Switch exactly these faults on (none: all off); ValueError for an unknown name."""
        self.server.sim.app.set_faults(names)

    @property
    def recording(self) -> list[Seen]:
        """Every exchange the code under test had with the simulator, in order."""
        return self.server.recorder.snapshot()

    def sent(self, kind: Kind | str) -> list[Seen]:
        """The exchanges of one kind: "post", "token", "request", "requests", "services", ..."""
        return [s for s in self.recording if s.kind == Kind(kind)]

    @property
    def pending_markers(self) -> tuple[str, ...]:
        """What marks the listed rows without an id (in their description and address)."""
        return self.server.pending_markers

    def grade(self, formats: Iterable[str] = ("json",), output: Iterable[Output] = ()) -> list[CheckResult]:
        """The application checks over what the code sent so far (APP-EXIT does not apply).

        ``output``: what the code printed or kept, each a text (``str``/``bytes``, e.g. from
        ``capsys``) or a file or directory (``pathlib.Path``): searched for the rows without an
        id (APP-IGNORE-PENDING) and the key (APP-KEY-SECRET)."""
        services, definitions = self.server.catalogue(self.recording)
        facts = judges.Facts(api_key=self.api_key, formats=tuple(formats), services=services,
                             definitions=definitions, output=self._read(list(output)))
        return judges.judge_all(self.recording, facts)

    def problems(self, formats: Iterable[str] = ("json",), output: Iterable[Output] = ()) -> list[str]:
        """The requirements the code broke (failed or warned), each with the check's message."""
        return [f"{'/'.join(r.requirement_ids)}: {r.message}" for r in self.grade(formats, output)
                if r.outcome in ("failed", "warning", "error")]

    def _read(self, outputs: list[Output]) -> judges.Output:
        needles = leaks.Needles(self.pending_markers, self.api_key)
        redact = redactor(self.api_key)
        watch = leaks.Watch(needles, redact)
        texts = [o for o in outputs if isinstance(o, str | bytes)]
        for number, text in enumerate(texts, 1):
            name = "output" if len(texts) == 1 else f"output {number}"
            watch.text(name, text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
        paths = [Path(o) for o in outputs if not isinstance(o, str | bytes)]
        found, read = leaks.scan_paths(paths, needles, redact)
        return judges.Output(leaks=(*watch.leaks, *found), places=(*watch.streams, *read.places),
                             missing=read.missing, marked=bool(needles.markers))

    def stop(self) -> None:
        self.server.stop()
