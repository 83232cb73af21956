"""Real targets on a real network, played on loopback: redirects, TLS trust, proxies, IPv6.

The redirect tests use two loopback addresses (Linux routes all of 127/8 to lo): the target
on 127.0.0.1 points elsewhere, a counting server on 127.0.0.2 must never hear a thing.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.outcomes import Outcome
from conformance.run.engine import execute
from conformance.run.fuzzing import wiring
from conformance.simulator import server as simulator
from conformance.target import Target
from conformance.transport import Route, Transport, TransportError, Trust, proxy_host, redirected_away
from tests.serving import reply

# (method, path) -> (status, headers, body), or None to pass the request on (see _front)
Rule = Callable[[str, str], tuple[int, dict[str, str], bytes] | None]


@dataclass(slots=True)
class Heard:
    """What a loopback server received: (method, path, body) each."""

    requests: list[tuple[str, str, bytes]] = field(default_factory=list)


def _handler(heard: Heard, rule: Rule, upstream: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as the simulator's: no 40 ms ACK wait between headers and body

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            heard.requests.append((self.command, self.path, body))
            answer = rule(self.command, self.path)
            if answer is None and upstream:
                answer = _pass_on(upstream, self.command, self.path, dict(self.headers.items()), body)
            status, headers, payload = answer or (404, {}, b"")
            reply(self, status, headers.items(), payload)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _pass_on(upstream: str, method: str, path: str, headers: dict[str, str],
             body: bytes) -> tuple[int, dict[str, str], bytes]:
    """The upstream's answer (the test's own plumbing: the kit's transport is under test)."""
    where = urlsplit(upstream)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        kept = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")}
        connection.request(method, path, body=body or None, headers=kept)
        answer = connection.getresponse()
        return answer.status, {k: v for k, v in answer.getheaders()
                               if k.lower() in ("content-type", "location", "retry-after")}, answer.read()
    finally:
        connection.close()


class _TlsServer(ThreadingHTTPServer):
    """Hands each accepted connection its TLS handshake in the connection's own thread, so
    a client that gives up on the certificate cannot stall the server."""

    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def get_request(self):
        connection, address = super().get_request()
        if self.tls is not None:
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def finish_request(self, request, client_address):
        if self.tls is not None:
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # the client refused the certificate: exactly what a test may want
        super().finish_request(request, client_address)


@contextmanager
def serving(host: str, rule: Rule, upstream: str | None = None,
            tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, Heard]]:
    """A loopback HTTP(S) server on ``host``: its root URL and what it heard."""
    heard = Heard()
    server_class = type("Server", (_TlsServer,), {
        "address_family": socket.AF_INET6 if ":" in host else socket.AF_INET, "tls": tls})
    server = server_class((host, 0), _handler(heard, rule, upstream))
    name = f"[{host}]" if ":" in host else host
    with _running(server) as port:
        yield f"{'https' if tls else 'http'}://{name}:{port}", heard


@contextmanager
def _running(server: ThreadingHTTPServer) -> Iterator[int]:
    """``server`` serving in a thread of its own while the block runs: its port."""
    # a stop is seen within 10 ms: at 50 ms, a test's two servers took it a tenth of a second to stop
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _never(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json; charset=utf-8"}, b"[]"


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, Heard]]:
    """The other origin: a server on 127.0.0.2 that counts what reaches it."""
    with serving("127.0.0.2", _never) as there:
        yield there


def _redirecting_everything(to: str, status: int = 307) -> Rule:
    def rule(_method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        return status, {"Location": to + path}, b""
    return rule


# -- the transport ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_get_redirected_to_another_origin_is_not_followed(elsewhere, status):
    there, heard_there = elsewhere
    with serving("127.0.0.1", _redirecting_everything(there, status)) as (here, heard_here):
        transport = Transport(here + "/open311/v2", "k3y")
        answer = transport.get("services.json")
    assert answer.status == status
    assert heard_there.requests == []
    assert len(heard_here.requests) == 1 and transport.requests_sent == 1
    assert redirected_away(answer.exchange, transport.base_url) == f"{there}/open311/v2/services.json"


def test_a_post_redirected_to_another_origin_is_not_resent(elsewhere):
    there, heard_there = elsewhere
    with serving("127.0.0.1", _redirecting_everything(there)) as (here, _heard):
        transport = Transport(here + "/open311/v2", "k3y")
        answer = transport.post("requests.json", {"service_code": "x", "api_key": "k3y"})
    assert answer.status == 307 and heard_there.requests == []


def test_a_post_redirected_within_the_origin_is_not_resent():
    def rule(method, path):
        if path.startswith("/old/"):
            return 307, {"Location": path.replace("/old/", "/new/")}, b""
        return 201, {}, b"[]"

    with serving("127.0.0.1", rule) as (here, heard):
        transport = Transport(here + "/old", "k3y")
        answer = transport.post("requests.json", {"service_code": "x"})
    assert answer.status == 307
    assert [(m, p) for m, p, _ in heard.requests] == [("POST", "/old/requests.json")]


def test_a_get_follows_within_the_origin_each_hop_its_own_exchange():
    def rule(_method, path):
        if path.startswith("/old/"):
            return 301, {"Location": path.replace("/old/", "/new/")}, b""
        return 200, {"Content-Type": "application/json; charset=utf-8"}, b"[]"

    with serving("127.0.0.1", rule) as (here, heard):
        transport = Transport(here + "/old", "k3y", min_interval=0.05)
        answer = transport.get("services.json", {"api_key": "k3y"})
    assert answer.status == 200 and answer.body == b"[]"
    assert [e.status for e in transport.exchanges] == [301, 200]
    hop = transport.exchanges[1]
    assert hop.label and "redirect 1" in hop.label and "k3y" not in hop.url
    # paced like any other request: the hop waited its interval
    assert hop.started - transport.exchanges[0].started >= 0.04
    assert [p for _m, p, _b in heard.requests] == ["/old/services.json?api_key=k3y", "/new/services.json?api_key=k3y"]


def test_a_redirect_loop_within_the_origin_ends_and_counts_against_the_budget():
    with serving("127.0.0.1", lambda _m, path: (302, {"Location": path}, b"")) as (here, heard):
        transport = Transport(here + "/v2", max_requests=3)
        with pytest.raises(Exception, match="budget"):
            transport.get("services.json")
    assert len(heard.requests) == 3


def test_the_fuzzing_session_follows_nothing(elsewhere):
    there, heard_there = elsewhere
    with serving("127.0.0.1", _redirecting_everything(there)) as (here, heard_here):
        transport = Transport(here + "/open311/v2", "k3y")
        session = wiring.session_for(wiring.TransportAdapter(transport, "fuzzing"))
        # requests' default is to follow (schemathesis calls it so): the session must not
        answer = session.post(here + "/open311/v2/requests.json", data="service_code=x")
        answer_get = session.get(here + "/open311/v2/services.json")
    assert (answer.status_code, answer_get.status_code) == (307, 307)
    assert heard_there.requests == [] and len(heard_here.requests) == 2


def test_check_apps_proxy_follows_nothing_to_another_origin(elsewhere):
    from conformance.appcheck.proxy import ProxyServer

    there, heard_there = elsewhere
    with serving("127.0.0.1", _redirecting_everything(there)) as (here, heard_here):
        proxy = ProxyServer(here + "/open311/v2", "k3y")
        try:
            posted = proxy.forward("POST", "/open311/v2/requests.json", {}, b"service_code=x&api_key=k3y")
            got = proxy.forward("GET", "/open311/v2/services.json", {}, b"")
        finally:
            proxy.stop()
    assert (posted[0], got[0]) == (307, 307)
    assert heard_there.requests == [] and len(heard_here.requests) == 2


# -- a whole run --------------------------------------------------------------------------------
@pytest.mark.integration
def test_a_run_sends_nothing_to_the_other_origin(elsewhere, tmp_path):
    """The simulator behind a front on 127.0.0.1 that redirects every POST (the write flow's,
    the fuzzing's, the key checks') and discovery (a check's GET) to 127.0.0.2."""
    there, heard_there = elsewhere

    def rule(method, path):
        if method == "POST" or "/discovery." in path:
            return 307 if method == "POST" else 302, {"Location": there + path}, b""
        return None

    with simulator.start(delay=0.05) as sim, serving("127.0.0.1", rule, upstream=sim.root_url) as (front, heard):
        target = Target(base_url=front + "/open311/v2", api_key=sim.api_key, timeout=3.0, poll_timeout=3.0)
        result = execute(target, report_dir=tmp_path / "report", quiet=True)
    assert heard_there.requests == []
    posts = [m for m, _p, _b in heard.requests if m == "POST"]
    assert posts, "the run sent no POST: the test proves nothing"
    exchanges = result.record.exchanges
    fuzz_posts = [e for e in exchanges if e.method == "POST" and (e.label or "").startswith("openapi:")]
    assert fuzz_posts and all(e.status == 307 for e in fuzz_posts)
    away = next(r for r in result.results if r.id == "test_transport_health.py::test_no_redirect_away")
    assert away.outcome is Outcome.WARNING
    assert "127.0.0.2" in away.message and front in away.message
    har = (tmp_path / "report" / "evidence.har").read_text(encoding="utf-8")
    assert there + "/open311/discovery.json" in har  # the hop not taken, in the evidence


# -- a base URL that redirects ------------------------------------------------------------------
@pytest.mark.parametrize("elsewhere_too", [False, True], ids=["moved path", "another origin"])
def test_a_base_url_that_redirects_stops_the_run_before_any_write(elsewhere, tmp_path, capsys, elsewhere_too):
    from conformance.cli import main as cli

    there, heard_there = elsewhere

    def rule(method, path):
        if path.startswith("/old/"):
            moved = path.replace("/old/", "/open311/v2/", 1)
            return 301, {"Location": (there if elsewhere_too else "") + moved}, b""
        return 200, {"Content-Type": "application/json; charset=utf-8"}, b"[]"

    with serving("127.0.0.1", rule) as (here, heard):
        code = cli(["run", "--base-url", here + "/old", "--api-key", "k3y", "-q",
                    "--report-dir", str(tmp_path / "report")])
    out = capsys.readouterr().out
    expected = (there if elsewhere_too else here) + "/open311/v2"
    assert code == 2
    assert f"the base URL redirects to {expected}: use that" in out
    assert all(m == "GET" for m, _p, _b in heard.requests)  # nothing written anywhere
    assert len([p for _m, p, _b in heard.requests if p.startswith("/old/")]) == 1
    assert heard_there.requests == []
    summary = (tmp_path / "report" / "summary.json").read_text(encoding="utf-8")
    assert f"the base URL redirects to {expected}: use that" in summary
    assert "k3y" not in summary


# -- TLS trust ----------------------------------------------------------------------------------
trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the test CA")


@pytest.fixture(scope="module")
def private_ca():
    return trustme.CA(organization_name="open311-conformance test CA")


def _tls(ca, *identities: str, **validity) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*identities, **validity).configure_cert(context)
    return context


@pytest.fixture
def ca_file(private_ca, tmp_path):
    path = tmp_path / "private-ca.pem"
    private_ca.cert_pem.write_to_path(str(path))
    return str(path)


def _ok(_method, _path):
    return 200, {"Content-Type": "application/json; charset=utf-8"}, b"[]"


@pytest.mark.parametrize(("identities", "validity", "cause", "flag"), [
    (("127.0.0.1",), {}, "unknown certificate authority", "--ca-bundle FILE"),
    (("127.0.0.1",), {"not_before": dt.datetime(2020, 1, 1), "not_after": dt.datetime(2020, 2, 1)},
     "has expired", "--insecure"),
    (("open311.example.test",), {}, "another host name", "host name the certificate names"),
], ids=["unknown CA", "expired", "wrong host"])
def test_a_certificate_problem_names_its_cause_and_the_flag(private_ca, ca_file, identities, validity, cause, flag):
    trusted = ca_file if cause != "unknown certificate authority" else None
    with serving("127.0.0.1", _ok, tls=_tls(private_ca, *identities, **validity)) as (here, heard):
        transport = Transport(here + "/v2", trust=Trust(ca_bundle=trusted))
        with pytest.raises(TransportError) as caught:
            transport.get("services.json")
    assert caught.value.never_connected and heard.requests == []
    assert "TLS failure: the certificate " in str(caught.value)
    assert cause in str(caught.value) and flag in str(caught.value)


def test_a_private_ca_is_added_to_the_default_trust_not_instead(private_ca, ca_file):
    import certifi

    with serving("127.0.0.1", _ok, tls=_tls(private_ca, "127.0.0.1")) as (here, _heard):
        transport = Transport(here + "/v2", trust=Trust(ca_bundle=ca_file))
        assert transport.get("services.json").status == 200
        bundle = Path(transport._session.verify)
        combined = bundle.read_text(encoding="utf-8")
        transport.close()
    # the public authorities are still there: a private CA must not make public hosts fail
    assert Path(certifi.where()).read_text(encoding="utf-8") in combined
    assert not bundle.exists()  # the combined file lives as long as its transport


def test_insecure_skips_verification(private_ca):
    with serving("127.0.0.1", _ok, tls=_tls(private_ca, "open311.example.test")) as (here, _heard):
        transport = Transport(here + "/v2", trust=Trust(verify=False))
        assert transport.get("services.json").status == 200


@pytest.mark.parametrize(("value", "message"), [
    ("/no/such/file.pem", "No such file"),
    (__file__, "no PEM certificate"),
])
def test_a_bad_ca_bundle_is_one_line(value, message, capsys):
    from conformance.cli import main as cli

    assert cli(["run", "--base-url", "https://127.0.0.1:9/v2", "--ca-bundle", value]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_ca_bundle_and_insecure_together_are_refused(ca_file, capsys):
    from conformance.cli import main as cli

    assert cli(["run", "--base-url", "https://127.0.0.1:9/v2", "--ca-bundle", ca_file, "--insecure"]) == 2
    assert "contradict" in capsys.readouterr().err


@pytest.fixture
def https_simulator(private_ca):
    """The embedded simulator behind a TLS front with a certificate of the private CA."""
    with simulator.start(delay=0.05) as sim, \
            serving("127.0.0.1", lambda _m, _p: None, upstream=sim.root_url,
                    tls=_tls(private_ca, "127.0.0.1")) as (front, heard):
        yield front + "/open311/v2", sim.api_key, heard


def _run(tmp_path, base_url, key, *flags):
    from conformance.cli import main as cli

    report = tmp_path / "report"
    code = cli(["run", "-q", "--base-url", base_url, "--api-key", key, "--timeout", "5", "--poll-timeout", "5",
                "--fuzz-examples", "2", "--report-dir", str(report), *flags])
    return code, json.loads((report / "summary.json").read_text(encoding="utf-8")), report


@pytest.mark.integration
def test_https_target_of_a_private_ca_fails_without_the_bundle_and_passes_with_it(https_simulator, ca_file,
                                                                                  tmp_path, capsys):
    base_url, key, heard = https_simulator
    code, summary, _ = _run(tmp_path / "without", base_url, key)
    out = capsys.readouterr().out
    assert (code, summary["verdict"]) == (3, "inconclusive")
    assert "unknown certificate authority" in out and "--ca-bundle" in out
    assert summary["cut_short"]["reason"] == "unreachable" and heard.requests == []

    code, summary, _ = _run(tmp_path / "with", base_url, key, "--ca-bundle", ca_file)
    assert (code, summary["verdict"]) == (0, "pass"), [c["message"] for c in summary["checks"]
                                                       if c["outcome"] == "failed"]
    assert summary["tls_verified"] is True and summary["target"]["ca_bundle"] == ca_file
    assert any(m == "POST" for m, _p, _b in heard.requests)


@pytest.mark.integration
def test_insecure_is_marked_loudly(https_simulator, tmp_path):
    base_url, key, _heard = https_simulator
    code, summary, report = _run(tmp_path, base_url, key, "--insecure")
    assert summary["verdict"] == "pass" and summary["tls_verified"] is False
    assert not summary["pre_approval"]["complete"]
    assert any("--insecure" in reason for reason in summary["pre_approval"]["reasons"])
    html = (report / "report.html").read_text(encoding="utf-8")
    assert 'id="tls-unverified"' in html and html.index("tls-unverified") < html.index('id="verdict"')


def test_check_apps_proxy_trusts_a_private_ca_only_with_the_bundle(https_simulator, ca_file):
    from conformance.appcheck.proxy import ProxyServer

    base_url, key, _heard = https_simulator
    said = {}
    for name, trust in (("default", Trust()), ("bundle", Trust(ca_file))):
        proxy = ProxyServer(base_url, key, trust=trust)
        try:
            status, _headers, body, _note = proxy.forward("GET", "/open311/v2/services.json", {}, b"")
        finally:
            proxy.stop()
        said[name] = (status, body)
    assert said["default"][0] == 502 and b"certificate" in said["default"][1]
    assert said["bundle"][0] == 200 and said["bundle"][1].startswith(b"[")


@pytest.mark.integration
def test_check_app_through_insecure_tls_is_marked(https_simulator, tmp_path, capsys, monkeypatch):
    from conformance.cli import main as cli

    base_url, key, _heard = https_simulator
    monkeypatch.setenv("OPEN311_API_KEY", key)
    app = Path(__file__).resolve().parent / "apps" / "reference_app.py"
    code = cli(["check-app", "--proxy", base_url, "--insecure", "--wait", "60", "--report-dir",
                str(tmp_path / "r"), "--", sys.executable, str(app)])
    capsys.readouterr()
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    # a plain simulator upstream lists no rows without an id and asks no Retry-After: those
    # stay not shown, so the verdict is inconclusive; what is asked here is the TLS mark
    assert code == 3 and summary["verdict"] == "inconclusive", summary["checks"]
    assert all(c["outcome"] != "failed" for c in summary["checks"])
    assert summary["tls_verified"] is False and not summary["pre_approval"]["complete"]
    assert any("--insecure" in reason for reason in summary["pre_approval"]["reasons"])


# -- a named proxy ------------------------------------------------------------------------------
@contextmanager
def forward_proxy() -> Iterator[tuple[str, Heard]]:
    """A plain HTTP forward proxy on loopback (absolute-URI requests) that counts what it carries."""
    def rule(_method, _path):
        return None

    heard = Heard()

    class Handler(_handler(heard, rule, None)):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            heard.requests.append((self.command, self.path, body))
            where = urlsplit(self.path)  # a proxy is asked with the whole URL
            path = where.path + (f"?{where.query}" if where.query else "")
            status, headers, payload = _pass_on(f"http://{where.netloc}", self.command, path,
                                                dict(self.headers.items()), body)
            reply(self, status, headers.items(), payload)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with _running(server) as port:
        yield f"http://127.0.0.1:{port}", heard


def test_the_transport_goes_through_the_named_proxy_and_ignores_the_environments(monkeypatch):
    with forward_proxy() as (proxy, carried), serving("127.0.0.1", _ok) as (here, heard):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert Transport(here + "/v2").get("services.json").status == 200
        assert carried.requests == [] and len(heard.requests) == 1  # the environment is ignored
        named = Transport(here + "/v2", route=Route(proxy=proxy))
        assert named.get("services.json").status == 200
        assert [p for _m, p, _b in carried.requests] == [here + "/v2/services.json"]
        from_env = Transport(here + "/v2", route=Route(from_env=True))
        assert from_env.get("services.json").status == 200 and len(carried.requests) == 2
    assert proxy_host("http://user:secret@proxy.example.test:3128") == "proxy.example.test:3128"


def test_a_bad_proxy_is_one_line_and_hides_its_password(capsys):
    from conformance.cli import main as cli

    assert cli(["run", "--base-url", "http://127.0.0.1:9/v2", "--http-proxy", "ftp://u:s3cret@proxy:21"]) == 2
    err = capsys.readouterr().err
    assert "not an http(s) URL" in err and "s3cret" not in err


@pytest.mark.integration
@pytest.mark.parametrize("through", [True, False], ids=["--http-proxy", "no flag"])
def test_a_run_goes_through_the_proxy_only_with_the_flag(through, tmp_path, capsys, monkeypatch):
    with simulator.start(delay=0.05) as sim, forward_proxy() as (proxy, carried):
        monkeypatch.setenv("HTTP_PROXY", proxy)  # ignored without --proxy-from-env
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        flags = ["--http-proxy", proxy.replace("http://", "http://user:pw0rd@")] if through else []
        code, summary, report = _run(tmp_path, sim.base_url, sim.api_key, *flags)
    out = capsys.readouterr().out
    assert code == 0, out
    if through:
        assert len(carried.requests) == summary["requests_sent"]
        assert summary["proxy"] == {"host": urlsplit(proxy).netloc, "saw_key": True}
        assert "the proxy" in out and "sees every request, the API key included" in out
        bundle = " ".join(p.read_text(encoding="utf-8", errors="replace") for p in report.iterdir())
        assert "pw0rd" not in bundle and sim.api_key not in bundle
        assert urlsplit(proxy).netloc in (report / "report.html").read_text(encoding="utf-8")
    else:
        assert carried.requests == [] and summary["proxy"] is None


# -- IPv6 ---------------------------------------------------------------------------------------
def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


@ipv6
def test_check_apps_proxy_forwards_to_an_ipv6_upstream():
    from conformance.appcheck.proxy import ProxyServer

    with simulator.start(delay=0.05, host="::1") as sim:
        assert sim.base_url.startswith("http://[::1]:")
        proxy = ProxyServer(sim.base_url, sim.api_key)
        try:
            status, _headers, body, _note = proxy.forward("GET", "/open311/v2/services.json", {}, b"")
        finally:
            proxy.stop()
    assert status == 200 and body.startswith(b"[")


@ipv6
@pytest.mark.integration
def test_serve_on_ipv6_and_run_against_it(tmp_path):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--host", "::1", "--port", "0",
                                "--delay", "0.1"], cwd=root, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        base_line, key_line = process.stdout.readline(), process.stdout.readline()
        assert base_line.startswith("Base URL: http://[::1]:"), base_line
        base_url, key = base_line.split(": ", 1)[1].strip(), key_line.split(": ", 1)[1].strip()
        code, summary, _report = _run(tmp_path, base_url, key)
        assert (code, summary["verdict"]) == (0, "pass")
        assert summary["target"]["base_url"] == base_url and summary["target"]["kind"] == "loopback"
    finally:
        process.terminate()
        process.wait(timeout=10)


@ipv6
@pytest.mark.integration
def test_a_sweep_of_an_ipv6_target(tmp_path):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    with simulator.start(delay=0.1, host="::1") as sim:
        targets = tmp_path / "targets.yaml"
        targets.write_text(f'targets:\n  - name: six\n    base_url: "{sim.base_url}"\n'
                           "    api_key_env: SWEEP_IPV6_KEY\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_")}
        env.update(PYTHONPATH=str(root), SWEEP_IPV6_KEY=sim.api_key)
        done = subprocess.run([sys.executable, "-m", "conformance.cli", "sweep", str(targets), "--report-dir",
                               str(tmp_path / "sweep"), "--fuzz-examples", "0", "--poll-timeout", "10",
                               "--timeout", "5"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    from conformance.sweep import rows

    assert done.returncode == 0, done.stdout + done.stderr
    swept = json.loads((tmp_path / "sweep" / rows.SWEEP).read_text(encoding="utf-8"))
    assert [(row["name"], row["verdict"]) for row in swept["targets"]] == [("six", "pass")]
