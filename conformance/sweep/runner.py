"""Running a sweep's targets: each one a separate ``run`` process, up to ``jobs`` at once.

A separate process per target because a run drives pytest, which cannot run twice at once in
one process. The key goes through the child's environment (``OPEN311_API_KEY``), never its
command line, where ``ps`` would show it. A child that outlives its bound is stopped (SIGTERM,
so it still writes its evidence, then SIGKILL); a child that crashes still leaves a row.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from conformance.outcomes import Verdict
from conformance.report import SUMMARY
from conformance.settings import RunSettings
from conformance.sweep import rows
from conformance.sweep.rows import TargetRow
from conformance.sweep.targets import SweepTarget
from conformance.timestamps import iso_utc

RUN_COMMAND = (sys.executable, "-m", "conformance.cli", "run")
DEFAULT_MAX_DURATION = RunSettings().max_duration  # the run's own default bound
REPORT_GRACE = 60.0  # seconds past its --max-duration a run may take to write its bundle
STOP_GRACE = 20.0  # seconds between SIGTERM and SIGKILL
LOGS = "logs"
# what the children must not inherit from the sweep's own environment: each target's key
# comes from its api_key_env only, and its URL from the file
SCRUBBED_ENVIRONMENT = ("OPEN311_API_KEY", "OPEN311_BASE_URL")


def paces(targets: Sequence[SweepTarget], jobs: int) -> dict[str, float]:
    """Each target's --min-interval: k targets that may hit one host at once share its pace.

    ``k`` is how many of them can run at the same time: those on the host, at most ``jobs``
    (a CI matrix runs every target at once: pass the whole file's count). Each gets k times
    the slowest pace any of them asks for (the remote pace for a remote host), so together
    they send no faster than one run would. An embedded simulator is its own host.
    """
    out = {t.name: t.min_interval for t in targets}
    for group in by_host(targets).values():
        k = min(len(group), jobs)
        shared = max(t.min_interval for t in group) * k
        out |= {t.name: shared for t in group}
    return out


def by_host(targets: Sequence[SweepTarget]) -> dict[str, list[SweepTarget]]:
    """The targets of each host (embedded simulators have none)."""
    hosts: dict[str, list[SweepTarget]] = {}
    for t in targets:
        if t.host is not None:
            hosts.setdefault(t.host, []).append(t)
    return hosts


@dataclass(slots=True, frozen=True)
class Launch:
    """One target's process, ready to start."""

    target: SweepTarget
    argv: tuple[str, ...]
    environment: Mapping[str, str]
    bundle: Path
    log: Path
    bound_s: float
    notes: tuple[str, ...] = ()


def launches(targets: Sequence[SweepTarget], directory: Path, pace: Mapping[str, float],
             environ: Mapping[str, str], command: Sequence[str] = RUN_COMMAND) -> list[Launch]:
    base = {k: v for k, v in environ.items() if k not in SCRUBBED_ENVIRONMENT}
    out = []
    for t in targets:
        env = dict(base)
        notes: list[str] = []
        if t.api_key_env:
            key = environ.get(t.api_key_env) or ""
            if key:
                env["OPEN311_API_KEY"] = key
            else:
                # decided: run without a key rather than refuse the whole sweep; the run then
                # says "no key" (inconclusive) unless the target is read-only, and the row says why
                notes.append(f"api_key_env {t.api_key_env} is not set: the run had no key")
        argv = (*command, *t.run_flags(pace.get(t.name) or None), "--report-dir", str(directory / t.name))
        bound = float(t.settings.get("max_duration") or DEFAULT_MAX_DURATION) + REPORT_GRACE
        out.append(Launch(t, argv, env, directory / t.name, directory / LOGS / f"{t.name}.log", bound,
                          tuple(notes)))
    return out


class Sweeper:
    """Runs launches side by side and turns each into a row; stop() ends them all early."""

    def __init__(self, directory: Path, jobs: int, say: Callable[[str], None]) -> None:
        self.directory = directory
        self.jobs = jobs
        self._say = say
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()

    def say(self, line: str) -> None:
        with self._lock:
            self._say(line)

    def run(self, planned: Sequence[Launch]) -> list[TargetRow]:
        (self.directory / LOGS).mkdir(parents=True, exist_ok=True)
        with _terminate_interrupts(), ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="sweep") as pool:
            futures = [pool.submit(self._one, launch) for launch in planned]
            try:
                while not all(f.done() for f in futures):
                    time.sleep(0.1)  # the main thread stays free to take SIGINT/SIGTERM
            except KeyboardInterrupt:
                self.say("sweep: interrupted: stopping the runs in progress (their evidence is kept)")
                self.stop()
            return [f.result() for f in futures]

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            running = list(self._running.values())
        for process in running:
            _signal(process, signal.SIGTERM)

    def _one(self, launch: Launch) -> TargetRow:
        name = launch.target.name
        log = rows.relative(launch.log, self.directory)
        if self._stopping.is_set():
            return TargetRow(name, Verdict.INCONCLUSIVE, None, None, base_url=launch.target.base_url,
                             problem="not run: the sweep was stopped first", notes=launch.notes)
        started = iso_utc()
        self.say(f"{name}: started ({launch.target.base_url or 'embedded simulator'})")
        problem = None
        with launch.log.open("wb") as out:
            try:
                process = subprocess.Popen(launch.argv, env=dict(launch.environment), stdout=out,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            except OSError as exc:
                return TargetRow(name, Verdict.INCONCLUSIVE, None, None, base_url=launch.target.base_url,
                                 started=started, problem=f"the run could not start: {exc}",
                                 notes=launch.notes, console_log=log)
            with self._lock:
                self._running[name] = process
            try:
                code = process.wait(timeout=launch.bound_s)
            except subprocess.TimeoutExpired:
                problem = (f"the run did not end within its bound ({launch.bound_s:.0f} s: --max-duration "
                           f"and {REPORT_GRACE:.0f} s to write the report) and was stopped")
                code = _end(process)
            finally:
                with self._lock:
                    self._running.pop(name, None)
        row = self._row(launch, code, problem, started, log)
        self.say(f"{name}: {row.verdict.upper()} (exit {code})" + (f": {row.problem}" if row.problem else ""))
        return row

    def _row(self, launch: Launch, code: int, problem: str | None, started: str, log: str) -> TargetRow:
        target = launch.target
        if code == 2 and problem is None:
            problem = f"the run refused its settings (exit 2): {_last_line(launch.log)}"
        elif code not in (0, 1, 3) and problem is None:
            problem = f"the run process ended with exit status {code}" + (
                f": {_last_line(launch.log)}" if code > 0 else f" (signal {-code})")
        if (launch.bundle / SUMMARY).is_file():
            row = rows.from_bundle(target.name, launch.bundle, self.directory)
            if problem is None and row.verdict.exit_code != code and row.verified:
                problem = f"the run's exit status {code} disagrees with its verdict {row.verdict}"
        else:
            row = TargetRow(target.name, Verdict.INCONCLUSIVE, None, None, base_url=target.base_url,
                            started=started, finished=iso_utc(), problem=None if problem else "no bundle was written")
        row = row.but(exit_code=code, console_log=log, notes=row.notes + launch.notes)
        return row.but(problem) if problem else row


@contextlib.contextmanager
def _terminate_interrupts() -> Iterator[None]:
    """SIGTERM interrupts the sweep as Ctrl-C does: the runs in progress are stopped (and keep
    their evidence), the ones not started get their rows, sweep.json is still written."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _end(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM (the run writes its evidence), then SIGKILL when it does not end in time."""
    _signal(process, signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGKILL)
        return process.wait()


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        process.send_signal(signum)


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return "(no console output)"
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else "(no console output)"
