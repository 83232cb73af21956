"""The pytest plugin: the ``requirement`` marker, profile selection, outcome mapping.

Loaded through the ``pytest11`` entry point (so the marker and fixtures exist wherever the
kit is installed) and, for a run, handed a :class:`RunPlugin` that carries the run's
context. Without a context the plugin stays out of the way of any other pytest session.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from conformance import requirements
from conformance.outcomes import CheckFailed, CheckResult, Inconclusive, Level, Outcome
from conformance.run.context import RunContext
from conformance.run.fixtures import *  # noqa: F403  (fixtures are found through this module)
from conformance.run.fixtures import CONTEXT_KEY
from conformance.transport import Failure, TransportError

_SYMBOL = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.WARNING: "WARN", Outcome.SKIPPED: "SKIP",
           Outcome.INCONCLUSIVE: "INCONCLUSIVE", Outcome.ERROR: "ERROR"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "requirement(*ids): the registry requirements (conformance/requirements.yaml) a check judges",
    )
    config.addinivalue_line(
        "markers", "after_all: judged after every other check of the run (it judges what the run recorded)")


def requirement_ids(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids.extend(str(a) for a in mark.args)
    return ids


class RunPlugin:
    """Hooks of one conformance run; registered by the runner with the run's context."""

    def __init__(self, context: RunContext, quiet: bool = False, order_seed: int | None = None,
                 left_out: Mapping[str, str] | None = None) -> None:
        self.context = context
        self.quiet = quiet  # no line per check (the console shows progress instead)
        self.on_check: Callable[[CheckResult], None] | None = None  # hears each decided check
        self.order_seed = order_seed  # shuffle the checks: the kit's proof that none needs another
        self._started: dict[str, float] = {}
        self._exchanges: dict[str, list[int]] = {}
        self._undecided: dict[str, tuple[Outcome, str]] = {}
        self.items: list[pytest.Item] = []  # every check the run meant to judge, in order
        self._dropped: set[str] = set()  # checks the profile does not select: not the run's
        self._not_run: dict[str, str] = {}  # nodeid -> why pytest was kept from running it
        self._stopped: str | None = None  # why pytest stopped the session early (-x, --maxfail, a stop)
        # check id -> why it is not run: a re-judged run leaves out what the recorded run never ran
        self.left_out = dict(left_out or {})

    # -- set-up --------------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[CONTEXT_KEY] = self.context

    # first: the run's checks are known before any other hook can take some away
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        registry = requirements.load()
        keep, drop = [], []
        for item in items:
            ids = requirement_ids(item)
            unknown = [i for i in ids if i not in registry]
            if not ids or unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: " + (f"unknown requirement ids {unknown}" if unknown
                                          else "no @pytest.mark.requirement"))
            applies = any(self.context.profile.selects(registry[i]) for i in ids)
            (keep if applies else drop).append(item)
        if drop:
            self._dropped.update(item.nodeid for item in drop)
            config.hook.pytest_deselected(items=drop)
        left = [item for item in keep if item.nodeid in self.left_out]
        if left:
            self._not_run.update((item.nodeid, self.left_out[item.nodeid]) for item in left)
            keep = [item for item in keep if item.nodeid not in self.left_out]
            config.hook.pytest_deselected(items=left)
        if self.order_seed is not None:
            random.Random(self.order_seed).shuffle(keep)
        else:
            # read-back checks wait for the write flow, so they go late; where the fuzzing shares
            # answers, it goes just before them, after the scenarios whose GETs it may draw
            shared = self.context.target.share_answers
            keep.sort(key=lambda it: ("test_write_readback" in it.nodeid, shared and _source(it) == "openapi"))
        # a check of the whole run's answers needs every other check's behind it, in any order
        keep.sort(key=lambda it: it.get_closest_marker("after_all") is not None)
        items[:] = keep
        self.items = list(keep) + left  # left out, still the run's: each reported "not run"

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            if item.nodeid not in self._dropped:
                self._not_run.setdefault(item.nodeid, "deselected by a pytest option or plugin")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        kept = {item.nodeid for item in session.items}
        for item in self.items:
            if item.nodeid not in kept:
                self._not_run.setdefault(item.nodeid, "left out of the run by a pytest plugin")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.context.kit_errors.append(f"collection of {report.nodeid} failed:\n{report.longreprtext}")

    # -- running -------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        self._started[item.nodeid] = time.monotonic()
        self._exchanges[item.nodeid] = []
        self.context.current_exchanges = self._exchanges[item.nodeid]
        try:
            return (yield)
        except (Inconclusive, TransportError) as exc:
            raise self._as_skip(item, exc) from None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        try:
            return (yield)
        except (Inconclusive, TransportError) as exc:
            raise self._as_skip(item, exc) from None

    def _as_skip(self, item: pytest.Item, exc: BaseException) -> BaseException:
        # A check that could not decide is reported as a skip: pytest then records a reason
        # instead of formatting a traceback, which costs more than the check itself.
        refused = isinstance(exc, TransportError) and exc.kind is Failure.WRITE_REFUSED
        outcome = Outcome.SKIPPED if refused else Outcome.INCONCLUSIVE
        self._undecided[item.nodeid] = (outcome, _first_lines(exc))
        return pytest.skip.Exception(f"{outcome}: {_first_lines(exc)}", _use_item_location=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]):
        report = yield
        self._redact(report)
        decided = call.when == "call" or (call.when == "setup" and not report.passed)
        if not decided or item.nodeid in self.context.results:
            return report
        result = self._judge(item, call, report)
        self.context.results[item.nodeid] = result
        stop = self.context.transport.stop
        if stop is not None:
            # nothing more can be sent: the checks left are recorded as not run, not tried one by one
            item.session.shouldstop = stop.detail
        # on the item, not the report: JUnit writes the teardown report's properties, which
        # pytest copies from the item
        for prop in (("conformance_outcome", result.outcome), ("level", result.level),
                     ("requirements", " ".join(result.requirement_ids))):
            item.user_properties.append(prop)
            report.user_properties.append(prop)
        if result.outcome is Outcome.WARNING:
            report.outcome = "passed"
        self._print(result)
        if self.on_check is not None:
            self.on_check(result)
        return report

    def _redact(self, report: pytest.TestReport) -> None:
        """Keep the key out of what pytest's own reporters (JUnit, HTML) write: a server
        that echoes the key back would otherwise carry it into a failure message."""
        redact = self.context.transport.redact
        if report.longrepr is not None and not isinstance(report.longrepr, tuple):
            text = report.longreprtext
            if redact(text) != text:
                report.longrepr = redact(text)
        report.sections = [(title, redact(content)) for title, content in report.sections]

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self.context.current_exchanges = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        why = session.shouldfail or session.shouldstop
        # a stop of the transport is said in its own words (the runner's)
        if isinstance(why, str) and why and self.context.transport.stop is None:
            self._stopped = f"pytest stopped the session: {why}"

    # -- judging -------------------------------------------------------------------------
    def _judge(self, item: pytest.Item, call: pytest.CallInfo[Any], report: pytest.TestReport) -> CheckResult:
        outcome, message, broken = Outcome.PASSED, "", []
        exc = call.excinfo.value if call.excinfo else None
        ids = self._ids(item)
        registry = requirements.load()
        if item.nodeid in self._undecided:
            outcome, message = self._undecided[item.nodeid]
        elif report.skipped:
            outcome = Outcome.SKIPPED
            message = _skip_reason(report)
        elif exc is not None:
            message = _first_lines(exc)
            if isinstance(exc, CheckFailed | AssertionError):
                named = list(getattr(exc, "requirements", ()))
                stray = [i for i in named if i not in registry or not self.context.profile.selects(registry[i])]
                if stray:
                    outcome = Outcome.ERROR
                    message = f"kit error: the check blamed {', '.join(stray)}, unknown under this profile: {message}"
                else:
                    # a check may find another requirement broken on its way (an error body
                    # that is no error list): that one is blamed, and named among its ids
                    broken = named or ids
                    outcome = Outcome.FAILED if self._level(broken) is Level.MUST else Outcome.WARNING
            else:
                outcome = Outcome.ERROR
                message = f"kit error {type(exc).__name__}: {message}"
        return self._result(item, outcome, message, broken)

    def _level(self, ids: list[str]) -> Level:
        registry = requirements.load()
        profile = self.context.profile
        return min((profile.level_of(registry[i]) for i in ids), key=lambda level: level.rank)

    def _ids(self, item: pytest.Item) -> list[str]:
        registry = requirements.load()
        return [i for i in requirement_ids(item) if self.context.profile.selects(registry[i])]

    def _result(self, item: pytest.Item, outcome: Outcome, message: str,
                broken: list[str] | None = None) -> CheckResult:
        judged = self._ids(item)
        ids = judged + [i for i in broken or () if i not in judged]
        return CheckResult(
            id=item.nodeid, title=_title(item), requirement_ids=ids, outcome=outcome,
            duration_s=time.monotonic() - self._started.get(item.nodeid, time.monotonic()),
            message=self.context.transport.redact(message), level=self._level(broken or ids),
            exchanges=list(self._exchanges.get(item.nodeid, [])),
            source=_source(item),
            broken=list(broken or ()),
        )

    def unrun(self, ended: str) -> list[CheckResult]:
        """Checks of the profile the run never judged: inconclusive, each with why (deselected,
        left out, or ``ended``: why the run stopped before them), so a verdict counts every check
        and a report never reads as if one had not existed."""
        def why(item: pytest.Item) -> str:
            return self._not_run.get(item.nodeid) or self._stopped or ended

        return [self._result(item, Outcome.INCONCLUSIVE, f"{NOT_RUN}{why(item)}")
                for item in self.items if item.nodeid not in self.context.results]

    def _print(self, result: CheckResult) -> None:
        if self.quiet:
            return
        line = f"  {_SYMBOL[result.outcome]:<5} {result.title}"
        if result.outcome is not Outcome.PASSED and result.message:
            line += "".join(f"\n        {text}" for text in result.message.splitlines()[:3])
        self.context.say(line)


NOT_RUN = "not run: "  # the head of the message of a check the run never judged (rejudge reads it)


def _title(item: pytest.Item) -> str:
    """The check's docstring headline, with its parameters: what a reviewer reads first."""
    function = getattr(item, "function", None)
    doc = (function.__doc__ or "").strip().splitlines() if function is not None else []
    title = doc[0] if doc else item.name
    param = getattr(item, "callspec", None)
    return f"{title} [{param.id}]" if param is not None else title


def _source(item: pytest.Item) -> str:
    """Where the check comes from: its module's CHECK_SOURCE ("openapi"), else a scenario."""
    return getattr(getattr(item, "module", None), "CHECK_SOURCE", "scenario")


def _first_lines(exc: BaseException, limit: int = 12) -> str:
    text = str(exc).strip()
    # drop pytest's assertion introspection: the check's own message says it plainly
    head = text.split("\nassert ", 1)[0]
    lines = head.splitlines()
    return "\n".join(lines[:limit]) + ("\n..." if len(lines) > limit else "")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")
