"""A run's settings: one field each, with its default, its check and where it may be given.

A setting is declared once, here. Its field makes it a flag of ``run`` (``--poll-timeout``
for ``poll_timeout``), a key of a ``--config`` file, a key of a TARGETS.yaml entry and, when
``sweep=True``, a flag of ``sweep`` that fills what an entry leaves open. The checks run
when the settings are built, with the same one-line messages wherever the value came from.

There is no ``api_key`` field: a key comes from ``--api-key`` or ``OPEN311_API_KEY`` only,
never from a file that may be committed (:meth:`Target.resolve <conformance.target.Target.resolve>`).

Precedence, in :meth:`RunSettings.merge`: flags over the environment over the file; the
city preset and the profile's defaults then fill what is still open (``Target.resolve``).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.errors import UsageError
from conformance.transport import Route, Trust


@dataclass(slots=True, frozen=True)
class Setting:
    """Where a setting may be given, and what its flag says."""

    help: str
    kind: type  # str, int, float, bool, or tuple (a repeatable flag of strings)
    metavar: str | None = None
    file: bool = True  # a key of --config and of a TARGETS.yaml entry
    entry: bool = True  # a key of a TARGETS.yaml entry (report_dir is the sweep's to choose)
    sweep: bool = False  # a flag of `sweep` that fills what an entry leaves open
    env: str | None = None  # the environment variable that may give it

    @property
    def kinds(self) -> tuple[type, ...]:
        """What a TOML or YAML value may be: a whole number is a number of seconds too."""
        return {float: (int, float), tuple: (list, str)}.get(self.kind, (self.kind,))


def _setting(default: Any, help: str, kind: type, **where: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(help, kind, **where)})


@dataclass(slots=True, frozen=True)
class RunSettings:
    """What the user asked of a run, checked; ``None`` leaves the choice to the kit."""

    base_url: str | None = _setting(None, "versioned base URL, e.g. .../open311/v2 (env OPEN311_BASE_URL; "
                                    "default: the embedded simulator)", str, metavar="URL",
                                    env="OPEN311_BASE_URL")
    jurisdiction_id: str | None = _setting(None, "jurisdiction_id to send with every request", str,
                                           metavar="ID")
    city: str | None = _setting(None, "a city preset (see `cities`): its URL, jurisdiction_id and profile, "
                                "unless other settings give them", str, metavar="NAME")
    profile: str | None = _setting(None, "requirements to apply: chicago (default) or georeport-v2", str,
                                   metavar="PROFILE", sweep=True)
    report_dir: str | None = _setting(None, "where to write the report (default reports/<run-id>)", str,
                                      metavar="DIR", entry=False)
    poll_timeout: float | None = _setting(None, "seconds to wait for a token to resolve (default 600 remote, "
                                          "30 simulator)", float, metavar="S", sweep=True)
    timeout: float = _setting(30.0, "seconds per request (default 30)", float, metavar="S", sweep=True)
    write_service_code: str | None = _setting(None, "service to write to (default: one the target lists)", str,
                                              metavar="CODE")
    location: str | None = _setting(None, "LAT,LONG of the written request (default City Hall)", str,
                                    metavar="LAT,LONG")
    allow_writes: bool = _setting(False, "allow POSTs to a host that is neither loopback nor a known test host",
                                  bool)
    allow_writes_to_production: bool = _setting(False, "additionally allow POSTs to a known production host",
                                                bool)
    max_requests: int | None = _setting(None, "request budget of the run", int, metavar="N", sweep=True)
    max_duration: float = _setting(1800.0, "bound of the whole run in seconds (default 1800)", float,
                                   metavar="S", sweep=True)
    min_interval: float | None = _setting(None, "at least S seconds between requests (default 0 on loopback; a "
                                          "remote host is never paced faster than the kit's remote pace, 0.2 s; "
                                          "a sweep multiplies it by the targets sharing a host)", float,
                                          metavar="S", sweep=True)
    seed: int | None = _setting(None, "seed of the OpenAPI-driven fuzzing", int, metavar="N", sweep=True)
    fuzz_examples: int | None = _setting(None, "examples per operation when fuzzing (0: no fuzzing)", int,
                                         metavar="N", sweep=True)
    simulator_delay: float = _setting(2.0, "token delay of the embedded simulator (default 2 s)", float,
                                      metavar="S", sweep=True)
    fault: tuple[str, ...] = _setting((), "embedded simulator only: switch on a named fault (repeatable; "
                                      "see --list-faults)", tuple,
                                      metavar="NAME")
    simulator_dialect: str = _setting("chicago", "embedded simulator only: chicago (default), georeport, "
                                      "spec-examples, lenient or lenient-georeport", str, metavar="DIALECT")
    read_only: bool = _setting(False, "a deliberate run without writes (no key needed; never complete "
                               "pre-approval evidence)", bool, sweep=True)
    app_name: str | None = _setting(None, "the application the test key was issued to (the City asks for the "
                                    "same name on the production key)", str, metavar="NAME", sweep=True)
    ca_bundle: str | None = _setting(None, "a PEM file of certificate authorities to trust besides the default "
                                     "ones (a private CA)", str, metavar="FILE", sweep=True)
    insecure: bool = _setting(False, "do not verify TLS certificates: marked on the report and summary.json, "
                              "never complete pre-approval evidence", bool, sweep=True)
    http_proxy: str | None = _setting(None, "send every request through this HTTP proxy (http://host:port); "
                                      "the environment's proxy variables stay ignored", str, metavar="URL",
                                      sweep=True)
    proxy_from_env: bool = _setting(False, "use the proxy the environment names (HTTPS_PROXY, HTTP_PROXY, "
                                    "NO_PROXY)", bool, sweep=True)

    def __post_init__(self) -> None:
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"--base-url {self.base_url!r} is not an http(s) URL")
            if parts.query or parts.fragment:
                raise UsageError("--base-url must not carry a query or fragment")
            if self.fault:
                raise UsageError("--fault applies to the embedded simulator only (drop --base-url)")
        for name in ("timeout", "poll_timeout", "max_duration"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise UsageError(f"--{name.replace('_', '-')} must be a positive number of seconds")
        if self.min_interval is not None and (not math.isfinite(self.min_interval) or self.min_interval < 0):
            raise UsageError("--min-interval must be 0 or more seconds")
        if self.simulator_delay is not None and (not math.isfinite(self.simulator_delay) or self.simulator_delay < 0):
            raise UsageError("--simulator-delay must be 0 or more seconds")
        if self.max_requests is not None and self.max_requests < 1:
            raise UsageError("--max-requests must be at least 1")
        if self.fuzz_examples is not None and self.fuzz_examples < 0:
            raise UsageError("--fuzz-examples must be 0 (no fuzzing) or more")
        if self.app_name is not None and (len(self.app_name) > 200 or not self.app_name.isprintable()):
            raise UsageError("--app-name must be printable text of at most 200 characters")
        if self.location is not None:
            parse_location(self.location)
        if self.http_proxy is not None:
            proxy = urlsplit(self.http_proxy)
            if proxy.scheme not in ("http", "https") or not proxy.hostname:
                raise UsageError(f"--http-proxy {_without_password(self.http_proxy)!r} is not an http(s) URL "
                                 "(http://host:port)")
            if self.proxy_from_env:
                raise UsageError("--http-proxy and --proxy-from-env contradict each other: give one")
        if self.ca_bundle is not None:
            check_ca_bundle(self.ca_bundle)
            if self.insecure:
                raise UsageError("--ca-bundle and --insecure contradict each other: give one")

    @property
    def trust(self) -> Trust:
        """Whose TLS certificates are believed (--ca-bundle, --insecure)."""
        return Trust(self.ca_bundle, verify=not self.insecure)

    @property
    def route(self) -> Route:
        """How requests reach the server (--http-proxy, --proxy-from-env)."""
        return Route(self.http_proxy, from_env=self.proxy_from_env)

    @classmethod
    def fields(cls) -> dict[str, Setting]:
        """Every setting by name, in the order the help lists them."""
        return {f.name: f.metadata["setting"] for f in dataclasses.fields(cls)}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RunSettings:
        """Settings from values already named and typed (flags, a file's table, an entry)."""
        known = cls.fields()
        typed: dict[str, Any] = {}
        for name, value in values.items():
            kind = known[name].kind
            if kind is float and value is not None:
                value = float(value)
            elif kind is tuple:
                value = (value,) if isinstance(value, str) else tuple(value or ())
            elif kind is str and isinstance(value, str):
                # an empty text is no choice at all (`--app-name ""`, `jurisdiction_id = ""`)
                value = value.strip() if name == "app_name" else value
                value = value or None
            typed[name] = value
        return cls(**typed)

    @classmethod
    def merge(cls, flags: Mapping[str, Any], environ: Mapping[str, str],
              file: Mapping[str, Any] | None = None) -> RunSettings:
        """Flags over the environment over the file; what none gives keeps its default."""
        values = dict(file or {})
        for name, setting in cls.fields().items():
            if setting.env and environ.get(setting.env):
                values[name] = environ[setting.env]
        values.update(flags)
        return cls.from_mapping(values)

    def given(self) -> dict[str, Any]:
        """The settings that differ from their defaults: what a child run must be told."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != f.default}


# the settings of how requests reach a server, which check-app's --proxy takes as well
NETWORK = ("ca_bundle", "insecure", "http_proxy", "proxy_from_env")


def check_value(name: str, value: Any, where: str = "entry") -> None:
    """A UsageError unless ``name`` is a setting ``where`` ("file" or "entry") may give, and
    ``value`` is of its type."""
    setting = RunSettings.fields().get(name)
    if setting is None or not setting.file or (where == "entry" and not setting.entry):
        raise UsageError(f"unknown setting {name!r} (known: {', '.join(keys(where))})")
    kinds = setting.kinds
    # bool is an int in Python: true must not pass for a number, nor 1 for true
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if ok and isinstance(value, list):
        ok = all(isinstance(item, str) for item in value)
    if not ok:
        raise UsageError(f"{name} = {value!r} is not {' or '.join(_KIND_NAMES[k] for k in kinds)}")


def keys(where: str) -> list[str]:
    """The settings a --config file ("file") or a TARGETS.yaml entry ("entry") may give."""
    return sorted(name for name, s in RunSettings.fields().items() if s.file and (where == "file" or s.entry))


_KIND_NAMES = {str: "a string", int: "a number", float: "a number", bool: "true or false", list: "a list"}


def from_toml(path: str | Path) -> dict[str, Any]:
    """The ``[run]`` table of a TOML file (or its top level), checked key by key."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--config {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"--config {path}: not valid TOML ({exc})") from None
    table = raw.get("run", raw)
    if not isinstance(table, dict):
        raise UsageError(f"--config {path}: [run] must be a table")
    if "api_key" in table:
        raise UsageError(f"--config {path}: api_key does not belong in a file; use OPEN311_API_KEY or --api-key")
    for name, value in table.items():
        try:
            check_value(name, value, "file")
        except UsageError as exc:
            raise UsageError(f"--config {path}: {exc}") from None
    return dict(table)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


def check_ca_bundle(path: str) -> None:
    """A UsageError unless ``path`` is a readable PEM file with at least one certificate."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--ca-bundle {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--ca-bundle {path}: not a PEM file (binary content)") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise UsageError(f"--ca-bundle {path}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)")


def parse_location(text: str) -> tuple[float, float]:
    try:
        lat_text, long_text = text.split(",")
        lat, lon = float(lat_text), float(long_text)
    except ValueError:
        raise UsageError(f"--location {text!r}: expected LAT,LONG in decimal degrees") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise UsageError(f"--location {text!r}: latitude or longitude out of range")
    return lat, lon
