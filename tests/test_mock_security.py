"""The mock on a shared host: the admin API only for its own origin (and token), no secret kept or
shown in clear, no subscription to its own admin API, and `--chain` only to allowed hosts."""
from __future__ import annotations

import json
import subprocess
from typing import Any, Iterator

import pytest
import requests

from mock_support import BASE, Client, assert_admin_error, auth, body_for, call_of, mockserver_command
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread
from threaded_servers import QuietHandler, serving_handler

EVIL = "http://evil.example"


@pytest.fixture
def client(live_mock) -> Client:
    return Client(live_mock.base_url)


# -- 15: the admin API and the browser -----------------------------------------------------------
def test_admin_api_has_no_cors_and_refuses_other_origins(client: Client) -> None:
    pending = client.pending("EARN-BADGE")
    # A page on another origin posting a "simple" request (no preflight) must not wipe the mock.
    wiped = client.session.post(f"{client.base_url}/__admin/reset", data=b"x", timeout=30,
                                headers={"Origin": EVIL, "Content-Type": "text/plain"})
    assert_admin_error(wiped, 403)
    assert "Access-Control-Allow-Origin" not in wiped.headers
    assert client.get(pending["requestId"]).status_code == 200
    for method, path in [("GET", "journal"), ("GET", "events"), ("GET", "subscriptions"), ("OPTIONS", "reset")]:
        answer = client.session.request(method, f"{client.base_url}/__admin/{path}", timeout=30,
                                        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert "Access-Control-Allow-Origin" not in answer.headers
    same_site = client.session.get(f"{client.base_url}/__admin/journal", timeout=30,
                                   headers={"Sec-Fetch-Site": "same-site"})  # localhost:3000 -> localhost:4010
    assert same_site.status_code == 403
    own = client.session.get(f"{client.base_url}/__admin/journal", timeout=30,
                             headers={"Origin": client.base_url, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200  # the browser inbox, served by the mock itself
    assert client.session.get(f"{client.base_url}/__admin/journal", timeout=30).status_code == 200  # no browser


def test_capillary_api_reflects_the_origin_with_credentials(client: Client) -> None:
    origin = "http://localhost:3000"
    preflight = client.session.options(f"{client.base_url}{BASE}/EARN-BADGE", timeout=30, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-custom-trace"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization, content-type, x-custom-trace"
    assert "Origin" in preflight.headers["Vary"]
    created = client.create("EARN-BADGE", body_for("EARN-BADGE"), headers={"Origin": origin})
    assert created.status_code == 200
    assert created.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in created.headers["Vary"]
    plain = client.list()
    assert "Access-Control-Allow-Origin" not in plain.headers and "Origin" in plain.headers["Vary"]


def test_admin_token_is_required_when_configured(tmp_path) -> None:
    config = MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False, admin_token="s3cret-tøken")
    with serve_in_thread(config) as mock:
        admin = f"{mock.base_url}/__admin"
        assert requests.get(f"{admin}/health", timeout=30).status_code == 200  # probes need no token
        refused = requests.post(f"{admin}/reset", timeout=30)
        assert_admin_error(refused, 401)
        wrong = requests.get(f"{admin}/journal", headers={"X-Mock-Admin-Token": "guess"}, timeout=30)
        assert wrong.status_code == 401
        odd = requests.get(f"{admin}/journal", headers={"X-Mock-Admin-Token": b"\xff\xfe"}, timeout=30)
        assert odd.status_code == 401
        token = "s3cret-tøken".encode("utf-8")
        assert requests.get(f"{admin}/journal", headers={"X-Mock-Admin-Token": token}, timeout=30).status_code == 200
        assert requests.post(f"{admin}/reset", headers={"Authorization": b"Bearer " + token},
                             timeout=30).status_code == 200
        # Capillary's API is not the admin API: its own credentials only.
        listed = requests.get(f"{mock.base_url}{BASE}/requests", headers=mock.headers("maker"), timeout=30)
        assert listed.status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_serving_beyond_loopback_needs_an_admin_token(tmp_path, host: str) -> None:
    done = subprocess.run([*mockserver_command(), "serve", "--host", host, "--db", str(tmp_path / "s.db")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "--admin-token" in done.stderr


# -- 16: no subscription to the mock's own admin API ----------------------------------------------
@pytest.mark.parametrize("path", ["/__admin/reset", "/__admin", "/hooks/../__admin/reset", "/%5F%5Fadmin/reset",
                                  "//__admin/faults", "/__ADMIN/reset", "/./__admin/journal"])
def test_subscriptions_to_an_admin_api_are_refused(client: Client, path: str) -> None:
    pending = client.pending("EARN-BADGE")
    answer = client.admin("POST", "subscriptions", json={"url": f"{client.base_url}{path}"})
    assert "admin" in " ".join(assert_admin_error(answer, 400))
    assert client.admin("GET", "subscriptions").json()["subscriptions"] == []
    assert client.get(pending["requestId"]).status_code == 200


# -- 17: secrets are masked -----------------------------------------------------------------------
def test_journal_masks_every_secret_header(client: Client) -> None:
    body = body_for("GOODWILL-POINTS")
    call_of(body)["headers"] = {"Authorization": "Basic d3JhcHBlZDpzZWNyZXQ=", "X-Keep": "visible"}
    answer = client.create("GOODWILL-POINTS", body, headers={
        "Cookie": "session=cookie-secret", "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0"})
    assert answer.status_code == 200, answer.text
    (entry,) = [e for e in client.admin("GET", "journal").json()["entries"] if e["method"] == "POST"]
    text = json.dumps(entry)
    for secret in ("cookie-secret", "cHJveHk6c2VjcmV0", "d3JhcHBlZDpzZWNyZXQ=", auth("maker")["Authorization"]):
        assert secret not in text
    assert {entry["headers"][k] for k in ("Cookie", "Proxy-Authorization", "Authorization")} == {"***"}
    journalled = entry["body"]
    assert call_of(journalled)["headers"] == {"Authorization": "***", "X-Keep": "visible"}
    answered = entry["responseBody"]["data"]  # the answer is journalled too, masked the same way
    assert answered["requestId"] == answer.json()["data"]["requestId"]
    assert answered["details"]["IntouchAPITask-Payload"]["headers"] == {"Authorization": "***", "X-Keep": "visible"}
    # The request itself keeps what the maker sent: the wrapped call needs it.
    stored = client.get(answer.json()["data"]["requestId"]).json()["data"]
    assert stored["details"]["IntouchAPITask-Payload"]["headers"]["Authorization"] == "Basic d3JhcHBlZDpzZWNyZXQ="


@pytest.mark.parametrize("padding", [10, 70_000])  # a body journalled whole, and one cut at 64 KiB
def test_journal_masks_the_wrapped_call_of_a_refused_body(client: Client, padding: int) -> None:
    body = body_for("GOODWILL-POINTS")
    call_of(body)["headers"] = {"Authorization": "Basic d3JhcHBlZDpzZWNyZXQ="}
    body["unexpected"] = "x" * padding  # refused by the contract, journalled all the same
    answer = client.create("GOODWILL-POINTS", body)
    assert answer.status_code == 400, answer.text
    (entry,) = [e for e in client.admin("GET", "journal").json()["entries"] if e["method"] == "POST"]
    assert entry["status"] == 400
    assert "d3JhcHBlZDpzZWNyZXQ=" not in json.dumps(entry) and "***" in json.dumps(entry["body"])


def test_journal_shows_a_body_nested_too_deep_to_parse_as_text(client: Client) -> None:
    answer = client.session.post(f"{client.base_url}{BASE}/GOODWILL-POINTS", data=b"[" * 200_000, timeout=30,
                                 headers={**auth("maker"), "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    listed = client.admin("GET", "journal")
    assert listed.status_code == 200, listed.text
    (entry,) = [e for e in listed.json()["entries"] if e["method"] == "POST"]
    assert entry["body"] == "[" * 64 * 1024  # as sent, cut at the journal's limit


def test_journal_keeps_error_answers_as_sent(client: Client) -> None:
    refused = client.create("GOODWILL-POINTS", {"payload": {}})
    assert refused.status_code == 400
    (entry,) = [e for e in client.admin("GET", "journal").json()["entries"] if e["method"] == "POST"]
    assert entry["status"] == 400 and entry["responseBody"] == refused.json()


def test_subscription_headers_are_not_shown(client: Client) -> None:
    added = client.admin("POST", "subscriptions", json={"url": "http://127.0.0.1:9/hooks",
                                                        "headers": {"Authorization": "Bearer hook-secret"}})
    assert added.status_code == 201
    assert added.json()["headers"] == {"Authorization": "***"}
    listed = client.admin("GET", "subscriptions")
    assert "hook-secret" not in listed.text
    assert listed.json()["subscriptions"][0]["headers"] == {"Authorization": "***"}


# -- 18: --chain ------------------------------------------------------------------------------------
class _Wrapped(QuietHandler):
    """The wrapped API: records what reached it."""

    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        _Wrapped.seen.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                              "path": self.path})
        self.answer_json({"data": {}, "errors": [], "warnings": []})

    do_PUT = do_POST  # noqa: N815


@pytest.fixture
def wrapped() -> Iterator[str]:
    _Wrapped.seen = []
    with serving_handler(_Wrapped) as url:
        yield url


@pytest.fixture
def chaining(tmp_path, wrapped: str) -> Iterator[tuple[Client, str]]:
    port = wrapped.rsplit(":", 1)[1]
    config = MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False, chain_calls=True,
                        chain_allow=(f"127.0.0.1:{port}",), chain_timeout_s=5)
    with serve_in_thread(config) as mock:
        yield Client(mock.base_url), wrapped


def _approve_with(client: Client, hostname: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = body_for("EARN-BADGE")
    call_of(body)["hostname"] = hostname
    if headers is not None:
        call_of(body)["headers"] = headers
    created = client.create("EARN-BADGE", body)
    assert created.status_code == 200, created.text
    answer = client.decide("EARN-BADGE", created.json()["data"]["requestId"])
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_chain_drops_hop_by_hop_and_framing_headers(chaining, monkeypatch) -> None:
    client, wrapped = chaining
    client.session.trust_env = False  # the test's own client goes direct; the mock must too
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy that is not there: must not be used
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    decided = _approve_with(client, wrapped, {
        "X-Keep": "1", "Connection": "close, X-Keep", "Transfer-Encoding": "chunked", "Content-Length": "3",
        "Host": "evil.example", "Upgrade": "h2c", "TE": "trailers", "Keep-Alive": "timeout=99",
        "Proxy-Authorization": "Basic eA==", "Expect": "100-continue"})
    assert decided["state"] == "approved", decided["details"]["IntouchAPITask_Output"]
    (seen,) = _Wrapped.seen
    headers = seen["headers"]
    assert headers["x-keep"] == "1"
    assert headers["host"] == wrapped.split("//")[1]
    assert int(headers["content-length"]) == len(seen["body"])
    for dropped in ("transfer-encoding", "upgrade", "te", "keep-alive", "proxy-authorization", "expect"):
        assert dropped not in headers
    assert headers.get("connection", "keep-alive").lower() != "close, x-keep"


@pytest.mark.parametrize("hostname", [
    "http://127.0.0.1:9",              # loopback, but not the allowed port
    "http://169.254.169.254",          # a cloud metadata service
    "http://localhost",                # another name for loopback
    "file:///etc/passwd",
    "gopher://127.0.0.1:70",
    "http://[::1",                     # malformed names and addresses: never a 500
    "http://exa mple.com",
    "http://\u2603.example",
    "http://a" + "b" * 300 + ".example",
    "http://127.0.0.1:99999",
    "",
])
def test_chain_to_a_host_not_allowed_is_a_failed_wrapped_call(chaining, hostname: str) -> None:
    client, _ = chaining
    body = body_for("EARN-BADGE")
    call_of(body)["hostname"] = hostname
    created = client.create("EARN-BADGE", body)
    if created.status_code == 400:  # the contract refuses some of them at creation already: fine
        return
    assert created.status_code == 200, created.text
    answer = client.decide("EARN-BADGE", created.json()["data"]["requestId"])
    assert answer.status_code == 200, answer.text
    decided = answer.json()["data"]
    assert decided["state"] == "failed"
    assert decided["details"]["IntouchAPITask_Output"]["status"] == 502
    assert _Wrapped.seen == []


@pytest.mark.parametrize("headers", [{"X-Bad": "a\r\nInjected: 1"}, {"X-Bad": "a\x00b"}, {"Bad Name": "x"},
                                     {"X-Ünicode": "x"}, {"X-Value": "\u2603"}])
def test_chain_with_headers_http_cannot_carry_is_a_failed_wrapped_call(chaining, headers: dict[str, str]) -> None:
    client, wrapped = chaining
    body = body_for("EARN-BADGE")
    call_of(body)["hostname"] = wrapped
    call_of(body)["headers"] = headers
    created = client.create("EARN-BADGE", body)
    if created.status_code == 400:
        return
    answer = client.decide("EARN-BADGE", created.json()["data"]["requestId"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["state"] in ("failed", "approved")
    for seen in _Wrapped.seen:
        assert "injected" not in seen["headers"]


def test_chain_needs_an_allow_list(tmp_path) -> None:
    done = subprocess.run([*mockserver_command(), "serve", "--chain", "--db", str(tmp_path / "s.db")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and "--chain-allow" in done.stderr
