"""The live page of a hand-run grading: each APP- requirement's state as the requests arrive.

A person driving a phone or browser app has no COMMAND for the kit to run: this page, on the
simulator's own port (``/check-app``), shows what the judges say of the recording so far (met,
not met, not shown, not applicable), the last requests and the time left. It reloads itself
every few seconds without JavaScript (a meta refresh inside ``<noscript>``) and, with it, asks
``/check-app/state.json`` every second and updates in place. Its requests are never recorded.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from typing import Any

from conformance.appcheck import judges
from conformance.appcheck.recording import Recorder, redactor
from conformance.simulator.messages import Reply

PATH = "/check-app"
STATE_PATH = PATH + "/state.json"
LAST_REQUESTS = 12
REFRESH_S = 3
_HTML = "text/html; charset=utf-8"
_JSON = "application/json; charset=utf-8"


class LivePage:
    def __init__(self, recorder: Recorder, facts: Callable[[], judges.Facts], deadline: float,
                 api_key: str) -> None:
        self.recorder = recorder
        self.facts = facts
        self.deadline = deadline  # monotonic
        self.redact = redactor(api_key)

    def state(self) -> dict[str, Any]:
        seen = self.recorder.snapshot()
        results = judges.judge_all(seen, self.facts())
        return {
            "requirements": [{"id": "/".join(r.requirement_ids), "title": r.title,
                              "state": str(r.details.get("state", "")), "message": self.redact(r.message)}
                             for r in results],
            "requests": [{"seq": s.seq, "method": s.method, "target": self.redact(s.target), "status": s.status}
                         for s in seen[-LAST_REQUESTS:]],
            "time_left_s": max(0, round(self.deadline - time.monotonic())),
        }

    def json_reply(self) -> Reply:
        return Reply(200, [("Content-Type", _JSON), ("Cache-Control", "no-store")],
                     json.dumps(self.state()).encode())

    def html_reply(self) -> Reply:
        return Reply(200, [("Content-Type", _HTML), ("Cache-Control", "no-store")], render(self.state()).encode())


def no_icon() -> Reply:
    return Reply(204, [("Cache-Control", "max-age=3600")])


def render(state: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr data-requirement="{html.escape(r["id"])}"><td>{html.escape(r["id"])}</td>'
        f'<td>{html.escape(r["title"])}</td><td class="state" data-state="{html.escape(r["state"])}">'
        f'{html.escape(r["state"])}</td><td class="message">{html.escape(r["message"])}</td></tr>'
        for r in state["requirements"])
    requests = "".join(f'<li>#{q["seq"]} {html.escape(q["method"])} {html.escape(q["target"])} '
                       f'&rarr; {q["status"]}</li>' for q in reversed(state["requests"]))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<noscript><meta http-equiv="refresh" content="{REFRESH_S}"></noscript>
<title>check-app: live</title>
<style>body{{font-family:sans-serif;margin:1em}}td{{padding:.2em .6em;border-bottom:1px solid #ddd}}
[data-state="met"]{{color:#060}}[data-state="not met"]{{color:#b00;font-weight:bold}}
[data-state="not shown"]{{color:#666}}</style></head>
<body data-updated-by="server">
<h1>check-app: the application's requirements, live</h1>
<p>Time left: <span id="time-left">{state["time_left_s"]}</span> s</p>
<table><tbody id="requirements">{rows}</tbody></table>
<h2>Last requests</h2><ul id="requests">{requests}</ul>
<script>
function esc(t){{const d=document.createElement('div');d.textContent=String(t);return d.innerHTML}}
async function update(){{
  try {{
    const s = await (await fetch('{STATE_PATH}', {{cache: 'no-store'}})).json();
    document.getElementById('time-left').textContent = s.time_left_s;
    document.getElementById('requirements').innerHTML = s.requirements.map(r =>
      `<tr data-requirement="${{esc(r.id)}}"><td>${{esc(r.id)}}</td><td>${{esc(r.title)}}</td>` +
      `<td class="state" data-state="${{esc(r.state)}}">${{esc(r.state)}}</td>` +
      `<td class="message">${{esc(r.message)}}</td></tr>`).join('');
    document.getElementById('requests').innerHTML = s.requests.slice().reverse().map(q =>
      `<li>#${{q.seq}} ${{esc(q.method)}} ${{esc(q.target)}} &rarr; ${{q.status}}</li>`).join('');
    document.body.dataset.updatedBy = 'script';
  }} catch (e) {{ /* the grading ended: the last state stays */ }}
}}
update(); setInterval(update, 1000);
</script></body></html>
"""
