"""The frozen record of a run: everything the artifacts say, decided once.

A run (``open311-conformance run``) or a grading (``check-app``) ends by building one
:class:`RunRecord`. Every report writer (HTML, JUnit, summary.json, HAR, manifest) reads the
record and nothing else: none sees the live run, none decides anything. The verdict and the
pre-approval status are computed here, from the record's own facts, so they cannot disagree
between artifacts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance import cities, outcomes
from conformance.checklist import ChecklistItem, State
from conformance.errors import ExitCode
from conformance.outcomes import CheckResult, Level, Outcome, Verdict
from conformance.requirements import Requirement
from conformance.target import KeySource
from conformance.transport import Exchange, Stop, StopReason, proxy_reads_key


def new_run_id() -> str:
    """A run's id: when it started (UTC, to the second), and six hex digits to keep two apart."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{secrets.token_hex(3)}"


class Subject(StrEnum):
    """What the run judged: a server (``run``) or an application (``check-app``)."""

    TARGET = "target"
    APPLICATION = "application"


class Mode(StrEnum):
    """How much a run can prove, whatever its verdict."""

    FULL = "full"  # a key was given: writes were tried
    READ_ONLY = "read-only"  # --read-only: a deliberate run without writes
    NO_KEY = "no-key"  # meant to write, but no key was given


STOP_WORDS = {
    StopReason.BUDGET: "the kit's request budget ended the run",
    StopReason.DEADLINE: "the kit's time bound ended the run",
    StopReason.HUNG: "the target stopped answering",
    StopReason.UNREACHABLE: "the target could not be reached",
    StopReason.SIGNAL: "the run was stopped by signal",
    StopReason.MOVED: "the base URL redirects elsewhere",
}


@dataclass(slots=True, frozen=True)
class PreApproval:
    """Whether this bundle is the evidence the City asks for before it grants a production key."""

    complete: bool
    reasons: tuple[str, ...] = ()

    def sentence(self) -> str:
        if self.complete:
            return ("Pre-approval evidence: complete. A key was used against a real test environment, "
                    "every checklist condition is met and the verdict is pass.")
        return "Pre-approval evidence: NOT complete: " + "; ".join(self.reasons) + "."

    def as_dict(self) -> dict[str, Any]:
        return {"complete": self.complete, "reasons": list(self.reasons)}


class WriteState(StrEnum):
    """What became of the kit's write; each word claims no more than the run showed."""

    WRITTEN = "written"  # the POST was answered a token or a service_request_id
    ACCEPTED = "accepted"  # answered 2xx, but with neither a token nor an id
    REFUSED = "refused"  # answered, but not 2xx
    SKIPPED = "skipped"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    NOT_WRITTEN = "not written"


@dataclass(slots=True, frozen=True)
class PollRow:
    attempt: int
    at_s: float
    status: int | None
    service_request_id: str | None
    note: str
    exchange: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "at_s": self.at_s, "status": self.status,
                "service_request_id": self.service_request_id, "note": self.note,
                "exchange": self.exchange}


@dataclass(slots=True, frozen=True)
class WriteEvidence:
    """The write flow as recorded: what was written, the token, every poll."""

    state: WriteState
    note: str = ""
    service_code: str | None = None
    token: str | None = None
    service_request_id: str | None = None
    immediate_id: bool = False
    resolution_s: float | None = None
    waited_s: float | None = None
    poll_error: str | None = None
    polls: tuple[PollRow, ...] = ()
    post: int | None = None
    pending_list: int | None = None
    probes: tuple[int, ...] = ()
    sent: tuple[int, ...] = ()  # everything the flow sent: every write's POST, polls, probes
    post_status: int | None = None  # the HTTP status the POST was answered with

    @property
    def exchanges(self) -> list[int]:
        seqs = [s for s in (self.post, self.pending_list) if s is not None] + list(self.probes) + list(self.sent)
        seqs += [p.exchange for p in self.polls if p.exchange is not None]
        return sorted(set(seqs))

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state, "note": self.note, "service_code": self.service_code,
            "token": self.token, "service_request_id": self.service_request_id,
            "immediate_id": self.immediate_id, "resolution_s": self.resolution_s,
            "waited_s": self.waited_s, "poll_error": self.poll_error,
            "polls": [p.as_dict() for p in self.polls], "exchanges": self.exchanges,
            "post_status": self.post_status,
        }


@dataclass(slots=True, frozen=True)
class Difference:
    """A check whose outcome a re-judged run did not reproduce: the bundle's, the new one, why."""

    check_id: str
    title: str
    old: str | None  # None: the recorded run had no such check (a check of this kit version)
    new: str | None  # None: this kit version has no such check
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.check_id, "title": self.title, "old": self.old, "new": self.new, "why": self.why}


@dataclass(slots=True, frozen=True)
class Rejudged:
    """A run judged again from another run's evidence (``rejudge``): whose, and what it reproduced."""

    run_id: str  # the recorded run's
    kit_version: str  # the kit that recorded it
    verified: bool  # its manifest verified (False only with --no-verify)
    checks: int  # every check of either run
    differences: tuple[Difference, ...] = ()
    not_in_evidence: int = 0  # requests the recorded evidence had no answer for
    # the run id the requests carried (the write's description): the first recorded run's, so a
    # re-judged bundle judged again sends what was first sent
    sent_as: str = ""

    @property
    def reproduced(self) -> int:
        return self.checks - len(self.differences)

    def sentence(self) -> str:
        return f"re-judged from {self.run_id} (kit {self.kit_version})"

    def tally(self) -> str:
        return f"reproduced {self.reproduced} of {self.checks} checks"

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "kit_version": self.kit_version, "verified": self.verified,
                "checks": self.checks, "reproduced": self.reproduced, "not_in_evidence": self.not_in_evidence,
                "sent_as": self.sent_as or self.run_id,
                "differences": [d.as_dict() for d in self.differences]}


@dataclass(slots=True, frozen=True)
class RunRecord:
    run_id: str
    subject: Subject
    started: str
    finished: str
    target: Mapping[str, Any]  # Target.describe(): never the key, only whether one was given
    profile: str
    mode: Mode
    practice: bool  # the embedded simulator stood in for the City
    results: tuple[CheckResult, ...]
    checklist: tuple[ChecklistItem, ...]
    exchanges: tuple[Exchange, ...]
    requests_sent: int
    kit_version: str
    contract: Mapping[str, str]  # path -> sha256 of openapi.yaml and every schema
    key_fingerprint: str | None = None
    app_name: str | None = None
    stop: Stop | None = None
    kit_errors: tuple[str, ...] = ()
    write: WriteEvidence | None = None
    fuzzing: Mapping[str, Any] | None = None
    catalogue: Mapping[str, Any] | None = None
    application: Mapping[str, Any] | None = None  # check-app: the command, its exit code, its tail
    # every requirement a result names, as the run's profile states it (its level there):
    # writers read levels, statements and sources here, never from the live registry
    requirements: Mapping[str, Requirement] = field(default_factory=dict)
    key_source: KeySource | None = None  # who supplied the key the run used; None: no key
    tls_verified: bool = True  # False: --insecure, certificates were not checked
    proxy: str | None = None  # host:port of the proxy the requests went through (never credentials)
    # the moments the run's requests carried, by name, in order (Clock.readings): what a
    # re-judged run sends again
    clock: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    rejudged: Rejudged | None = None  # judged again from another run's evidence, not from a target
    verdict: Verdict = field(init=False)
    pre_approval: PreApproval = field(init=False)

    def __post_init__(self) -> None:
        # derived, never passed in: a writer cannot be handed a verdict the facts do not give
        decided = outcomes.run_verdict(self.results, self.kit_errors, cut_short=self.stop is not None,
                                       writes_missing=self.mode is Mode.NO_KEY)
        object.__setattr__(self, "verdict", decided)
        object.__setattr__(self, "pre_approval", _pre_approval(self))

    # -- what writers ask ------------------------------------------------------------------
    @property
    def contract_digest(self) -> dict[str, Any]:
        """openapi.yaml's hash, and one digest over every schema (the manifest lists each)."""
        schemas = sorted((p, h) for p, h in self.contract.items() if p.startswith("schemas/"))
        joined = "".join(f"{h}  {p}\n" for p, h in schemas).encode("utf-8")
        return {"openapi.yaml": self.contract.get("openapi.yaml"), "schemas": hashlib.sha256(joined).hexdigest(),
                "schema_files": len(schemas)}

    @property
    def exit_code(self) -> int:
        if self.stop is not None and self.stop.reason is StopReason.MOVED:
            return ExitCode.USAGE  # the base URL given is the mistake: nothing was judged
        return self.verdict.exit_code

    @property
    def counts(self) -> dict[Outcome, int]:
        return outcomes.count(self.results)

    def broken(self, level: Level) -> list[str]:
        """The requirements of ``level`` that failed or warned checks broke, in registry order."""
        named = {i for r in self.results if r.outcome in (Outcome.FAILED, Outcome.WARNING) for i in r.broken}
        return [i for i, req in self.requirements.items() if i in named and req.level is level]

    @property
    def cut_short(self) -> str | None:
        """Why the kit stopped before the run was done, in words; None for a whole run."""
        return None if self.stop is None else self.stop.detail  # each detail names its cause

    @property
    def key_words(self) -> str:
        """The key the run used, as a reader may be told: whose it was, and its fingerprint."""
        if self.key_source is None:
            return "none"
        fingerprint = f", fingerprint {self.key_fingerprint}" if self.key_fingerprint else ""
        return f"{self.key_source.words} ({self.key_source}){fingerprint}"

    @property
    def proxy_saw_key(self) -> bool:
        """A key sent in plain HTTP through a proxy: the proxy could read it."""
        return proxy_reads_key(self.proxy, str(self.target.get("base_url", "")), self.key_source is not None)

    @property
    def next_steps(self) -> tuple[str, ...]:
        """After a practice run, what its reader does next; nothing after a run of a real target."""
        return practice_next_steps() if self.practice else ()

    @property
    def target_kind(self) -> str:
        return str(self.target.get("kind", ""))

    def with_kit_error(self, message: str) -> RunRecord:
        """A new record with one more kit error (the verdict follows); this one stays as it was."""
        return dataclasses.replace(self, kit_errors=(*self.kit_errors, message))


# the City whose production key a practice run prepares for (the README's "Testing the City's
# test environment"); its URLs come from cities.yaml, where the write guard reads them too
CITY = "chicago"


def practice_next_steps() -> tuple[str, ...]:
    """The way from a practice run to the City's test environment: a test key from the City's
    key page, the run against the test URL with that key, and the application graded."""
    base = (cities.get(CITY).test_url or cities.get(CITY).production_url).rstrip("/")
    return (
        f"Get a test key on the City's key page: {base}/apps/new",
        f"Run against the City's test environment: export OPEN311_API_KEY=your-test-key, then "
        f'open311-conformance run --base-url {base} --app-name "Your App"',
        'Grade your application: open311-conformance check-app --app-name "Your App" -- ./your-app',
    )


def _pre_approval(record: RunRecord) -> PreApproval:
    reasons: list[str] = []
    if record.rejudged is not None:
        reasons.append(f"{record.rejudged.sentence()}: recorded evidence judged again, not a run of a server")
    if record.practice:
        reasons.append("practice run: the embedded simulator stood in for the City's test environment")
    elif record.target_kind == "loopback":
        reasons.append("the target is a server on this machine (loopback), not the City's test environment")
    if record.mode is Mode.READ_ONLY:
        reasons.append("read-only run: nothing was written")
    elif record.mode is Mode.NO_KEY:
        reasons.append("no API key given: writing and reading back were not tried")
    if not record.tls_verified:
        reasons.append("TLS certificates were not verified (--insecure): evidence over an unverified "
                       "connection proves little")
    if record.stop is not None:
        reasons.append(f"the run was cut short ({STOP_WORDS[record.stop.reason]})")
    open_items = [item for item in record.checklist if item.state is not State.MET]
    if open_items:
        reasons.append("checklist conditions not met or not shown: "
                       + ", ".join(f"{item.key} ({item.state})" for item in open_items))
    if record.verdict is not Verdict.PASS:
        reasons.append(f"the verdict is {record.verdict}")
    return PreApproval(not reasons, tuple(reasons))
