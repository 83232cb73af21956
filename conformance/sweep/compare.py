"""``open311-conformance compare OLD_SWEEP NEW_SWEEP``: regressions across two sweeps.

Per target (by name), the two runs' summaries are compared by the one comparison of runs
(:func:`conformance.report.compare.compare`); targets that appeared or vanished are listed.
Exit 1 when any target has a newly failing check, or appeared and fails (as a check that
appears and fails counts in a run's comparison), 0 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.outcomes import Verdict
from conformance.report.bundle import load_summary
from conformance.report.compare import Comparison, compare
from conformance.sweep import rows
from conformance.sweep.rows import TargetRow


@dataclass(slots=True)
class TargetChange:
    name: str
    comparison: Comparison | None = None
    note: str | None = None  # why the target could not be compared


@dataclass(slots=True)
class SweepComparison:
    targets: list[TargetChange] = field(default_factory=list)
    appeared: list[TargetRow] = field(default_factory=list)
    vanished: list[TargetRow] = field(default_factory=list)

    @property
    def newly_failing(self) -> int:
        checks = sum(len(t.comparison.newly_failing) for t in self.targets if t.comparison)
        return checks + sum(row.verdict is Verdict.FAIL for row in self.appeared)

    @property
    def exit_code(self) -> int:
        return 1 if self.newly_failing else 0


def compare_sweeps(old_dir: Path, new_dir: Path) -> SweepComparison:
    old = {row.name: row for row in rows.load(old_dir).rows}
    new = {row.name: row for row in rows.load(new_dir).rows}
    result = SweepComparison()
    result.appeared = [row for name, row in new.items() if name not in old]
    result.vanished = [row for name, row in old.items() if name not in new]
    for name in (n for n in new if n in old):
        before, after = _summary(old_dir, old[name]), _summary(new_dir, new[name])
        if isinstance(before, str) or isinstance(after, str):
            note = "; ".join(f"{side}: {text}" for side, text in (("then", before), ("now", after))
                             if isinstance(text, str))
            result.targets.append(TargetChange(name, note=f"not compared ({note})"))
        else:
            result.targets.append(TargetChange(name, compare(before, after)))
    return result


def _summary(directory: Path, row: TargetRow) -> dict[str, Any] | str:
    """The target's summary, or in words why there is none (a crash leaves no bundle)."""
    if row.report_dir is None:
        return row.problem or "no bundle"
    try:
        return load_summary(directory / row.report_dir)
    except UsageError as exc:
        return str(exc)


def render(result: SweepComparison) -> list[str]:
    lines = []
    for change in result.targets:
        if change.comparison is None:
            lines.append(f"target {change.name}: {change.note}")
            continue
        c = change.comparison
        lines.append(f"target {change.name}: {len(c.newly_failing) or 'nothing'} newly failing, "
                     f"{len(c.fixed)} fixed (verdict {c.old.get('verdict', '?')} -> {c.new.get('verdict', '?')})")
        lines += [f"  WARNING: {w}: the runs are not like for like" for w in c.warnings]
        lines += ["  " + line for change_ in c.newly_failing for line in change_.line().splitlines()]
    lines.append(f"Targets appeared: {len(result.appeared) or 'none'}")
    lines += [f"  + {row.name} (verdict {row.verdict})" for row in result.appeared]
    lines.append(f"Targets vanished: {len(result.vanished) or 'none'}")
    lines += [f"  - {row.name} (verdict then {row.verdict})" for row in result.vanished]
    verdict = (f"{result.newly_failing} newly failing: regression" if result.newly_failing
               else "nothing newly fails")
    lines.append(f"Result: {verdict}")
    return lines
