"""The application checks, one judge per requirement (or a few), over the recording.

Each ``@check`` below registers itself in ``registry.CHECKS``; importing this module is what
makes the registry complete, so callers use :func:`judge_all` from here.
"""

from __future__ import annotations

from conformance.appcheck import flows
from conformance.appcheck.leaks import Leak, Needle
from conformance.appcheck.recording import Kind, Seen, redactor
from conformance.appcheck.registry import (
    READ_ONLY,
    Facts,
    Output,
    Recording,
    Ruling,
    check,
    doubtful,
    judge_all,
    met,
    not_applicable,
    not_met,
    not_shown,
)

__all__ = ["Facts", "Output", "judge_all"]

POLL_INTERVAL_S = 1.0
BURST_LIMIT = 10  # requests in any one second
MAX_PAGE_SIZE = 500
DATES_NAMED = 8  # distinct dates a met APP-DATES-ZONE quotes
# the recording notes arrival times on the kit's side: a client that waits exactly a second
# may reach us a little early or late
TOLERANCE_S = 0.05


def _seqs(items: list[Seen]) -> tuple[int, ...]:
    return tuple(s.seq for s in items)


def _few(items: list[Seen], n: int = 3) -> str:
    return ", ".join(f"#{s.seq}" for s in items[:n]) + (" ..." if len(items) > n else "")


# -- the application's run: first, as an app that crashed explains every other finding --------------
@check("APP-EXIT", title="The application exits with status 0")
def exits_cleanly(rec: Recording, facts: Facts) -> Ruling:
    if not facts.command:
        return not_applicable("the application was run by hand (no -- COMMAND)")
    if facts.stopped_by_wait:
        return not_met("the application did not exit within --wait and was stopped")
    if facts.exit_code != 0:
        tail = "\n".join(facts.stderr_tail)
        return not_met(f"the application exited with status {facts.exit_code}"
                       + (f"; the last {len(facts.stderr_tail)} line(s) of its stderr:\n{tail}" if tail else
                          " (nothing on its stderr)"))
    return met("the application exited with status 0")


# -- the key ------------------------------------------------------------------------------------
@check("APP-KEY-POST", title="Every POST carries the test key in its form body", writes=True)
def key_on_post(rec: Recording, facts: Facts) -> Ruling:
    posts = rec.posts
    if not posts:
        return not_shown("the application sent no POST")
    bad = []
    for post in posts:
        body_key = dict(post.form_pairs).get("api_key")
        if body_key != facts.api_key:
            in_query = post.params.get("api_key") == facts.api_key
            bad.append((post, "the key is in the URL, not the form body" if in_query
                        else "no api_key" if not body_key else "a key other than the test key"))
    if bad:
        return not_met(f"{len(bad)} of {len(posts)} POSTs without the test key in the form body "
                       f"(#{bad[0][0].seq}: {bad[0][1]})", _seqs([b[0] for b in bad]))
    return met(f"all {len(posts)} POSTs carry the test key in the form body", _seqs(posts))


@check("APP-KEY-NOT-IN-GET", title="GETs carry no API key")
def no_key_on_get(rec: Recording, facts: Facts) -> Ruling:
    gets = rec.gets
    if not gets:
        return not_shown("the application sent no GET")
    keyed = [g for g in gets if "api_key" in g.params]
    if keyed:
        return not_met(f"{len(keyed)} of {len(gets)} GETs carry api_key in the URL ({_few(keyed)}): "
                       "reads need no key, and URLs end up in logs", _seqs(keyed))
    return met(f"none of {len(gets)} GETs carries an api_key", _seqs(gets))


@check("APP-KEY-SECRET", title="The API key never appears in what the application prints or keeps")
def key_kept_secret(rec: Recording, facts: Facts) -> Ruling:
    out = facts.output
    if not out.places:
        return not_applicable("nothing of the application's output was read (no -- COMMAND, no --app-output)")
    found = out.found(Needle.API_KEY)
    if found:
        return not_met(f"the API key is in {_where(found)}: {found[0].excerpt!r}")
    return met(f"the key (raw or URL-encoded) is in none of what was read: {out.described()}")


def _where(found: list[Leak]) -> str:
    places = list(dict.fromkeys(leak.where for leak in found))
    return ", ".join(places[:3]) + (f" and {len(places) - 3} more place(s)" if len(places) > 3 else "")


# -- writing ------------------------------------------------------------------------------------
def _post_problems(post: Seen, facts: Facts) -> list[str]:
    form = post.form
    code = form.get("service_code", "").strip()
    problems = []
    if code not in facts.services:
        problems.append(f"service_code {code!r} is not in the service list" if code else "no service_code")
    if not flows.has_location(form):
        problems.append("no location (lat and long, address_string or address_id)")
    missing = flows.missing_attributes(post.form_pairs, facts.definitions.get(code))
    if missing:
        problems.append(f"required attribute{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}")
    if not post.accepted:
        said = _server_text(post, facts)
        problems.append(f"answered {post.status}" + (f": {said!r}" if said else ""))
    return problems


@check("APP-WRITE", title="A POST is accepted with a listed service, a location and the required attributes")
def write_accepted(rec: Recording, facts: Facts) -> Ruling:
    posts = rec.posts
    if facts.read_only:
        if not posts:
            return not_applicable(READ_ONLY)
        return not_met(f"graded as a read-only application (--read-only), yet it sent {len(posts)} POST(s)",
                       _seqs(posts))
    if not posts:
        if facts.stopped_by_wait or not facts.finished:
            return not_shown("the application sent no POST")
        if facts.exit_code not in (None, 0):
            return not_met(f"the application exited before writing (status {facts.exit_code}; APP-EXIT quotes "
                           "the end of its stderr)")
        return not_met("the application ended without writing (no POST was sent; an application that "
                       "only reads is graded with --read-only)")
    judged = [(p, _post_problems(p, facts)) for p in posts]
    good = [p for p, problems in judged if not problems]
    written = [p for p in good if flows.answered_handle(p)]
    # what the server said of a refused POST is the application's first clue, even when a later one worked
    refused = [p for p in posts if p.seq < (written or good or posts)[0].seq and not p.accepted]
    before = f"; before it, {_refusals(refused, facts)}" if refused else ""
    if written:
        return met(f"POST #{written[0].seq} accepted ({written[0].form.get('service_code')}), "
                   f"answered with a token or a service_request_id{before}", _seqs(refused + written))
    if good:
        # the server's answer, not the application, leaves the write unproven
        return not_shown(f"POST #{good[0].seq} was answered {good[0].status}, but with neither a token nor a "
                         f"service_request_id: nothing shows a request was written{before}", _seqs(refused + good))
    post, problems = judged[-1]
    return not_met(f"no acceptable POST among {len(posts)}; the last, #{post.seq}: {'; '.join(problems)}",
                   _seqs(posts))


def _server_text(post: Seen, facts: Facts) -> str:
    """The server's reason for refusing ``post``, the key redacted: a server may echo what it was sent."""
    return redactor(facts.api_key)(flows.error_text(post))


def _refusals(refused: list[Seen], facts: Facts) -> str:
    said = [f"#{p.seq} was answered {p.status}" + (f": {text!r}" if (text := _server_text(p, facts)) else "")
            for p in refused[:3]]
    return ", ".join(said) + (f" and {len(refused) - 3} more refused" if len(refused) > 3 else "")


@check("APP-DEFINITION-FIRST", title="The service definition is read before posting to a service with metadata",
       writes=True)
def definition_first(rec: Recording, facts: Facts) -> Ruling:
    posts = [p for p in rec.posts if facts.services.get(p.form.get("service_code", ""), {}).get("metadata") is True]
    if not posts:
        return not_shown("the application posted to no service with metadata true")
    read = {p.seq: [d for d in rec.of(Kind.DEFINITION) if d.route.arg == p.form.get("service_code") and d.seq < p.seq]
            for p in posts}
    late = [p for p in posts if not read[p.seq]]
    if late:
        return not_met(f"POST #{late[0].seq} to {late[0].form.get('service_code')} without reading "
                       "services/{code} first", _seqs(late))
    return met(f"a definition was read before each of {len(posts)} POSTs",
               _seqs([*posts, *(read[p.seq][-1] for p in posts)]))


# -- tokens -------------------------------------------------------------------------------------
def _no_flow(rec: Recording) -> str:
    return "no POST was answered with a token" if rec.posts else "the application sent no POST"


@check("APP-TOKEN-POLL", title="The token is polled until the service_request_id arrives", writes=True)
def polls_until_id(rec: Recording, facts: Facts) -> Ruling:
    if not rec.flows:
        return not_shown(_no_flow(rec))
    unfinished = [f for f in rec.flows if f.id_answer is None]
    if not unfinished:
        return met(f"{len(rec.flows)} token(s) polled until the id "
                   f"({', '.join(str(len(f.polls_until_id)) for f in rec.flows)} polls)",
                   _seqs([p for f in rec.flows for p in f.polls_until_id]))
    flow = unfinished[0]
    if facts.stopped_by_wait:
        return not_shown(f"the wait ended while token {flow.token} had no id yet "
                         f"({len(flow.polls)} polls)", _seqs(flow.polls))
    if not flow.polls:
        return not_met(f"POST #{flow.post.seq} answered token {flow.token}, which was never polled",
                       (flow.post.seq,))
    return not_met(f"token {flow.token} polled {len(flow.polls)} time(s), the last #{flow.polls[-1].seq} "
                   f"answered {flow.polls[-1].status}; the application stopped before the id arrived",
                   _seqs(flow.polls))


@check("APP-TOKEN-PATIENCE", title="The token is polled however long the City takes", writes=True)
def patient(rec: Recording, facts: Facts) -> Ruling:
    if facts.patience_s is None:
        return not_applicable("patience not tested (--quick, or --proxy: the server decides when the id comes)")
    if not rec.flows:
        return not_shown(_no_flow(rec))
    first = rec.flows[0]  # the one whose id the grading held
    polls = first.polls_until_id
    if first.id_answer is not None:
        waited = first.id_answer.at - first.post.at
        return met(f"token {first.token} polled {len(polls)} time(s) over {waited:.1f} s until its id "
                   f"(the grading held it {facts.patience_s:g} s)", _seqs([first.post, *polls]))
    if facts.stopped_by_wait:
        return not_shown(f"the wait ended while token {first.token} had no id yet", _seqs(polls))
    span = (polls[-1].at - first.post.at) if polls else 0.0
    return not_met(f"gave up on token {first.token} after {span:.1f} s ({len(polls)} poll(s)); the grading held "
                   f"its id {facts.patience_s:g} s, and the City may take far longer", _seqs([first.post, *polls]))


@check("APP-WRITE-ONCE", title="A report accepted once is never posted again", writes=True)
def writes_once(rec: Recording, facts: Facts) -> Ruling:
    posts = rec.posts
    answered = [p for p in posts if flows.answered_handle(p)]
    if not answered:
        return not_shown("no POST was answered with a token or an id")
    again = [(first, later) for first in answered for later in posts
             if later.seq > first.seq and later.fmt == first.fmt and flows.same_report(first, later)]
    if again:
        first, later = again[0]
        return not_met(f"POST #{later.seq} sent the same report again after #{first.seq} was answered with a "
                       "token or an id: the City now has it twice", _seqs([first, later]))
    return met(f"{len(answered)} accepted report(s), none posted again", _seqs(answered))


@check("APP-POLL-INTERVAL", title="Tokens are polled at most once a second after the first poll", writes=True)
def poll_interval(rec: Recording, facts: Facts) -> Ruling:
    polled = [f for f in rec.flows if len(f.polls) >= 2]
    if not polled:
        return not_shown("no token was polled twice")
    fast: list[tuple[float, Seen]] = []
    for flow in polled:
        fast += [(b.at - a.at, b) for a, b in zip(flow.polls, flow.polls[1:], strict=False)
                 if b.at - a.at < POLL_INTERVAL_S - TOLERANCE_S]
    if fast:
        gap, seen = min(fast, key=lambda item: item[0])
        return not_met(f"{len(fast)} poll(s) less than {POLL_INTERVAL_S:g} s after the previous one, "
                       f"the closest {gap:.3f} s (#{seen.seq})", _seqs([s for _, s in fast]))
    gaps = [b.at - a.at for f in polled for a, b in zip(f.polls, f.polls[1:], strict=False)]
    return met(f"{sum(len(f.polls) for f in polled)} polls, at least {min(gaps):.2f} s apart",
               _seqs([p for f in polled for p in f.polls]))


@check("APP-POLL-STOP", title="Polling stops once the id arrived", writes=True)
def stops_polling(rec: Recording, facts: Facts) -> Ruling:
    resolved = [f for f in rec.flows if f.id_answer is not None]
    if not resolved:
        return not_shown("no token poll was answered with an id")
    extra = [p for f in resolved for p in f.polls_after_id]
    if extra:
        return not_met(f"{len(extra)} poll(s) after the id had arrived ({_few(extra)})", _seqs(extra))
    return met(f"no poll after the id arrived ({len(resolved)} token(s))",
               _seqs([f.id_answer for f in resolved if f.id_answer is not None]))


@check("APP-RETRY-AFTER", title="Retry-After is honoured")
def honours_retry_after(rec: Recording, facts: Facts) -> Ruling:
    judged: list[Seen] = []
    early = []
    for i, seen in enumerate(rec.seen):
        wait = _retry_after(seen)
        if wait is None:
            continue
        path = seen.target.split("?", 1)[0]
        following = next((s for s in rec.seen[i + 1:] if s.target.split("?", 1)[0] == path), None)
        if following is None:
            continue
        judged += [seen, following]
        if following.at - seen.at < wait - TOLERANCE_S:
            early.append((seen, following))
    if early:
        first, then = early[0]
        return not_met(f"#{then.seq} came {then.at - first.at:.2f} s after #{first.seq} asked to wait "
                       f"{first.response_header('Retry-After')} s", _seqs([s for pair in early for s in pair]))
    if not judged:
        return not_shown("the application never asked again after an answer with Retry-After")
    return met(f"waited as asked after {len(judged) // 2} answer(s) with Retry-After", _seqs(judged))


def _retry_after(seen: Seen) -> float | None:
    value = (seen.response_header("Retry-After") or "").strip()
    return float(value) if seen.status in (429, 503) and value.isdigit() else None


# -- reading ------------------------------------------------------------------------------------
@check("APP-READBACK", title="The written request is read back by its id", writes=True)
def reads_back(rec: Recording, facts: Facts) -> Ruling:
    resolved = [f for f in rec.flows if f.service_request_id is not None]
    if not resolved:
        return not_shown("no written request got its id")
    unread = [f for f in resolved if not f.readbacks]
    if unread:
        return not_met(f"request {unread[0].service_request_id} (token answer #{unread[0].id_answer.seq}) "  # type: ignore[union-attr]
                       "was never read back by id", (unread[0].id_answer.seq,))  # type: ignore[union-attr]
    return met(f"{len(resolved)} request(s) read back by id",
               _seqs([s for f in resolved for s in (f.id_answer, *f.readbacks) if s is not None]))


@check("APP-IGNORE-PENDING", title="Listed rows without an id are ignored: never asked for, shown or kept")
def ignores_pending(rec: Recording, facts: Facts) -> Ruling:
    asked = [(s, why) for s in rec.seen if (why := flows.missing_id_asked(s))]
    if asked:
        return not_met(f"{len(asked)} request(s) for a row by a missing id, e.g. #{asked[0][0].seq} "
                       f"{asked[0][1]}", _seqs([s for s, _ in asked]))
    lists = [s for s in rec.of(Kind.LIST) if flows.rows_without_id(s)]
    out = facts.output
    leaked = out.found(Needle.PENDING_ROW)
    if leaked:
        # a leak proves the row was listed to it, whatever the recording holds
        return not_met(f"a row without an id was shown or kept: its marker {leaked[0].marker} is in "
                       f"{_where(leaked)} ({leaked[0].excerpt!r})", _seqs(lists))
    if not rec.of(Kind.LIST):
        return not_applicable("the application listed no requests")
    if not lists:
        return not_shown("the application was never answered a list with rows without an id")
    shown = sum(flows.rows_without_id(s) for s in lists)
    told = f"{shown} rows without an id in {len(lists)} list(s); none asked for"
    if not out.marked:
        return met(f"{told}; the server's rows carry no marker the kit knows, so the application's "
                   "output was not searched for them", _seqs(lists))
    if not out.places:
        return met(f"{told}; {out.described()} (run it as -- COMMAND or name --app-output to have it "
                   "searched for them)", _seqs(lists))
    return met(f"{told}, none shown or kept ({out.described()})", _seqs(lists))


@check("APP-PAGE-SIZE", title="page_size is never above 500")
def page_size_bounded(rec: Recording, facts: Facts) -> Ruling:
    lists = rec.of(Kind.LIST)
    if not lists:
        return not_applicable("the application listed no requests")
    big = [s for s in lists if s.params.get("page_size", "").strip().isdigit()
           and int(s.params["page_size"]) > MAX_PAGE_SIZE]
    if big:
        return not_met(f"page_size={big[0].params['page_size']} (#{big[0].seq}); the City serves at most "
                       f"{MAX_PAGE_SIZE}", _seqs(big))
    return met(f"{len(lists)} list request(s), none above page_size {MAX_PAGE_SIZE}", _seqs(lists))


@check("APP-DATES-ZONE", title="Dates sent carry a time zone")
def dates_have_zone(rec: Recording, facts: Facts) -> Ruling:
    sent = [(seen, date.name, date.value, date.documented) for seen in rec.seen
            for date in flows.dates_sent(seen, facts.definitions)]
    if not sent:
        return not_applicable("the application sent no date")
    naive = [(s, name, value) for s, name, value, documented in sent if documented and not flows.has_zone(value)]
    if naive:
        seen, name, value = naive[0]
        return not_met(f"{name}={value} (#{seen.seq}) has no time zone (add Z or an offset such as -05:00)",
                       _seqs([n[0] for n in naive]))
    # a field the API does not document as a date may hold text that only looks like one
    unsure = [(s, name, value) for s, name, value, documented in sent if not documented and not flows.has_zone(value)]
    if unsure:
        seen, name, value = unsure[0]
        return doubtful(f"{name}={value} (#{seen.seq}) reads as a date-time without a time zone; if it is "
                        "a date, add Z or an offset such as -05:00", _seqs([n[0] for n in unsure]))
    sent = [(s, name, value) for s, name, value, _ in sent]
    shifted = [(s, said) for s, name, value in sent
               if (said := flows.zone_mistake(name, value, s.received, rec.seen[0].received, facts.app_tz))]
    if shifted:
        return doubtful(f"{len(shifted)} of {len(sent)} date(s) read as a moment of the run only when shifted by "
                        f"the application's UTC offset ({facts.app_tz}): {shifted[0][1]} (#{shifted[0][0].seq})",
                        _seqs([s for s, _ in shifted]))
    # each date named once (a paging app sends the same window on every page), up to a readable few
    named = list(dict.fromkeys(f"{name}={value}" for _, name, value in sent))
    return met(f"all {len(sent)} date(s) sent carry a time zone ({', '.join(named[:DATES_NAMED])}"
               f"{f' and {len(named) - DATES_NAMED} more' if len(named) > DATES_NAMED else ''})",
               _seqs([s for s, _, _ in sent]))


@check("APP-FORMATS", title="Each claimed format is used for the whole flow", writes=True)
def formats_whole_flow(rec: Recording, facts: Facts) -> Ruling:
    complete = {fmt for fmt in facts.formats if any(f.complete_in(fmt) for f in rec.flows)}
    if not any(f.complete_in(fmt) for f in rec.flows for fmt in ("json", "xml")):
        return not_shown("no flow (POST, polls to the id, read-back) was completed in one format")
    missing = [fmt for fmt in facts.formats if fmt not in complete]
    # the flows it completed, in whichever format: what the judgement rests on
    whole = _seqs([s for f in rec.flows if any(f.complete_in(fmt) for fmt in ("json", "xml")) for s in f.seen])
    if missing:
        return not_met(f"no whole flow in {', '.join(missing)} (claimed: {', '.join(facts.formats)}); "
                       f"completed in: {', '.join(sorted(complete)) or 'other formats only'}", whole)
    return met(f"whole flow in {', '.join(facts.formats)}", whole)


# -- the application as a whole -------------------------------------------------------------------
@check("APP-PATHS", title="Every request is to a documented operation")
def documented_paths(rec: Recording, facts: Facts) -> Ruling:
    if not rec.seen:
        return not_shown("the application sent nothing")
    bad = [(s, why) for s in rec.seen if (why := flows.undocumented(s))]
    if bad:
        seen, why = bad[0]
        return not_met(f"{len(bad)} of {len(rec.seen)} request(s) to no documented operation; "
                       f"#{seen.seq} {seen.method} {why} (answered {seen.status})", _seqs([s for s, _ in bad]))
    return met(f"all {len(rec.seen)} requests to documented operations", _seqs(rec.seen))


@check("APP-NO-BURST", title="No more than 10 requests in one second")
def no_bursts(rec: Recording, facts: Facts) -> Ruling:
    if not rec.seen:
        return not_shown("the application sent nothing")
    worst, start, burst = 0, 0, (0, 0)
    over: dict[int, Seen] = {}  # every request of a second holding more than the limit: the burst
    times = [s.at for s in rec.seen]
    for end in range(len(times)):
        while times[end] - times[start] >= 1.0:
            start += 1
        if end - start + 1 > worst:
            worst, burst = end - start + 1, (start, end)
        if end - start + 1 > BURST_LIMIT:
            over.update((s.seq, s) for s in rec.seen[start:end + 1])
    burst_seen = rec.seen[burst[0]:burst[1] + 1]
    if worst > BURST_LIMIT:
        bursts = sorted(over.values(), key=lambda s: s.seq)
        return not_met(f"up to {worst} requests within one second, #{burst_seen[0].seq} to #{burst_seen[-1].seq} "
                       f"(at most {BURST_LIMIT}); {len(bursts)} request(s) in seconds over the limit, "
                       f"#{bursts[0].seq} to #{bursts[-1].seq}", _seqs(bursts))
    return met(f"at most {worst} request(s) within any one second (#{burst_seen[0].seq} to "
               f"#{burst_seen[-1].seq} the busiest)", _seqs(burst_seen))
