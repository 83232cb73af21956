"""``open311-conformance compare OLD NEW``: what changed between two runs.

The regression check CI runs against the last accepted run: checks newly failing, fixed,
otherwise changed, appeared and vanished; the token's resolution time then and now; drift
of the service catalogue. Exit 1 when something newly fails (a check that appeared and
fails counts), 0 otherwise, 2 when either side is not a readable report.

Only summary.json is needed, so a bundle trimmed to it still compares; when a manifest is
there and no longer matches, the output says so (``verify`` is the command that judges it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.report.manifest import MANIFEST, verify
from conformance.target import EMBEDDED_SIMULATOR

FAILING = frozenset({"failed", "error"})


@dataclass(slots=True)
class Change:
    id: str
    old: str | None
    new: str | None
    title: str = ""
    requirement_ids: list[str] = field(default_factory=list)
    message: str = ""

    def line(self) -> str:
        ids = " ".join(self.requirement_ids)
        name = f"{self.title} ({self.id})" if self.title else self.id
        text = f"  {name}  [{ids}]  {self.old or '(absent)'} -> {self.new or '(absent)'}"
        if self.new not in FAILING or not self.message:
            return text
        return text + "".join(f"\n      {line[:200]}" for line in self.message.splitlines()[:3])


@dataclass(slots=True)
class Comparison:
    old: dict[str, Any]
    new: dict[str, Any]
    newly_failing: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    appeared: list[Change] = field(default_factory=list)
    vanished: list[Change] = field(default_factory=list)
    catalogue: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the two runs differ in what they tested or how

    @property
    def exit_code(self) -> int:
        return 1 if self.newly_failing else 0


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    result = Comparison(old, new)
    before = {c["id"]: c for c in old["checks"]}
    after = {c["id"]: c for c in new["checks"]}
    for cid, check in after.items():
        change = _change(cid, before.get(cid), check)
        if cid not in before:
            (result.newly_failing if check["outcome"] in FAILING else result.appeared).append(change)
        elif change.old == change.new:
            continue
        elif change.new in FAILING and change.old not in FAILING:
            result.newly_failing.append(change)
        elif change.old in FAILING and change.new not in FAILING:
            result.fixed.append(change)
        else:
            result.changed.append(change)
    result.vanished = [_change(cid, check, None) for cid, check in before.items() if cid not in after]
    result.catalogue = catalogue_drift(old.get("catalogue"), new.get("catalogue"))
    result.warnings = setting_drift(old, new)
    return result


# what makes two runs not like for like: (label, how to read it from a summary)
_SETTINGS: tuple[tuple[str, Any], ...] = (
    ("target", lambda d: _target(d.get("target") or {})),
    ("profile", lambda d: d.get("profile")),
    ("API key given", lambda d: (d.get("target") or {}).get("api_key_given")),
    ("API key source", lambda d: d.get("key_source")),
    ("read-only", lambda d: d.get("mode")),
    ("kit version", lambda d: d.get("kit_version")),
    ("subject", lambda d: d.get("subject", "target")),
)


def _target(target: dict[str, Any]) -> Any:
    # the embedded simulator is one target wherever it listened: each run starts it on a free port
    if target.get("kind") == EMBEDDED_SIMULATOR:
        return EMBEDDED_SIMULATOR
    return target.get("base_url")


# settings an older summary may lack: not a difference of the runs
_NEWER = ("read-only", "API key source")


def setting_drift(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per setting that differs: a changed outcome may then be the setting's doing."""
    lines = [f"{label} differs: {read(old)!r} then, {read(new)!r} now" for label, read in _SETTINGS
             if read(old) != read(new) and not (label in _NEWER and read(old) is None)]
    old_contract, new_contract = _contract(old), _contract(new)
    if old_contract != new_contract:
        lines.append("contract hashes differ (openapi.yaml or schemas/ changed between the runs)")
    return lines


def _contract(summary: dict[str, Any]) -> Any:
    return summary.get("contract")


def _change(cid: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> Change:
    latest = new or old or {}
    return Change(cid, old["outcome"] if old else None, new["outcome"] if new else None,
                  str(latest.get("title", "")), list(latest.get("requirement_ids") or []),
                  str(latest.get("message", "")))


def catalogue_drift(old: Any, new: Any) -> list[str]:
    """One line per service added, removed, renamed, or with different attributes."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    before = {s["service_code"]: s for s in old.get("services") or [] if isinstance(s, dict) and "service_code" in s}
    after = {s["service_code"]: s for s in new.get("services") or [] if isinstance(s, dict) and "service_code" in s}
    lines = [f"  + service {c} {_name(after[c])}" for c in sorted(set(after) - set(before))]
    lines += [f"  - service {c} {_name(before[c])}" for c in sorted(set(before) - set(after))]
    for code in sorted(set(before) & set(after)):
        was, now = before[code], after[code]
        if was.get("service_name") != now.get("service_name"):
            lines.append(f"  ~ service {code}: name {_name(was)} -> {_name(now)}")
        for key in ("metadata", "type"):
            if was.get(key) != now.get(key):
                lines.append(f"  ~ service {code} {_name(now)}: {key} {was.get(key)!r} -> {now.get(key)!r}")
        lines += _attribute_drift(code, now, was.get("attributes"), now.get("attributes"))
    return lines


def _attribute_drift(code: str, service: dict[str, Any], old: Any, new: Any) -> list[str]:
    # a definition one of the runs did not read says nothing about drift
    if not isinstance(old, list) or not isinstance(new, list):
        return []
    before = {a.get("code"): a for a in old if isinstance(a, dict)}
    after = {a.get("code"): a for a in new if isinstance(a, dict)}
    parts = []
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    if added:
        parts.append("attributes added " + ", ".join(map(str, added)))
    if removed:
        parts.append("attributes removed " + ", ".join(map(str, removed)))
    for name in sorted(set(before) & set(after)):
        diffs = [f"{k} {before[name].get(k)!r} -> {after[name].get(k)!r}" for k in ("datatype", "required")
                 if before[name].get(k) != after[name].get(k)]
        if diffs:
            parts.append(f"attribute {name}: " + ", ".join(diffs))
    return [f"  ~ service {code} {_name(service)}: {p}" for p in parts]


def _name(service: dict[str, Any]) -> str:
    return json.dumps(service.get("service_name"), ensure_ascii=False)


def _seconds(value: Any) -> str:
    return f"{value:.3f} s" if isinstance(value, int | float) else "not resolved"


def render(result: Comparison, old_label: str, new_label: str) -> list[str]:
    old, new = result.old, result.new
    lines = [f"old: {old_label}  run {old.get('run_id', '?')}, verdict {old.get('verdict', '?')}, "
             f"kit {old.get('kit_version', '?')}",
             f"new: {new_label}  run {new.get('run_id', '?')}, verdict {new.get('verdict', '?')}, "
             f"kit {new.get('kit_version', '?')}"]
    lines += [f"note: {n}" for n in result.notes]
    lines += [f"WARNING: {w}: the runs are not like for like" for w in result.warnings]
    for title, changes in (("Newly failing", result.newly_failing), ("Fixed", result.fixed),
                           ("Other outcome changes", result.changed), ("Appeared", result.appeared),
                           ("Vanished", result.vanished)):
        lines.append(f"{title}: {len(changes) or 'none'}")
        lines += [c.line() for c in changes]
    then, now = old.get("token_resolution_s"), new.get("token_resolution_s")
    delta = f" ({now - then:+.3f} s)" if isinstance(then, int | float) and isinstance(now, int | float) else ""
    lines.append(f"Token resolution: {_seconds(then)} then, {_seconds(now)} now{delta}")
    if old.get("catalogue") is None or new.get("catalogue") is None:
        lines.append("Service catalogue: not compared (a run read no service list)")
    else:
        lines.append(f"Service catalogue: {'drift' if result.catalogue else 'unchanged'}"
                     f" ({len(new['catalogue'].get('services') or [])} services now)")
        lines += result.catalogue
    verdict = (f"{len(result.newly_failing)} newly failing: regression" if result.newly_failing
               else "nothing newly fails")
    lines.append(f"Result: {verdict}")
    return lines


def manifest_note(location: Path) -> str | None:
    if not location.is_dir() or not (location / MANIFEST).is_file():
        return None
    try:
        check = verify(location)
    except UsageError as exc:
        return str(exc)
    if check.ok:
        return None
    names = ", ".join(check.changed + check.missing + check.unexpected)
    return f"{location} does not match its manifest ({names}); run `open311-conformance verify`"
