"""TARGETS.yaml: the targets of a sweep, checked entry by entry, each problem with its line.

Each entry is one ordinary run: a name (its folder), where to test (``base_url``, a ``city``
preset, or the embedded simulator with ``simulator: true`` or ``fault: [...]``), the name of
the environment variable holding its key (``api_key_env``; the key itself never comes from
the file), and any run setting (:class:`~conformance.settings.RunSettings`). The sweep's own
run flags fill what an entry leaves open. Every entry is validated by the run's own rules
(``RunSettings`` and ``Target.resolve``) before anything is started, so a bad value is a
usage error naming its line, not a child process refusing to start halfway through a sweep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance import cities, profiles, settings
from conformance.errors import UsageError
from conformance.settings import RunSettings
from conformance.simulator import faults
from conformance.simulator.dialect import DIALECTS
from conformance.target import REMOTE_MIN_INTERVAL, Target

NAME = re.compile(r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")  # a folder name on every system
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# what an entry may set: the run's settings (report_dir is the sweep's to choose: DIR/<name>)
# and what only an entry has
OWN_KEYS = ("name", "api_key_env", "simulator")
KEYS = frozenset({*OWN_KEYS, *settings.keys("entry")})


class TargetsFileError(UsageError):
    """TARGETS.yaml breaks a rule; the message names the file and the line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.line = line


@dataclass(slots=True, frozen=True)
class SweepTarget:
    """One entry, validated: its settings as the run's flags name them, and where it points."""

    name: str
    line: int
    settings: Mapping[str, Any]  # entry over sweep defaults; never a key
    api_key_env: str | None = None
    base_url: str | None = None  # resolved (a city's URL too); None: the embedded simulator
    remote: bool = False

    @property
    def host(self) -> str | None:
        """The host it shares a rate limit with others on; None for its own embedded simulator."""
        return None if self.base_url is None else (urlsplit(self.base_url).hostname or "").lower()

    @property
    def min_interval(self) -> float:
        """Its own pace before sharing: what it asks for, and never under the remote pace."""
        asked = float(self.settings.get("min_interval") or 0.0)
        return max(asked, REMOTE_MIN_INTERVAL if self.remote else 0.0)

    def run_flags(self, min_interval: float | None = None) -> list[str]:
        """The flags of its `run` (no --report-dir, never a key)."""
        flags: list[str] = []
        settings = dict(self.settings)
        settings.pop("simulator", None)  # no base_url is what makes a run use the simulator
        if min_interval is not None:
            settings["min_interval"] = min_interval
        for key, value in settings.items():
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                flags += [flag] if value else []
            elif isinstance(value, list):
                for item in value:
                    flags += [flag, str(item)]
            elif value is not None:
                flags += [flag, str(value)]
        return flags


def load(path: Path, defaults: Mapping[str, Any] | None = None) -> list[SweepTarget]:
    """The targets of ``path``, every entry validated; TargetsFileError on the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        entries = list(_entries(path, root))
        targets: dict[str, SweepTarget] = {}
        for node in entries:
            sweep_target = _target(path, node, loader, defaults or {})
            first = targets.get(sweep_target.name)
            if first is not None:
                raise TargetsFileError(path, sweep_target.line,
                                       f"duplicate name {sweep_target.name!r} (first on line {first.line})")
            targets[sweep_target.name] = sweep_target
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise TargetsFileError(path, mark.line + 1 if mark else None,
                               f"not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise TargetsFileError(path, None, f"not valid YAML ({exc})") from None
    finally:
        loader.dispose()
    return list(targets.values())


def select(targets: list[SweepTarget], only: list[str] | None) -> list[SweepTarget]:
    """The targets named by ``--only`` (all when None), in the file's order."""
    if not only:
        return targets
    known = {t.name for t in targets}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise UsageError(f"--only {', '.join(unknown)}: no such target (known: {', '.join(sorted(known))})")
    return [t for t in targets if t.name in only]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _entries(path: Path, root: yaml.Node | None) -> Iterator[yaml.Node]:
    if not isinstance(root, yaml.MappingNode):
        raise TargetsFileError(path, _line(root) if root else None, "expected a mapping with a 'targets' list")
    found = None
    for key, value in root.value:
        if not (isinstance(key, yaml.ScalarNode) and key.value == "targets"):
            raise TargetsFileError(path, _line(key), f"unknown key {key.value!r} (the file holds 'targets')")
        found = value
    if not isinstance(found, yaml.SequenceNode) or not found.value:
        raise TargetsFileError(path, _line(found or root), "'targets' must be a non-empty list")
    for entry in found.value:
        if not isinstance(entry, yaml.MappingNode):
            raise TargetsFileError(path, _line(entry), "each target must be a mapping (name: ..., base_url: ...)")
        yield entry


def _target(path: Path, node: yaml.MappingNode, loader: yaml.SafeLoader,
            defaults: Mapping[str, Any]) -> SweepTarget:
    line = _line(node)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key == "api_key":
            raise TargetsFileError(path, _line(key_node), "api_key does not belong in the file: name the "
                                   "environment variable that holds the key with api_key_env")
        if key not in KEYS:
            raise TargetsFileError(path, _line(key_node), f"unknown key {key!r} (known: {', '.join(sorted(KEYS))})")
        if key in values:
            raise TargetsFileError(path, _line(key_node), f"{key} given twice (first on line {lines[key]})")
        value = loader.construct_object(value_node, deep=True)
        _check_type(path, _line(key_node), key, value)
        values[key], lines[key] = value, _line(key_node)
    name = values.pop("name", None)
    if name is None:
        raise TargetsFileError(path, line, "a target without a name (letters, digits and dashes)")
    if not NAME.match(name):
        raise TargetsFileError(path, lines["name"], f"name {name!r}: only letters, digits and dashes "
                               "(it names the target's folder)")
    where = f"target {name!r}"
    if "base_url" in values and "city" in values:
        raise TargetsFileError(path, max(lines["base_url"], lines["city"]), f"{where}: both base_url and city; "
                               "give one")
    if values.get("simulator") is False:
        values.pop("simulator")
    embedded = bool(values.get("simulator") or values.get("fault"))
    if embedded and ("base_url" in values or "city" in values):
        raise TargetsFileError(path, lines.get("simulator", lines.get("fault", line)),
                               f"{where}: the embedded simulator (simulator, fault) takes no base_url or city")
    if not embedded and "base_url" not in values and "city" not in values:
        raise TargetsFileError(path, line, f"{where}: neither base_url nor city (nor simulator: true)")
    if isinstance(values.get("fault"), str):
        values["fault"] = [values["fault"]]
    key_env = values.pop("api_key_env", None)
    if key_env is not None and not ENV_NAME.match(key_env):
        raise TargetsFileError(path, lines["api_key_env"], f"{where}: api_key_env {key_env!r} is not the name "
                               "of an environment variable")
    for key, lookup in (("city", cities.get), ("profile", profiles.get)):
        try:
            if key in values:
                lookup(values[key])
        except UsageError as exc:
            raise TargetsFileError(path, lines[key], f"{where}: {exc}") from None
    settings = {**{k: v for k, v in defaults.items() if v is not None and v is not False}, **values}
    try:
        resolved = _resolve(settings)
    except UsageError as exc:
        raise TargetsFileError(path, line, f"{where}: {exc}") from None
    return SweepTarget(name=name, line=line, settings=settings, api_key_env=key_env,
                       base_url=None if resolved.simulator else resolved.base_url, remote=resolved.remote)


def _check_type(path: Path, line: int, key: str, value: Any) -> None:
    own = {"name": str, "api_key_env": str, "simulator": bool}
    if key in own:
        if not isinstance(value, own[key]):
            raise TargetsFileError(path, line, f"{key}: {value!r} is not "
                                   f"{'true or false' if own[key] is bool else 'a string'}")
        return
    try:
        settings.check_value(key, value, "entry")
    except UsageError as exc:
        raise TargetsFileError(path, line, str(exc)) from None


def _resolve(values: Mapping[str, Any]) -> Target:
    """The run's own checks over the settings, as `run` would apply them (no key, no environment)."""
    resolved = Target.resolve(RunSettings.from_mapping({k: v for k, v in values.items() if k != "simulator"}),
                              environ={})
    if resolved.simulator:
        faults.check(resolved.faults)
        if resolved.simulator_dialect not in DIALECTS:
            raise UsageError(f"simulator_dialect {resolved.simulator_dialect!r}: known dialects are "
                             f"{', '.join(DIALECTS)}")
    return resolved

