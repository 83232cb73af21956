"""The rows of a sweep: one per target, from its bundle, and sweep.json and index.html over them.

A row says what the target's bundle says, once the bundle verifies against its manifest; a
target without a trustworthy bundle (its process crashed, hung past its bound, or the bundle
does not verify) still gets a row: inconclusive, with the reason in ``problem``. The sweep's
verdict is ``fail`` when any target failed, else ``inconclusive`` when any is, else ``pass``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import __version__, jsonfile
from conformance.errors import UsageError
from conformance.outcomes import Verdict
from conformance.report import summary
from conformance.report.bundle import load_summary
from conformance.report.manifest import verify

SWEEP = "sweep.json"
INDEX = "index.html"
SWEEP_VERSION = 1


@dataclass(slots=True, frozen=True)
class TargetRow:
    name: str
    verdict: Verdict
    exit_code: int | None  # the run process's exit status (negative: killed by that signal)
    report_dir: str | None  # the bundle, relative to the sweep folder; None when there is none
    base_url: str | None = None
    started: str | None = None
    finished: str | None = None
    requests_sent: int | None = None
    failed_requirements: tuple[str, ...] = ()
    pre_approval_complete: bool = False
    cut_short: str | None = None  # the run's own reason: budget, deadline, hung, unreachable, signal
    token_resolution_s: float | None = None
    verified: bool | None = None  # None: no bundle to verify
    problem: str | None = None  # why the sweep could not take the bundle's word (crash, hang, tampering)
    notes: tuple[str, ...] = ()
    console_log: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["verdict"] = str(self.verdict)
        data["failed_requirements"] = list(self.failed_requirements)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetRow:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["verdict"] = Verdict(values["verdict"])
        values["failed_requirements"] = tuple(values.get("failed_requirements") or ())
        values["notes"] = tuple(values.get("notes") or ())
        return cls(**values)

    def but(self, problem: str | None = None, **changes: Any) -> TargetRow:
        """This row with more facts; a problem makes it inconclusive (a fail stays a fail only
        when its bundle is trustworthy, which a problem says it is not)."""
        if problem is not None:
            changes |= {"problem": "; ".join(p for p in (self.problem, problem) if p),
                        "verdict": Verdict.INCONCLUSIVE}
        return dataclasses.replace(self, **changes)


def from_bundle(name: str, bundle: Path, sweep_dir: Path) -> TargetRow:
    """The row a run's bundle gives; inconclusive with the reason when it is missing or does not verify."""
    try:
        data = load_summary(bundle)
    except UsageError as exc:
        return TargetRow(name, Verdict.INCONCLUSIVE, None, None, problem=f"no usable bundle: {exc}")
    target = data.get("target") or {}
    cut = data.get("cut_short")
    verdict = Verdict(data.get("verdict", Verdict.INCONCLUSIVE))
    row = TargetRow(
        name=name, verdict=verdict, exit_code=verdict.exit_code, report_dir=relative(bundle, sweep_dir),
        base_url=target.get("base_url") or None, started=data.get("started"), finished=data.get("finished"),
        requests_sent=data.get("requests_sent"),
        # a bundle older than broken_requirements blames every requirement of a failed check
        failed_requirements=tuple(sorted({rid for c in data["checks"] if c["outcome"] == "failed"
                                          for rid in c.get("broken_requirements") or c.get("requirement_ids") or ()})),
        pre_approval_complete=bool((data.get("pre_approval") or {}).get("complete")),
        cut_short=cut.get("reason") if isinstance(cut, dict) else None,
        token_resolution_s=data.get("token_resolution_s"),
    )
    try:
        check = verify(bundle)
    except UsageError as exc:
        return row.but(f"the bundle cannot be verified: {exc}", verified=False)
    if not check.ok:
        names = ", ".join(check.changed + check.missing + check.unexpected)
        return row.but(f"the bundle does not verify against its manifest ({names})", verified=False)
    return row.but(verified=True)


def relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


@dataclass(slots=True)
class Sweep:
    rows: list[TargetRow]
    started: str
    finished: str
    source: str  # "sweep" (run here) or "collect" (bundles made elsewhere)
    kit_errors: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        verdicts = {row.verdict for row in self.rows}
        if Verdict.FAIL in verdicts:
            return Verdict.FAIL
        if Verdict.INCONCLUSIVE in verdicts or self.kit_errors or not self.rows:
            return Verdict.INCONCLUSIVE
        return Verdict.PASS

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def counts(self) -> dict[str, int]:
        return {str(v): sum(row.verdict is v for row in self.rows) for v in Verdict}

    def as_dict(self) -> dict[str, Any]:
        return {"sweep_version": SWEEP_VERSION, "verdict": str(self.verdict), "source": self.source,
                "kit_version": __version__, "started": self.started, "finished": self.finished,
                "counts": self.counts(), "kit_errors": list(self.kit_errors),
                "targets": [row.as_dict() for row in self.rows]}


def is_sweep(location: Path) -> bool:
    return location.is_dir() and (location / SWEEP).is_file()


def load(location: Path) -> Sweep:
    """sweep.json of a sweep folder; UsageError with a one-line reason when it is not one."""
    path = location / SWEEP
    if not path.is_file():
        raise UsageError(f"{location}: not a sweep folder (no {SWEEP})")
    data = jsonfile.read(path)
    found = summary.problems(data, SWEEP)
    if found:
        raise UsageError(f"{path}: not a sweep summary ({found[0]})")
    return Sweep([TargetRow.from_dict(row) for row in data["targets"]], data["started"], data["finished"],
                 data["source"], list(data["kit_errors"]))
