"""A small Open311 client, written the way the City asks, to be graded by ``check-app``.

    OPEN311_BASE_URL=... OPEN311_API_KEY=... python reference_app.py [--formats json,xml] [--flaw NAME] [--out DIR]

It reads the service list and a definition, lists requests (ignoring rows without an id),
posts a request with every required attribute, polls its token a second apart (honouring
Retry-After) until the id arrives, and reads the request back by id, in each format asked;
with ``--out DIR`` it keeps the rows it listed (those with an id) in DIR/rows.csv.
Exit 0 when every flow worked. ``--flaw NAME`` makes it misbehave in one way (see FLAWS), the
kit's tests' catalogue of flawed applications. It uses only ``requests`` and the standard
library, like any third-party app would; it knows nothing of the kit.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

import requests

FLAWS = {
    "hammer": "polls the token every 50 ms, ignoring Retry-After",
    "keep-polling": "keeps polling the token after the id arrived",
    "phantom": "fetches listed rows by their missing id (requests/None)",
    "no-key": "posts without the API key",
    "no-readback": "never reads the written request back",
    "omit-attribute": "leaves out the required attributes",
    "page-1000": "lists requests with page_size=1000",
    "key-on-get": "sends the API key on every GET too",
    "naive-dates": "sends updated_after without a time zone",
    "json-only": "uses JSON whatever formats it is asked for",
    "give-up": "stops polling at the first error answer",
    "exit-1": "does everything right, then exits with status 1",
    "no-definition": "posts without reading the service definition (attributes hard-coded)",
    "print-pending": "prints every listed row, those without an id too",
    "save-pending": "writes every listed row, those without an id too, to rows.csv under --out",
    "print-key": "prints the form it posts, API key included, as its error text",
    "read-only": "lists requests and reads one by id, never writes (graded with --read-only)",
    "no-post": "reads the services and lists, then exits 0 without ever posting",
    "crash-at-start": "crashes before its first request (a traceback on stderr, exit 1)",
    "ignore-retry-after": "polls the token once a second whatever Retry-After says",
    "local-z": "also lists what was updated before 'now', its local wall-clock time labelled Z",
    "wrong-path": "first asks for the definition at service/{code}.json (singular)",
    "impatient": "gives up on a token after 10 s (five polls, 2 s apart) and posts the same report again",
    "post-twice": "posts the same report a second time once the first has its id",
}
PREFERRED_SERVICE = "Graffiti Removal"
MAX_POLLS = 60
LISTS = {"services", "service_requests", "attributes", "values", "errors"}


def log(text: str) -> None:
    print(text, flush=True)


def from_xml(body: bytes) -> Any:
    def convert(element: ET.Element) -> Any:
        children = list(element)
        if element.tag in LISTS:
            return [convert(child) for child in children]
        if not children:
            return (element.text or "").strip()
        return {child.tag: convert(child) for child in children}

    return convert(ET.fromstring(body))


class App:
    def __init__(self, base_url: str, api_key: str, jurisdiction: str, flaw: str | None,
                 out: str | None = None) -> None:
        self.out = out
        self.base = base_url.rstrip("/")
        self.key = api_key
        self.jurisdiction = jurisdiction
        self.flaw = flaw
        self.http = requests.Session()
        self.http.trust_env = False

    def get(self, path: str, fmt: str, params: dict[str, Any] | None = None) -> requests.Response:
        params = dict(params or {})
        if self.flaw == "key-on-get":
            params["api_key"] = self.key
        return self.http.get(f"{self.base}/{path}.{fmt}", params=params, timeout=30)

    def decode(self, response: requests.Response, fmt: str) -> Any:
        return from_xml(response.content) if fmt == "xml" else response.json()

    # -- the flow --------------------------------------------------------------------------------
    def flow(self, fmt: str) -> bool:
        if self.flaw == "crash-at-start":
            raise RuntimeError("cannot build the request body: no service chosen")
        services = self.decode(self.get("services", fmt), fmt)
        service = next((s for s in services if s.get("service_name") == PREFERRED_SERVICE), services[0])
        code = service["service_code"]
        attributes = {"WHATTYP1": "BRICK"}
        if self.flaw == "wrong-path":
            self.get(f"service/{code}", fmt)
        if self.flaw != "no-definition" and str(service.get("metadata")).lower() == "true":
            definition = self.decode(self.get(f"services/{code}", fmt), fmt)
            attributes = answers(definition)
        log(f"[{fmt}] service {service.get('service_name')}: {len(attributes)} required attribute(s)")
        listed = self.list_requests(fmt)
        if self.flaw == "read-only":
            back = self.get(f"requests/{listed[0]}", fmt) if listed else None
            return back is not None and back.status_code == 200
        if self.flaw == "no-post":
            return True
        form: dict[str, Any] = {"service_code": code, "lat": "41.883811", "long": "-87.631749",
                                "description": "Graffiti on the garage door (reference app)",
                                "jurisdiction_id": self.jurisdiction}
        if self.flaw != "omit-attribute":
            form.update({f"attribute[{k}]": v for k, v in attributes.items()})
        if self.flaw != "no-key":
            form["api_key"] = self.key
        if self.flaw == "print-key":
            log(f"[{fmt}] error text kept for the administrators: posting {form}")
        token = self.post(form, fmt)
        if token is None:
            return False
        sr_id = self.poll(token, fmt)
        if sr_id is None and self.flaw == "impatient":
            log(f"[{fmt}] token {token} took too long: posting the report again")
            self.flaw = None
            token = self.post(form, fmt)
            sr_id = self.poll(token, fmt) if token else None
        if sr_id is None:
            return False
        if self.flaw == "post-twice":  # the whole write again, faithfully: the report twice at the City
            self.read_back(sr_id, fmt)
            token = self.post(form, fmt)
            sr_id = (self.poll(token, fmt) if token else None) or sr_id
        log(f"[{fmt}] token resolved to {sr_id}")
        if self.flaw == "no-readback":
            return True
        return self.read_back(sr_id, fmt)

    def read_back(self, sr_id: str, fmt: str) -> bool:
        back = self.get(f"requests/{sr_id}", fmt)
        rows = self.decode(back, fmt) if back.status_code == 200 else []
        ok = bool(rows) and rows[0].get("service_request_id") == sr_id
        log(f"[{fmt}] read back {sr_id}: {'ok' if ok else back.status_code}")
        return ok

    def post(self, form: dict[str, Any], fmt: str) -> str | None:
        answer = self.http.post(f"{self.base}/requests.{fmt}", data=form, timeout=30)
        if answer.status_code != 200:
            log(f"[{fmt}] POST refused: {answer.status_code} {answer.text[:200]}")
            return None
        token = self.decode(answer, fmt)[0]["token"]
        log(f"[{fmt}] POST accepted, token {token}")
        return token

    def list_requests(self, fmt: str) -> list[str]:
        """The ids of the rows listed (those that have one)."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        updated_after = since.strftime("%Y-%m-%dT%H:%M:%S") if self.flaw == "naive-dates" \
            else since.strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {"page_size": 1000 if self.flaw == "page-1000" else 100, "updated_after": updated_after}
        answer = self.get("requests", fmt, params)
        if answer.status_code != 200:
            log(f"[{fmt}] list refused: {answer.status_code} (carrying on)")
            return []
        rows = self.decode(answer, fmt)
        identified = [r for r in rows if r.get("service_request_id")]
        pending = [r for r in rows if not r.get("service_request_id")]
        log(f"[{fmt}] listed {len(identified)} requests, ignored {len(pending)} without an id")
        if self.flaw == "local-z":  # datetime.now() is the TZ's wall clock, not UTC
            self.get("requests", fmt, {"updated_before": dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
        shown = rows if self.flaw in ("print-pending", "save-pending") else identified
        if self.flaw == "print-pending":
            for row in shown:
                log(f"[{fmt}]   {row.get('service_request_id', '-')}: {row.get('description', '')} "
                    f"at {row.get('address', '')}")
        if self.out:
            os.makedirs(self.out, exist_ok=True)
            with open(os.path.join(self.out, "rows.csv"), "a", newline="", encoding="utf-8") as kept:
                writer = csv.writer(kept)
                for row in shown:
                    writer.writerow([row.get("service_request_id", ""), row.get("description", ""),
                                     row.get("address", "")])
        if self.flaw == "phantom":
            for row in pending[:2]:
                self.get(f"requests/{row.get('service_request_id')}", fmt)
        return [r["service_request_id"] for r in identified]

    def poll(self, token: str, fmt: str) -> str | None:
        pause = {"hammer": 0.05, "impatient": 2.0}.get(self.flaw or "", 1.0)
        found: str | None = None
        extra = 3 if self.flaw == "keep-polling" else 0
        for polled in range(MAX_POLLS * (20 if self.flaw == "hammer" else 1)):
            if self.flaw == "impatient" and polled == 5:
                return None
            answer = self.get(f"tokens/{token}", fmt)
            if answer.status_code in (429, 503):
                if self.flaw == "give-up":
                    log(f"[{fmt}] token poll answered {answer.status_code}: giving up")
                    return None
                retry = answer.headers.get("Retry-After", "")
                asked = float(retry) if retry.isdigit() else pause
                wait = pause if self.flaw in ("hammer", "ignore-retry-after") else max(pause, asked)
                time.sleep(wait)
                continue
            rows = self.decode(answer, fmt) if answer.status_code == 200 else []
            found = found or next((r["service_request_id"] for r in rows if r.get("service_request_id")), None)
            if found and extra == 0:
                return found
            if found:
                extra -= 1
            time.sleep(pause)
        log(f"[{fmt}] token {token} never resolved")
        return found


def answers(definition: dict[str, Any]) -> dict[str, str]:
    """A value for every required attribute: the first key of a list, else something typed."""
    out = {}
    for attribute in definition.get("attributes") or []:
        if str(attribute.get("required")).lower() != "true" or str(attribute.get("variable")).lower() == "false":
            continue
        datatype = attribute.get("datatype")
        if datatype in ("singlevaluelist", "multivaluelist"):
            out[attribute["code"]] = attribute["values"][0]["key"]
        elif datatype == "number":
            out[attribute["code"]] = "1"
        elif datatype == "datetime":
            out[attribute["code"]] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            out[attribute["code"]] = "reference app"
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--formats", default=os.environ.get("OPEN311_FORMATS", "json"))
    parser.add_argument("--flaw", choices=sorted(FLAWS))
    parser.add_argument("--out", help="keep the listed rows in this directory (rows.csv)")
    args = parser.parse_args()
    app = App(os.environ["OPEN311_BASE_URL"], os.environ.get("OPEN311_API_KEY", ""),
              os.environ.get("OPEN311_JURISDICTION_ID", "cityofchicago.org"), args.flaw, args.out)
    formats = ["json"] if args.flaw == "json-only" else [f for f in args.formats.split(",") if f]
    ok = all([app.flow(fmt) for fmt in formats])
    if args.flaw == "exit-1":
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
