"""What the application leaves behind, searched for what it must not show or keep.

Two kinds of needle: the markers grading mode puts in the visible fields of its rows without
an id (found in the app's output, the app showed or kept a row it should have ignored:
APP-IGNORE-PENDING) and the API key in its raw and URL-encoded forms (APP-KEY-SECRET). The
haystacks are the application's stdout and stderr, line by line as it runs
(:class:`Watch`), and the files named by ``--app-output`` once it is done
(:func:`scan_paths`): a file, or a directory searched through. Every excerpt kept is
redacted of the key before it leaves this module.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.transport import REDACTED, key_forms

MAX_LEAKS = 20  # per kind: enough to say where, without keeping a whole log
MAX_FILE_BYTES = 64 * 1024 * 1024  # past this a file is searched only this far
MAX_FILES = 2000  # in one --app-output directory
EXCERPT_CHARS = 160

Redact = Callable[[str], str]


class Needle(enum.StrEnum):
    PENDING_ROW = "pending-row"
    API_KEY = "api-key"


@dataclass(slots=True, frozen=True)
class Leak:
    """One needle found: what, where ("stdout line 12", "out/rows.csv line 4") and the text
    around it with the key redacted."""

    needle: Needle
    where: str
    excerpt: str
    marker: str = ""  # the pending row's marker (empty for the key)


@dataclass(slots=True, frozen=True)
class Needles:
    markers: tuple[str, ...] = ()
    key: str | None = None

    def forms(self) -> list[Form]:
        # a marker whatever its case (an app may upper-case what it shows); the key exactly, as
        # its case is part of it, but with percent-escapes in either case (%2F and %2f)
        out = [Form(Needle.PENDING_ROW, m.lower(), m, folded=True) for m in self.markers]
        if self.key:
            out += [Form(Needle.API_KEY, f, "") for f in self.key_forms()]
        return out

    def key_forms(self) -> list[str]:
        if not self.key:
            return []
        forms = {f for form in key_forms(self.key) for f in (form, _lower_escapes(form))}
        return sorted(forms, key=len, reverse=True)


@dataclass(slots=True, frozen=True)
class Form:
    needle: Needle
    text: str  # lower-cased when folded
    marker: str
    folded: bool = False


@dataclass(slots=True, frozen=True)
class OutputRead:
    """What was searched: the places, and the --app-output paths that held nothing."""

    places: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


class Watch:
    """Searches the application's output lines as they arrive (thread-safe: stdout and stderr
    are read by a thread each)."""

    def __init__(self, needles: Needles, redact: Redact) -> None:
        self._forms = needles.forms()
        self._redact = _scrubber(needles, redact)
        self._lock = threading.Lock()
        self._leaks: list[Leak] = []
        self._streams: dict[str, None] = {}  # in the order first read

    def line(self, stream: str, number: int, text: str) -> None:
        found = _find(self._forms, text, f"{stream} line {number}", self._redact)
        with self._lock:
            self._streams.setdefault(stream)
            _keep(self._leaks, found)

    def mark_read(self, stream: str) -> None:
        with self._lock:
            self._streams.setdefault(stream)

    def text(self, stream: str, text: str) -> None:
        """A whole output at once (what a test hands the fixture)."""
        self.mark_read(stream)
        for number, line in enumerate(text.splitlines(), 1):
            self.line(stream, number, line)

    @property
    def leaks(self) -> tuple[Leak, ...]:
        with self._lock:
            return tuple(self._leaks)

    @property
    def streams(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._streams)


def scan_paths(paths: Iterable[Path], needles: Needles, redact: Redact) -> tuple[list[Leak], OutputRead]:
    """Search every file of ``paths`` (a file, or a directory's files, recursively)."""
    forms = needles.forms()
    redact = _scrubber(needles, redact)
    leaks: list[Leak] = []
    places: list[str] = []
    missing: list[str] = []
    for path in paths:
        files = _files(path)
        if not files:
            missing.append(str(path))
            continue
        for file in files:
            try:
                with file.open("rb") as handle:
                    data = handle.read(MAX_FILE_BYTES)
            except OSError:
                missing.append(str(file))
                continue
            places.append(str(file))
            _keep(leaks, _find_in_bytes(forms, data, str(file), redact))
    return leaks, OutputRead(tuple(places), tuple(missing))


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())[:MAX_FILES]
    return []


def _find_in_bytes(forms: list[Form], data: bytes, name: str, redact: Redact) -> list[Leak]:
    """A text file is searched line by line (its line numbers said); anything else (a
    database file) as UTF-8 and UTF-16 bytes, its byte offset said."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        found: list[Leak] = []
        for number, line in enumerate(text.splitlines(), 1):
            _keep(found, _find(forms, line, f"{name} line {number}", redact))
        return found
    found = []
    lowered = data.lower()
    for form in forms:
        for encoded in (form.text.encode("utf-8"), form.text.encode("utf-16-le")):
            at = (lowered if form.folded else data).find(encoded)
            if at >= 0:
                around = data[max(0, at - 40): at + len(encoded) + 40].decode("utf-8", "replace")
                found.append(Leak(form.needle, f"{name} byte {at}", _excerpt(around, redact), form.marker))
                break
    return _one_per_needle(found)


def _find(forms: list[Form], text: str, where: str, redact: Redact) -> list[Leak]:
    lowered = text.lower()
    found = []
    for form in forms:
        at = (lowered if form.folded else text).find(form.text) if form.text else -1
        if at >= 0:
            found.append(Leak(form.needle, where, _excerpt(text, redact, at, len(form.text)), form.marker))
    return _one_per_needle(found)


def _one_per_needle(found: list[Leak]) -> list[Leak]:
    """One key leak per place (its forms overlap), every marker found."""
    out: list[Leak] = []
    for leak in found:
        if leak.needle is Needle.API_KEY and any(o.needle is Needle.API_KEY for o in out):
            continue
        out.append(leak)
    return out


def _keep(into: list[Leak], found: list[Leak]) -> None:
    for leak in found:
        if sum(1 for k in into if k.needle is leak.needle) < MAX_LEAKS:
            into.append(leak)


def _excerpt(text: str, redact: Redact, at: int = 0, length: int = 0) -> str:
    """The text around what was found (a long line cut around it), redacted."""
    if len(text) > EXCERPT_CHARS:
        start = max(0, at + length // 2 - EXCERPT_CHARS // 2)
        end = start + EXCERPT_CHARS
        # redacted before the cut: a cut through the key would leave part of it unredacted
        text = ("..." if start else "") + redact(text)[start:end] + ("..." if end < len(text) else "")
        return text.strip()
    return redact(text.strip())


def _scrubber(needles: Needles, redact: Redact) -> Redact:
    """``redact`` after every form of the key this module looks for is replaced."""
    forms = needles.key_forms()

    def scrub(text: str) -> str:
        for form in forms:
            text = text.replace(form, REDACTED)
        return redact(text)

    return scrub


def _lower_escapes(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and i + 3 <= len(text):
            out.append(text[i:i + 3].lower())
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
