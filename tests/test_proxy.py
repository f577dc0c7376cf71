"""The proxy in front of a real served mock (gunicorn, SQLite) and of raw upstreams on 127.0.0.1.

Realistic traffic of all six request types, approvals, failures, rejections and v1.1 goes
through the proxy: the answers are those of going direct, and no rule is broken. Raw
upstreams show the bytes themselves: headers pass unchanged (but the hop-by-hop ones),
bodies stream, an unreachable upstream is a 502 that names the proxy.
"""
from __future__ import annotations

import json
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

import pytest
import requests

from broken_servers import serve_app, workflow_app
from contracts.proxy.app import ProxyOptions
from contracts.proxy.testing import serve_in_thread
from mock_support import CONTRACT, TYPES, Client, auth, body_for, free_port, start_served, stop_served
from contracts.proxy.rules import RULES

TIMEOUT = 30
ADD_EXAMPLES = {name: example["value"] for name, example in
                CONTRACT.operations["addLegacyRequests"].raw["requestBody"]["content"]["application/json"]
                ["examples"].items()}
# A response header whose value is the time it was sent: the only thing allowed to differ from going direct.
TIMELY = {"date"}
HOP_BY_HOP = {"connection", "keep-alive"}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Any]:
    mock = start_served(tmp_path_factory.mktemp("proxied-mock"))
    try:
        yield mock
    finally:
        stop_served(mock)


@pytest.fixture
def proxy(served, tmp_path) -> Iterator[Any]:
    served.client().admin("POST", "reset")
    with serve_in_thread(ProxyOptions(upstream=served.base_url, port=0)) as running:
        yield running


def legacy(base_url: str, verb: str, items: list[dict[str, Any]], user: str, **query: Any) -> requests.Response:
    return requests.post(f"{base_url}/v1.1/request/{verb}", params={"format": "json", **query},
                         json={"root": {"request": items}}, headers=auth(user, org=None), timeout=TIMEOUT)


def realistic_traffic(base_url: str) -> None:
    """What an app and a QA suite send in a day: every type, both decisions, the refusals too."""
    client = Client(base_url)
    pending = {url_type: client.pending(url_type) for url_type in TYPES}
    for number, url_type in enumerate(TYPES):
        request_id = pending[url_type]["requestId"]
        client.get(request_id, "checker")
        assert client.decide(url_type, request_id, "approved", user="maker").status_code == 403
        verdict = "rejected" if number % 3 == 2 else "approved"
        outcome = {"X-Mock-Outcome": "failure"} if number % 3 == 1 else {}
        assert client.decide(url_type, request_id, verdict, headers=outcome).status_code == 200
        assert client.decide(url_type, request_id, "approved").status_code == 409
        assert client.get(request_id, "outsider", org="51251").status_code == 404
        client.get(request_id, "maker")
    assert client.create("RETRO-TRANSACTION", body_for("RETRO-TRANSACTION"), user="integration").status_code == 200
    for params in ({}, {"limit": 2, "PageNo": 1}, {"states": "approved,failed"}, {"requestType": "earn-badge"}):
        assert client.list("checker", **params).status_code == 200
    assert client.create("GOODWILL-POINTS", {"payload": {}}).status_code == 400
    assert client.get(pending["EARN-BADGE"]["requestId"], "viewer").status_code == 403
    # v1.1: add, approve, reject, the adder deciding their own, read back
    added = [legacy(base_url, "add", example["root"]["request"], "maker").json()["response"]["requests"]["request"][0]
             for example in ADD_EXAMPLES.values()]
    decision = [{"id": item["id"], "type": item["type"], "base_type": item["base_type"]} for item in added]
    legacy(base_url, "approve", decision[:1], "checker")
    legacy(base_url, "approve", decision[1:], "maker")
    legacy(base_url, "reject", decision[1:], "checker")
    legacy(base_url, "approve", decision[:1], "checker")
    requests.get(f"{base_url}/v1.1/request/get", params={"format": "json", "limit": 5},
                 headers=auth("checker", org=None), timeout=TIMEOUT)


def test_realistic_traffic_through_the_proxy_breaks_no_rule(proxy):
    realistic_traffic(proxy.base_url)
    live = requests.get(proxy.base_url + "/__proxy/violations", timeout=TIMEOUT).json()
    assert live["violations"] == [] and live["violationCount"] == 0, live["violations"]
    assert live["exchanges"] > 50 and live["tracked"]["requests"] > len(TYPES)


def test_every_rule_applies_to_realistic_traffic_and_none_is_broken(served, tmp_path):
    served.client().admin("POST", "reset")
    options = ProxyOptions(upstream=served.base_url, port=0, report=str(tmp_path / "r.json"),
                           junit_xml=str(tmp_path / "r.xml"))
    with serve_in_thread(options) as running:
        realistic_traffic(running.base_url)
    assert running.exit_code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["conformant"] is True and report["violationCount"] == 0
    checked = {r["rule"]: r["checked"] for r in report["rules"]}
    assert set(checked) == set(RULES)
    assert [rule for rule, count in checked.items() if count == 0] == []
    assert report["unmatched"] == 0
    junit = (tmp_path / "r.xml").read_text()
    assert junit.count("<testcase") == len(RULES) and "<failure" not in junit


def _comparable(answer: requests.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in answer.raw.headers.items() if k.lower() not in TIMELY | HOP_BY_HOP]
    return answer.status_code, headers, answer.content


def test_answers_are_those_of_going_direct(served, proxy):
    client = Client(served.base_url)
    request_id = client.pending("ISSUE-BADGE")["requestId"]
    calls = [
        ("GET", f"/api_gateway/v2/request-workflow/requests/{request_id}", auth("checker"), None),
        ("GET", "/api_gateway/v2/request-workflow/requests?limit=3&states=AdminTask", auth("maker"), None),
        ("GET", "/api_gateway/v2/request-workflow/requests/00000000-0000-1000-8000-000000000000", auth("maker"), None),
        ("GET", "/api_gateway/v2/request-workflow/requests", auth("maker", password="wrong"), None),
        ("POST", "/api_gateway/v2/request-workflow/GOODWILL-POINTS", auth("maker"), b'{"payload": 1}'),
        ("POST", "/api_gateway/v2/request-workflow/GOODWILL-POINTS", auth("maker"), b"\xff\x00 not json"),
        ("GET", "/v1.1/request/get?format=json&limit=2", auth("checker", org=None), None),
        ("GET", "/openapi.yaml", {}, None),
        ("GET", "/no/such/path", {}, None),
    ]
    for method, path, headers, body in calls:
        headers = {**headers, "Content-Type": "application/json"} if body is not None else headers
        direct = requests.request(method, served.base_url + path, headers=headers, data=body, timeout=TIMEOUT)
        proxied = requests.request(method, proxy.base_url + path, headers=headers, data=body, timeout=TIMEOUT)
        if path == "/openapi.yaml":  # `servers` names the URL it is served from: the upstream's both times
            assert direct.content == proxied.content
        assert _comparable(proxied) == _comparable(direct), (method, path)


# -- raw upstreams: the bytes themselves ------------------------------------------------------
class _RawUpstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def raw_upstream(answer: Any) -> _RawUpstream:
    """A TCP server on 127.0.0.1 that reads one request (head and Content-Length body) and writes
    `answer(head, body)`'s bytes; the head it received is kept in `.heads`."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            if b"expect: 100-continue" in head.lower():
                self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            while len(body) < length:
                chunk = self.request.recv(65536)
                if not chunk:
                    break
                body += chunk
            server.heads.append(head)
            for part in answer(head, body):
                self.request.sendall(part)

    server = _RawUpstream(("127.0.0.1", 0), Handler)
    server.heads = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def raw_exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes to 127.0.0.1:port and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def proxied_raw(answer: Any, request: bytes, **options: Any) -> tuple[bytes, list[bytes], Any]:
    upstream = raw_upstream(answer)
    try:
        url = f"http://127.0.0.1:{upstream.server_address[1]}"
        with serve_in_thread(ProxyOptions(upstream=url, port=0, **options)) as running:
            got = raw_exchange(int(running.base_url.rsplit(":", 1)[1]), request)
    finally:
        upstream.shutdown()
        upstream.server_close()
    return got, upstream.heads, running


FIXED = (b"HTTP/1.1 200 OK\r\nX-Odd-CASE: One\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: close, X-Hop\r\n"
         b"X-Hop: gone\r\nKeep-Alive: timeout=5\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")


def test_request_headers_reach_the_upstream_unchanged_but_the_hop_by_hop_ones():
    request = (b"GET /some/where?x=%00%1b HTTP/1.1\r\nHost: the-proxy\r\nX-Lower-case: a\r\nX-Repeat: 1\r\n"
               b"X-Repeat: 2\r\nAuthorization: Basic c2VjcmV0OnNlY3JldA==\r\nConnection: close, X-Drop-Me\r\n"
               b"X-Drop-Me: 1\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\n\r\n")
    got, heads, _ = proxied_raw(lambda head, body: [FIXED], request)
    lines = heads[0].split(b"\r\n")
    assert lines[0] == b"GET /some/where?x=%00%1b HTTP/1.1"
    port = lines[1].split(b":")[-1]
    assert lines[1:] == [b"Host: 127.0.0.1:" + port, b"X-Lower-case: a", b"X-Repeat: 1", b"X-Repeat: 2",
                         b"Authorization: Basic c2VjcmV0OnNlY3JldA=="]


def test_answer_headers_reach_the_client_unchanged_but_the_hop_by_hop_ones():
    got, _, _ = proxied_raw(lambda head, body: [FIXED], b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert [line for line in lines[1:] if not line.lower().startswith(b"connection:")] == [
        b"X-Odd-CASE: One", b"Set-Cookie: a=1", b"Set-Cookie: b=2", b"Content-Type: text/plain", b"Content-Length: 5"]
    assert body == b"hello"


def test_large_and_chunked_bodies_stream_through_whole():
    big = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB, past what the checks keep

    def answer(head: bytes, body: bytes) -> list[bytes]:
        chunks = [body[i:i + 70000] for i in range(0, len(body), 70000)]
        return ([b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"]
                + [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks] + [b"0\r\n\r\n"])

    request = (b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n"
               b"Content-Length: %d\r\n\r\n" % len(big)) + big
    got, _, _ = proxied_raw(answer, request)
    interim, _, rest = got.partition(b"\r\n\r\n")
    assert interim == b"HTTP/1.1 100 Continue"
    head, _, chunked = rest.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 Created") and b"transfer-encoding: chunked" in head.lower()
    body, rest = b"", chunked
    while True:
        size, _, rest = rest.partition(b"\r\n")
        if int(size, 16) == 0:
            break
        body, rest = body + rest[:int(size, 16)], rest[int(size, 16) + 2:]
    assert body == big


def test_an_unreachable_upstream_is_a_502_naming_the_proxy():
    url = f"http://127.0.0.1:{free_port()}"
    with serve_in_thread(ProxyOptions(upstream=url, port=0)) as running:
        answer = requests.get(running.base_url + "/api_gateway/v2/request-workflow/requests", timeout=TIMEOUT)
    assert answer.status_code == 502
    assert answer.json()["proxy"] == "contracts proxy" and "ConnectionRefusedError" in answer.json()["error"]
    assert running.exit_code == 0  # no exchange was judged


def test_console_lines_and_reports_escape_control_characters(tmp_path, capsys):
    """An answer quoting control characters and a bidi override: the line, JSON and JUnit stay clean."""
    document = json.dumps({"data": "\x1b[31m\x00\u202e"}).encode()
    answer = [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close"
              b"\r\n\r\n%s" % (len(document), document)]
    request = (b"GET /api_gateway/v2/request-workflow/requests/%1b%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               b"X-CAP-UI-AUTH-TOKEN: t0ken-s3cret\r\n\r\n")
    got, _, running = proxied_raw(lambda head, body: answer, request, report=str(tmp_path / "r.json"),
                                  junit_xml=str(tmp_path / "r.xml"))
    assert got.endswith(document)
    assert running.exit_code == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("VIOLATION response_schema:"))
    assert "\\x1b[31m\\x00\\u202e" in line
    for text in (out, (tmp_path / "r.json").read_text(), (tmp_path / "r.xml").read_text()):
        assert not any(ord(ch) < 0x20 and ch not in "\n" for ch in text)
        assert "\u202e" not in text and "t0ken-s3cret" not in text
    ElementTree.parse(tmp_path / "r.xml")


def test_with_errors_a_violating_answer_becomes_a_502_naming_the_violation():
    with serve_app(workflow_app("wrong_message")) as upstream:
        with serve_in_thread(ProxyOptions(upstream=upstream, port=0, errors=True)) as running:
            client = Client(running.base_url)
            created = client.create("GOODWILL-POINTS", body_for("GOODWILL-POINTS"))
            refused = client.decide("GOODWILL-POINTS", created.json()["data"]["requestId"], user="maker")
    assert created.status_code == 200 and created.json()["data"]["state"] == "AdminTask"
    assert refused.status_code == 502
    named = {v["rule"] for v in refused.json()["violations"]}
    assert "error_catalogue" in named and refused.json()["upstreamStatus"] == 403
    assert running.exit_code == 1


# -- the command: signals, exit codes, reports ----------------------------------------------------
def _command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("contracts")
    return [str(script) if script.exists() else sys.executable, *([] if script.exists() else ["-m", "contracts.cli"]),
            "proxy", *args]


def _wait_listening(port: int, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the proxy did not listen")


@pytest.mark.parametrize("fault,sig,expected", [(None, signal.SIGTERM, 0), ("second_approval", signal.SIGINT, 1)])
def test_the_command_writes_its_reports_when_stopped_and_exits_by_what_it_saw(fault, sig, expected, tmp_path):
    report, junit, port = tmp_path / "proxy.json", tmp_path / "proxy.xml", free_port()
    with serve_app(workflow_app(fault)) as upstream:
        process = subprocess.Popen(_command("--upstream", upstream, "--port", str(port), "--report", str(report),
                                            "--junit-xml", str(junit)),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_listening(port, process)
            client = Client(f"http://127.0.0.1:{port}")
            request_id = client.create("GOODWILL-POINTS", body_for("GOODWILL-POINTS")).json()["data"]["requestId"]
            client.decide("GOODWILL-POINTS", request_id, "approved")
            client.decide("GOODWILL-POINTS", request_id, "rejected")
        finally:
            process.send_signal(sig)
            out, err = process.communicate(timeout=60)
    assert process.returncode == expected, err
    written = json.loads(report.read_text())
    assert written["conformant"] is (expected == 0)
    assert junit.read_text().count("<testcase") == len(RULES)
    if expected:
        assert out.startswith("VIOLATION decided_once:") and "1 VIOLATION(S): decided_once (1)" in err
    else:
        assert out == "" and "CONFORMANT" in err


def test_the_command_refuses_unusable_arguments_with_exit_2(tmp_path):
    for args in (["--upstream", "ftp://x"], ["--upstream", "http://127.0.0.1:1", "--report", str(tmp_path / "no" / "r.json")]):
        done = subprocess.run(_command(*args), capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "contracts proxy:" in done.stderr
