"""Re-judge a bundle without its server: the run again, with the bundle's own settings, against a
replay of its evidence.har (:mod:`conformance.rejudge.replay`), judged by this kit version.

:func:`rejudge` reads the bundle (summary.json for the settings and the outcomes, the manifest
to verify it, evidence.har for the answers), runs :func:`conformance.run.engine.execute` against
the replay and writes a new bundle whose record says it was re-judged and what it reproduced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import profiles
from conformance.checklist import checklist, target_conditions
from conformance.errors import UsageError
from conformance.headers import header
from conformance.outcomes import CheckResult, Outcome
from conformance.record import Difference, Rejudged, RunRecord
from conformance.rejudge.replay import REPLAY_HEADER, Evidence, Replay
from conformance.report.bundle import HAR, load_summary
from conformance.report.manifest import MANIFEST, verify
from conformance.run.engine import Rerun, RunResult, execute
from conformance.run.plugin import NOT_RUN
from conformance.settings import RunSettings
from conformance.target import EMBEDDED_SIMULATOR, SIMULATED, KeySource, Target, make_write_policy
from conformance.timestamps import ReplayClock
from conformance.transport import Stop, StopReason


@dataclass(slots=True, frozen=True)
class Recorded:
    """What the re-judged run takes from the bundle: its settings, outcomes and evidence."""

    directory: Path
    summary: Mapping[str, Any]
    verified: bool

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id", "?"))

    @property
    def kit_version(self) -> str:
        return str(self.summary.get("kit_version", "?"))

    @property
    def sent_as(self) -> str:
        """The run id the recorded requests carry: a re-judged bundle's requests carry its own
        recorded run's."""
        rejudged = self.summary.get("rejudged")
        return str(rejudged.get("sent_as") or self.run_id) if isinstance(rejudged, Mapping) else self.run_id

    @property
    def target(self) -> Mapping[str, Any]:
        target = self.summary.get("target")
        return target if isinstance(target, Mapping) else {}

    @property
    def stop(self) -> Stop | None:
        """Why the recorded run was cut short, as its summary says; None for a whole run."""
        cut = self.summary.get("cut_short")
        if not isinstance(cut, Mapping):
            return None
        try:
            at = dt.datetime.fromisoformat(str(cut.get("at")).replace("Z", "+00:00")).timestamp()
            return Stop(StopReason(cut.get("reason")), str(cut.get("detail", "")), at)
        except ValueError:
            return Stop(StopReason.SIGNAL, str(cut.get("detail", "")), 0.0)

    @property
    def not_run(self) -> dict[str, str]:
        """check id -> why the recorded run never ran it: a re-judged run leaves it unrun, for the
        same reason (judging it from answers other checks left behind is not re-judging the run)."""
        return {c["id"]: c["message"][len(NOT_RUN):] for c in self.summary["checks"]
                if c["outcome"] == Outcome.INCONCLUSIVE and str(c.get("message", "")).startswith(NOT_RUN)}

    @property
    def outcomes(self) -> dict[str, tuple[str, str, str]]:
        """check id -> (outcome, title, message) as the bundle says."""
        return {c["id"]: (c["outcome"], str(c.get("title", "")), str(c.get("message", "")))
                for c in self.summary["checks"]}


def read_bundle(directory: Path, *, check_manifest: bool = True) -> Recorded:
    """The bundle at ``directory``; UsageError when it is none, or (``check_manifest``) its files are
    not as its manifest says."""
    summary = load_summary(directory)
    if not directory.is_dir() or not (directory / HAR).is_file():
        raise UsageError(f"{directory}: no {HAR}: a bundle of a run holds its exchanges, re-judging needs them")
    if summary.get("subject", "target") != "target":
        raise UsageError(f"{directory}: a check-app bundle: rejudge re-judges runs of a target (`run`)")
    verified = (directory / MANIFEST).is_file() and verify(directory).ok
    if check_manifest and not verified:
        raise UsageError(f"{directory}: its manifest does not verify (`open311-conformance verify {directory}` "
                         "says what differs); --no-verify re-judges it anyway, and the report says so")
    return Recorded(directory, summary, verified)


# the re-judged run's stand-in key: the recorded key is in no artifact, and the transport
# redacts this one to the same [REDACTED] the recorded requests carry
def stand_in_key() -> str:
    return "rejudge-" + secrets.token_hex(16)


def replay_target(recorded: Recorded, key: str) -> Target:
    """A target with the recorded run's settings; its base URL is the replay's, once it listens."""
    target, summary = recorded.target, recorded.summary
    fuzzing = summary.get("fuzzing") if isinstance(summary.get("fuzzing"), Mapping) else {}
    profile = profiles.get(str(summary.get("profile") or target.get("profile") or profiles.DEFAULT.name))
    simulator = target.get("kind") == EMBEDDED_SIMULATOR
    # a default place leaves location open, so the target fills its address too, as it did
    place = (SIMULATED if simulator else profile).defaults
    location = tuple(float(v) for v in target["location"]) if isinstance(target.get("location"), list) else None
    if location is not None and place.location is not None and tuple(place.location) == location:
        location = None
    read_only = bool(target.get("read_only"))
    key_source = summary.get("key_source")
    defaults = RunSettings()  # what the recorded run had when its summary names no value
    return Target(
        base_url="", api_key=key if key_source else None,
        jurisdiction_id=target.get("jurisdiction_id"), profile=profile,
        timeout=float(target.get("timeout_s") or defaults.timeout),
        poll_timeout=float(target.get("poll_timeout_s") or profiles.SIMULATOR_POLL_TIMEOUT),
        write_service_code=target.get("write_service_code"), location=location,  # type: ignore[arg-type]
        write_policy=dataclasses.replace(make_write_policy(read_only=read_only),
                                         refused=target.get("write_refusal") or None),
        # no budget: which requests a budget cut off depends on how the write flow's polls and the
        # checks interleaved, which a replay does not repeat; the recorded stop is the record's
        # (review), and what was not asked is not in the evidence
        max_requests=None,
        simulator=simulator, faults=tuple(target.get("faults") or ()),
        simulator_dialect=str(target.get("simulator_dialect") or defaults.simulator_dialect),
        max_duration=float(target.get("max_duration_s") or defaults.max_duration),
        seed=_whole(fuzzing.get("seed", target.get("seed"))),
        fuzz_examples=_whole(fuzzing.get("examples_per_operation", target.get("fuzz_examples"))),
        # the recorded decision, not the replay's pace (none): the fuzzing asks what it asked
        # (a bundle from before answers were shared says nothing: it shared none)
        share_answers=fuzzing.get("share_answers") is True,
        read_only=read_only, app_name=summary.get("app_name"),
        key_from_simulator=key_source == KeySource.SIMULATOR,
        settings=defaults,
    )


def _whole(value: Any) -> int | None:
    return None if value is None else int(value)


def rejudge(directory: Path, report_dir: Path | None = None, *, check_manifest: bool = True,
            say: Callable[[str], None] | None = None, quiet: bool = True) -> RunResult:
    """Judge the bundle at ``directory`` again; the new bundle's record says what it reproduced
    (``result.record.rejudged``)."""
    recorded = read_bundle(directory, check_manifest=check_manifest)
    base_url = str(recorded.target.get("base_url") or "")
    if not base_url:
        raise UsageError(f"{directory}: summary.json names no target base_url")
    evidence = Evidence.load(directory / HAR, base_url)
    key = stand_in_key()
    try:
        target = replay_target(recorded, key)
    except (TypeError, ValueError, KeyError) as exc:
        raise UsageError(f"{directory}: summary.json's settings are not the kit's ({type(exc).__name__}: "
                         f"{exc})") from None
    readings = recorded.summary.get("clock") if isinstance(recorded.summary.get("clock"), Mapping) else {}
    clock = ReplayClock(recorded={str(n): [float(v) for v in vs if isinstance(v, int | float)]
                                  for n, vs in readings.items() if isinstance(vs, list)})
    replay = Replay(evidence, key, target.timeout)
    try:
        target.base_url = replay.base_url  # as the embedded simulator's is set once it listens
        rerun = Rerun(recorded.sent_as, clock, lambda record: review(record, recorded, replay),
                      left_out=recorded.not_run)
        return execute(target, report_dir=report_dir, quiet=quiet, say=say, rerun=rerun)
    finally:
        replay.stop()


def review(record: RunRecord, recorded: Recorded, replay: Replay) -> RunRecord:
    """The re-judged record: checks that needed an answer the evidence lacked made inconclusive,
    the recorded target and key fingerprint in place of the replay's, and what was reproduced."""
    gaps = {e.seq: e for e in record.exchanges
            if header(e.response_headers, REPLAY_HEADER) is not None}
    results = tuple(_needing(r, gaps) for r in record.results)
    profile = profiles.get(record.profile)
    summary = recorded.summary
    checks, differences = compare(recorded.outcomes, results)
    rejudged = Rejudged(recorded.run_id, recorded.kit_version, recorded.verified, checks, differences,
                        not_in_evidence=len(replay.unanswered), sent_as=recorded.sent_as)
    return dataclasses.replace(
        record, results=results, stop=recorded.stop or record.stop,
        checklist=checklist(results, target_conditions(profile.checklist), key_source=record.key_source),
        target=dict(recorded.target), key_fingerprint=summary.get("api_key_fingerprint"), rejudged=rejudged,
        # how the recorded exchanges travelled, which the replay's loopback HTTP says nothing of
        tls_verified=summary.get("tls_verified") is not False,
        proxy=summary["proxy"].get("host") if isinstance(summary.get("proxy"), Mapping) else None)


def _needing(result: CheckResult, gaps: Mapping[int, Any]) -> CheckResult:
    missing = [gaps[s] for s in result.exchanges if s in gaps]
    if not missing:
        return result
    first = missing[0]
    said = first.response_body.decode("utf-8", "replace")
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    return dataclasses.replace(result, outcome=Outcome.INCONCLUSIVE, broken=[],
                               message=f"{said}{more}: the check cannot be judged from this evidence")


def compare(old: Mapping[str, tuple[str, str, str]], new: tuple[CheckResult, ...]
            ) -> tuple[int, tuple[Difference, ...]]:
    """How many checks either run has, and each whose outcome was not reproduced (in the new
    run's order, then the recorded run's checks this kit no longer has)."""
    differences = []
    seen = set()
    for result in new:
        seen.add(result.id)
        was = old.get(result.id)
        if was is None:
            differences.append(Difference(result.id, result.title, None, str(result.outcome),
                                          "the recorded run had no such check (a check of this kit version)"))
        elif was[0] != result.outcome:
            differences.append(Difference(result.id, result.title, was[0], str(result.outcome),
                                          _why(was, result)))
    for check_id, (outcome, title, _message) in old.items():
        if check_id not in seen:
            differences.append(Difference(check_id, title, outcome, None, "this kit version has no such check"))
    return len(seen | set(old)), tuple(differences)


def _why(was: tuple[str, str, str], now: CheckResult) -> str:
    def first(text: str) -> str:
        line = text.strip().splitlines()[0] if text.strip() else ""
        return line if len(line) <= 300 else line[:297] + "..."
    recorded = f"recorded {was[0]}" + (f" ({first(was[2])})" if first(was[2]) else "")
    judged = f"judged now {now.outcome}" + (f": {first(now.message)}" if first(now.message) else "")
    return f"{recorded}; {judged}"
