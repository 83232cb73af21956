"""The cases one check draws, drawn once: kept, and read back by every run that would draw them again.

What a check draws is decided by what it draws from and nothing else: the operation's strategy
(the contract's files, the profile's reading of them), the mode, the number of cases, the seed,
the kit's own generating code and the versions of Hypothesis, schemathesis and Python. No answer
steers it (failures are collected, never raised; nothing is assumed or targeted), so the same
inputs draw the same cases, in the same order. Drawing them is most of a run's CPU (about 1 s of
3, the negative ones above all, issue 21), and a run against the embedded simulator, a sweep of
one profile, a re-run in CI, a re-judged bundle and the kit's own suite draw the same again and
again: every run asks here, and only the first pays.

Kept in this process (a run that follows reads them back) and in the kit's cache directory
(:mod:`conformance.cachedir`, ``cases/``), as a pickle named by the digest of every input above,
so nothing that changes a draw can read another draw's cases. What is kept is each case's
fields and its generation metadata, never the operation (the loaded schema): a case is built
anew from them through ``APIOperation.Case`` on every read, the first run's too, so every run
judges a case built the same way. A file that cannot be read is drawn anew: a run never fails
for its cache. The directory is the user's own, as Hypothesis' and Jinja2's files beside it;
a draw no run has used for a month is deleted by the next run that draws.

The first run on a machine draws everything, on the run's one core, while the machine's other
core waits (issue 21). So a run, as soon as it has sent its write, asks :func:`ahead` to draw its
whole plan in a forked process when a core is idle: the child takes the plan from its end, the
run from its start, each keeping what it drew, and each stops drawing where the other has been.
A draw is the same in either process (its inputs decide it), and the run never waits for the
child: whether and how far it draws ahead decides speed, never a case.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import hashlib
import io
import json
import os
import pickle
import select
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import hypothesis
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import DelimitedValue

from conformance import __version__, cachedir, contract

FORMAT = 1  # of a kept file: raised when what is kept per case changes
# what a case is rebuilt from (APIOperation.Case's arguments); not its id, a random one per case
# that schemathesis sends for correlating logs, made anew for every run as a drawn case's is
FIELDS = ("method", "path_parameters", "headers", "cookies", "query", "body", "media_type",
          "multipart_content_types")
_NOT_SET_ID = "not-set"

# schemathesis' joined array value is a str with its wire form beside it: pickled by both
copyreg.pickle(DelimitedValue, lambda value: (DelimitedValue, (str(value), value.encoded)))

_KEPT: dict[str, bytes] = {}  # this process's draws, by key
UNUSED_DAYS = 30  # a kept draw no run has read or written for this long is deleted
_pruned = False  # whether this process has pruned the kept draws
# forking a process with threads (the run's write flow, an embedded simulator) is sound when
# the child touches nothing another thread may hold a lock of: it only draws and writes files.
# Elsewhere than Linux (no fork; macOS' system libraries are not fork-safe) every draw is the run's.
FORKS = sys.platform == "linux" and hasattr(os, "fork")
_drawing: Ahead | None = None  # the latest child drawing ahead

Generate = Callable[[Any, "Draw", Callable[[Any], None]], None]


@dataclass(slots=True, frozen=True)
class Draw:
    """What one check draws: ``count`` cases of ``operation_id`` in ``fmt`` and ``mode``, from ``seed``."""

    operation_id: str
    fmt: str
    mode: GenerationMode
    count: int
    seed: int

    def key(self, schema: Any) -> str:
        """The digest of everything that decides the draw (see the module)."""
        inputs = {"format": FORMAT, "draw": [self.operation_id, self.fmt, self.mode.value, self.count, self.seed],
                  "schema": _schema_digest(schema), "contract": _contract_digests(),
                  "code": _code_digest(), "versions": _versions()}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def cases(operation: Any, draw: Draw, generate: Generate) -> list[Any]:
    """``draw``'s cases of ``operation`` (a loaded schema's), in the order they were drawn: read
    back when kept, else drawn by ``generate`` (which hands each case to the callable it is given,
    as in the child drawing ahead) and kept."""
    key = draw.key(operation.schema)
    data = _KEPT.get(key) or _read(key)
    if data is not None:
        try:
            return _built(operation, data)
        except Exception:  # noqa: BLE001 - unreadable (another library's types, a cut file): drawn anew
            _KEPT.pop(key, None)
    drawn: list[Any] = []
    generate(operation, draw, drawn.append)
    data = _dumped(drawn)
    _KEPT[key] = data
    _write(key, data)
    return _built(operation, data)


@dataclass(slots=True)
class Ahead:
    """A forked child drawing a run's plan ahead of it: ``stop`` it when the run's checks are done."""

    pid: int
    _told: int  # the write end of a pipe the child watches: closed, the child draws no more
    _reaper: threading.Thread

    def stop(self) -> None:
        """The child draws nothing more (the draw in hand is finished and kept); not waited for."""
        if self._told >= 0:
            os.close(self._told)
            self._told = -1

    def join(self, timeout: float | None = None) -> bool:
        """Whether the child has ended, waiting up to ``timeout``."""
        self._reaper.join(timeout)
        return not self._reaper.is_alive()


def ahead(planned: Sequence[tuple[Any, Draw]], generate: Generate) -> Ahead | None:
    """Draw ``planned`` (operation, draw) pairs not kept yet in a forked child, from the plan's end,
    keeping each; the caller goes on drawing from its start what is not kept when it gets there.

    None when nothing is forked: everything kept, or all but one draw (drawn where it is needed, a
    fork would only add its cost), no core idle (:func:`a_core_is_idle`), an earlier child still
    drawing, no cache directory to hand the draws over in, no fork on this system. The child stops
    at the first draw it finds kept (the caller has been there), when told to (:meth:`Ahead.stop`)
    or its parent is gone, or at a signal."""
    global _drawing
    if not FORKS or (_drawing is not None and not _drawing.join(0)):
        return None
    directory = cachedir.kept("cases")
    if directory is None:
        return None
    missing = [(operation, draw, key) for operation, draw in planned
               if (key := draw.key(operation.schema)) not in _KEPT and not _kept_file(directory, key).exists()]
    if len(missing) < 2 or not a_core_is_idle():
        return None
    try:
        watched, told = os.pipe()
    except OSError:  # out of descriptors: the run draws as it goes
        return None
    with warnings.catch_warnings():
        # Python 3.12 warns of any fork in a process with threads; this child is the sound case above
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: the run draws as it goes
            pid = -1
    if pid == 0:
        os.close(told)
        _draw_in_child(watched, directory, missing[::-1], generate)
    os.close(watched)
    if pid < 0:
        os.close(told)
        return None
    reaper = threading.Thread(target=_reap, args=(pid,), name="drawing ahead", daemon=True)
    reaper.start()
    _drawing = Ahead(pid, told, reaper)
    return _drawing


def a_core_is_idle() -> bool:
    """Whether a core of this process's is free to draw on, now and over the last minute (Linux's
    /proc/loadavg). On a busy machine (the kit's own suite, a sweep's jobs side by side) a child
    would take a core from other work and pay its fork on top: the kit's suite spent 16% more CPU
    on its lenient runs with it. Either way the run draws the same cases: this decides speed only."""
    try:
        cores = len(os.sched_getaffinity(0))
        return idle_core(cores, Path("/proc/loadavg").read_text(encoding="ascii"))
    except (OSError, AttributeError, UnicodeDecodeError):  # no such file: no telling, no fork
        return False


def idle_core(cores: int, loadavg: str) -> bool:
    """``/proc/loadavg``'s text read for ``cores`` cores: at most as many tasks runnable as cores
    (this process's own among them), and a last minute's average leaving half a core."""
    try:
        fields = loadavg.split()
        average, runnable = float(fields[0]), int(fields[3].split("/")[0])
    except (IndexError, ValueError):
        return False
    return cores >= 2 and runnable <= cores and average < cores - 0.5


def _draw_in_child(watched: int, directory: Path, plan: list[tuple[Any, Draw, str]], generate: Generate) -> None:
    try:
        # a terminal's interrupt reaches the whole process group: the child just ends, the run
        # says what it does; what the run inherited is never collected here (it is the parent's)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        gc.freeze()
        # the run's console is the run's: nothing a library might print while drawing reaches it
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        for operation, draw, key in plan:
            # readable is the pipe's end: the parent closed it (stop) or is gone
            if _kept_file(directory, key).exists() or select.select([watched], [], [], 0)[0]:
                break
            cases: list[Any] = []
            generate(operation, draw, cases.append)
            _write(key, _dumped(cases))
    finally:
        os._exit(0)  # nothing of the parent's runs here again: no atexit, no buffered output


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # reaped by whoever waits for every child (a test harness)
        os.waitpid(pid, 0)


def forget() -> None:
    """Nothing kept in this process (the kit's tests of drawing anew)."""
    _KEPT.clear()


def _dumped(drawn: list[Any]) -> bytes:
    kept = [{**{name: getattr(case, name) for name in FIELDS}, "meta": case.meta} for case in drawn]
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(kept)
    return buffer.getvalue()


def _built(operation: Any, data: bytes) -> list[Any]:
    return [operation.Case(**{name: fields[name] for name in FIELDS}, _meta=fields["meta"])
            for fields in _Unpickler(io.BytesIO(data)).load()]


class _Pickler(pickle.Pickler):
    # schemathesis tells "no body" by identity with its NOT_SET: kept as a name, read back as it
    def persistent_id(self, obj: Any) -> str | None:
        return _NOT_SET_ID if obj is NOT_SET else None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid != _NOT_SET_ID:
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return NOT_SET


def _path(key: str) -> Path | None:
    directory = cachedir.kept("cases")
    return _kept_file(directory, key) if directory is not None else None


def _kept_file(directory: Path, key: str) -> Path:
    return directory / f"{key}.pickle"


def _read(key: str) -> bytes | None:
    path = _path(key)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):  # a read-only cache is read all the same
        os.utime(path)  # when it was last used, for pruning
    _KEPT[key] = data
    return data


def _write(key: str, data: bytes) -> None:
    path = _path(key)
    if path is None:
        return
    try:  # whole or not at all: a run beside this one reads either the file or nothing
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        return
    _prune(path.parent)


def _prune(directory: Path) -> None:
    """Once a process that draws, the draws no run has used for :data:`UNUSED_DAYS`: a change of
    the kit, the contract or a library leaves its old draws behind, never to be read again, and
    the cache would only grow. A part file that old is a child's cut short."""
    global _pruned
    if _pruned:
        return
    _pruned = True
    horizon = time.time() - UNUSED_DAYS * 86400
    with contextlib.suppress(OSError):
        for path in directory.iterdir():
            with contextlib.suppress(OSError):  # gone already: another run pruned it
                if path.suffix in (".pickle", ".part") and path.stat().st_mtime < horizon:
                    path.unlink()


_SCHEMA_DIGESTS: dict[int, str] = {}  # id() of a loaded schema (kept for the process) -> its digest


def _schema_digest(schema: Any) -> str:
    digest = _SCHEMA_DIGESTS.get(id(schema))
    if digest is None:
        raw = json.dumps(schema.raw_schema, sort_keys=True, default=str)
        digest = _SCHEMA_DIGESTS[id(schema)] = hashlib.sha256(raw.encode()).hexdigest()
    return digest


@cache
def _contract_digests() -> dict[str, str]:
    """The contract's files' digests, read once a process (a run asks for each of its 24 draws)."""
    return contract.contract_hashes()


@cache
def _code_digest() -> str:
    """The kit's generating code: the schema as loaded (wiring), the settings it draws with (engine), this."""
    here = Path(__file__).parent
    sources = b"".join((here / name).read_bytes() for name in ("wiring.py", "engine.py", "drawn.py"))
    return hashlib.sha256(sources).hexdigest()


@cache
def _versions() -> dict[str, str]:
    return {"kit": __version__, "hypothesis": hypothesis.__version__,
            "schemathesis": metadata.version("schemathesis"), "python": sys.version}
