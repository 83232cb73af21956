"""What check-app finds in an application's output: the markers of the rows without an id and
the API key (raw or URL-encoded), where it is, and never the key itself in the evidence."""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

from conformance.appcheck.leaks import Leak, Needle, Needles, Watch, scan_paths
from conformance.appcheck.recording import redactor
from conformance.appcheck.registry import Output
from tests.test_appcheck import KEY, good_flow, message_of, outcomes_of

ODD_KEY = "k3y/with+odd=chars&more"
MARKERS = ("NOIDABC1231", "NOIDABC1232")


def test_a_marker_in_stdout_is_found_whatever_its_case_and_said_where():
    watch = Watch(Needles(MARKERS, KEY), redactor(KEY))
    watch.line("stdout", 1, "listed 40 requests")
    watch.line("stdout", 12, "-: RATS BEHIND THE GARAGE [noidabc1232]")
    [leak] = watch.leaks
    assert (leak.needle, leak.where, leak.marker) == (Needle.PENDING_ROW, "stdout line 12", "NOIDABC1232")
    assert watch.streams == ("stdout",)


def test_the_key_is_found_raw_and_url_encoded_and_redacted_in_the_excerpt():
    watch = Watch(Needles((), ODD_KEY), redactor(ODD_KEY))
    watch.line("stderr", 3, f"POST failed: api_key={quote(ODD_KEY, safe='')}&service_code=x")
    watch.line("stderr", 4, f"posting {{'api_key': '{ODD_KEY}'}}")
    watch.line("stderr", 5, f"lower escapes: {quote(ODD_KEY, safe='').lower()}")
    watch.line("stderr", 6, "nothing here")
    leaks = watch.leaks
    assert [leak.where for leak in leaks] == ["stderr line 3", "stderr line 4", "stderr line 5"]
    for leak in leaks:
        assert ODD_KEY not in leak.excerpt and quote(ODD_KEY, safe="") not in leak.excerpt
        assert "[REDACTED]" in leak.excerpt


def test_a_long_line_is_cut_around_the_key_and_still_redacted():
    watch = Watch(Needles((), KEY), redactor(KEY))
    watch.line("stdout", 1, "x" * 500 + f" api_key={KEY} " + "y" * 500)
    [leak] = watch.leaks
    assert "api_key=[REDACTED]" in leak.excerpt and KEY not in leak.excerpt and len(leak.excerpt) < 200


def test_files_and_directories_are_searched_text_by_line_databases_by_byte(tmp_path):
    out = tmp_path / "out"
    (out / "nested").mkdir(parents=True)
    (out / "rows.csv").write_text("26-1,Pothole,5100 S Cicero\n,Rats [NOIDABC1231],2107 W Division\n")
    (out / "nested" / "page.html").write_text(f"<p>key {KEY}</p>")
    db = sqlite3.connect(out / "rows.db")
    db.execute("CREATE TABLE rows (description TEXT)")
    db.execute("INSERT INTO rows VALUES ('Light out [NOIDABC1232]')")
    db.commit()
    db.close()
    clean = tmp_path / "clean.jsonl"
    clean.write_text('{"service_request_id": "26-1"}\n')
    leaks, read = scan_paths([out, clean, tmp_path / "never-written"], Needles(MARKERS, KEY), redactor(KEY))
    where = {(leak.needle, leak.where.replace(str(tmp_path) + "/", "")) for leak in leaks}
    assert (Needle.PENDING_ROW, "out/rows.csv line 2") in where
    assert (Needle.API_KEY, "out/nested/page.html line 1") in where
    assert any(n is Needle.PENDING_ROW and w.startswith("out/rows.db byte ") for n, w in where)
    assert str(clean) in read.places and read.missing == (str(tmp_path / "never-written"),)
    assert all(KEY not in leak.excerpt for leak in leaks)


def _with(*leaks_found: Leak, places: tuple[str, ...] = ("stdout", "stderr"), marked: bool = True) -> Output:
    return Output(leaks=tuple(leaks_found), places=places, marked=marked)


def test_a_leaked_pending_row_fails_app_ignore_pending_naming_where():
    watch = Watch(Needles(MARKERS, KEY), redactor(KEY))
    watch.line("stdout", 12, "Rats behind the garage [NOIDABC1231]")
    output = _with(*watch.leaks)
    assert outcomes_of(good_flow().seen, output=output)["APP-IGNORE-PENDING"] == "failed"
    assert "stdout line 12" in message_of(good_flow().seen, "APP-IGNORE-PENDING", output=output)
    clean = _with()
    assert outcomes_of(good_flow().seen, output=clean)["APP-IGNORE-PENDING"] == "passed"
    assert "none shown or kept" in message_of(good_flow().seen, "APP-IGNORE-PENDING", output=clean)


def test_a_leaked_key_fails_app_key_secret_and_nothing_read_skips_it():
    watch = Watch(Needles((), KEY), redactor(KEY))
    watch.line("stderr", 2, f"error: {KEY}")
    seen = good_flow().seen
    assert outcomes_of(seen, output=_with(*watch.leaks))["APP-KEY-SECRET"] == "failed"
    said = message_of(seen, "APP-KEY-SECRET", output=_with(*watch.leaks))
    assert "stderr line 2" in said and KEY not in said
    assert outcomes_of(seen, output=_with())["APP-KEY-SECRET"] == "passed"
    assert outcomes_of(seen, output=_with(places=()))["APP-KEY-SECRET"] == "skipped"
