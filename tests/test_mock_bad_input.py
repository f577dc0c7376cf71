"""Hostile input never gets a 500: each case is a documented 4xx in the envelope of the API called."""
from __future__ import annotations

import http.client
import json
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from mock_support import BASE, CONTRACT, Client, assert_admin_error, auth, body_for, call_of

GOOD = json.dumps(body_for("EARN-BADGE"))
# The same valid body with one text and one number value marked, so a case can put there what JSON
# or the contract forbids (a lone surrogate, NaN, an overflowing number) whatever the example holds.
_MARKED = body_for("EARN-BADGE")
_MARKED["payload"]["IntouchAPITask-Payload"]["body"]["triggeredBy"]["ownerType"] = "@TEXT@"
_MARKED["payload"]["IntouchAPITask-Payload"]["body"]["customerId"] = "@NUMBER@"
MARKED = json.dumps(_MARKED)


def _with(text: str | None = None, number: str | None = None) -> bytes:
    """The valid body (as MARKED) with the marked text and number replaced by raw JSON text."""
    good = body_for("EARN-BADGE")["payload"]["IntouchAPITask-Payload"]["body"]
    raw = MARKED.replace('"@TEXT@"', text or json.dumps(good["triggeredBy"]["ownerType"]))
    return raw.replace('"@NUMBER@"', number or json.dumps(good["customerId"])).encode()

ONE_MIB = 1024 * 1024


@pytest.fixture
def client(live_mock) -> Client:
    return Client(live_mock.base_url)


def _post(client: Client, data: bytes | Iterator[bytes], content_type: str | None = "application/json",
          path: str = f"{BASE}/EARN-BADGE") -> requests.Response:
    headers = auth("maker")
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.session.post(client.base_url + path, data=data, headers=headers, timeout=60)


def assert_v2_error(answer: requests.Response, status: int, code: int = 2008) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    assert answer.headers["Content-Type"].startswith("application/json")
    errors = answer.json()["errors"]
    assert [e["code"] for e in errors] == [code] * len(errors)
    assert all(e["message"] == CONTRACT.workflow_errors[code] and e["status"] is False for e in errors)


BAD_BODIES = {
    "truncated": b'{"entityInfo":',
    "trailing-garbage": GOOD.encode() + b"}",
    "single-quotes": b"{'a': 1}",
    "not-utf8": b'{"a": "\xff\xfe"}',
    "utf16": GOOD.encode("utf-16"),
    "lone-surrogate": _with(text='"\\ud800"'),
    "lone-low-surrogate-key": b'{"\\udc00": 1}',
    "nan": _with(number="NaN"),
    "infinity": _with(number="-Infinity"),
    "float-overflow": _with(number="1e400"),
    "int-5000-digits": _with(number="1" + "0" * 5000),
    "nested-arrays-10000": b"[" * 10000 + b"]" * 10000,
    "nested-objects-10000": b'{"a":' * 10000 + b"1" + b"}" * 10000,
    "nested-under-limit-1mib": b"[" * (ONE_MIB - 10),
    "json-null": b"null",
    "json-array": b"[]",
    "json-string": b'"payload"',
    "json-number": b"42",
    "empty": b"",
    "whitespace": b"   ",
    "nul-bytes": b"\x00" * 64,
}


def test_marked_cases_differ_from_the_valid_body_only_where_marked() -> None:
    assert json.loads(_with()) == body_for("EARN-BADGE")
    assert _with(number="NaN") != _with() and _with(text='"\\ud800"') != _with()


@pytest.mark.parametrize("raw", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_400(client: Client, raw: bytes) -> None:
    assert_v2_error(_post(client, raw), 400)


def test_bad_body_on_decide_is_400(client: Client) -> None:
    answer = client.session.put(f"{client.base_url}{BASE}/EARN-BADGE", data=b'{"requestId": [', timeout=30,
                                headers={**auth("checker"), "Content-Type": "application/json"})
    assert_v2_error(answer, 400)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx", "json"])
def test_wrong_content_type_is_415(client: Client, content_type: str | None) -> None:
    assert_v2_error(_post(client, GOOD.encode(), content_type), 415)


def test_json_with_parameters_is_accepted(client: Client) -> None:
    assert _post(client, GOOD.encode(), "Application/JSON; charset=utf-8").status_code == 200


def test_body_over_one_mib_is_413(client: Client) -> None:
    assert_v2_error(_post(client, b'{"a": "' + b"x" * ONE_MIB + b'"}'), 413)


def test_chunked_body_over_one_mib_is_413(client: Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'
    assert_v2_error(_post(client, chunks()), 413)


@pytest.mark.parametrize("raw, content_type, status", [
    (b"[", "application/json", 400), (b'{"outcome": "failure"}', "text/plain", 415),
    (b'{"outcome": "explode"}', "application/json", 400),
    (b"x" * (ONE_MIB + 1), "application/json", 413),
], ids=["malformed", "content-type", "bad-outcome", "too-large"])
def test_admin_api_refuses_in_its_own_envelope(client: Client, raw: bytes, content_type: str, status: int) -> None:
    answer = _post(client, raw, content_type, path="/__admin/faults")
    assert_admin_error(answer, status)


@pytest.mark.parametrize("query", [
    "limit=" + "9" * 5000, "PageNo=" + "9" * 30, "userId=" + "1" * 20, "limit=1e3", "limit=0x10", "limit=%00",
    "PageNo=-0", "states=AdminTask,", "startDate=2024-02-30x", "sortBy=%ff",
])
def test_huge_or_odd_query_values_are_400(client: Client, query: str) -> None:
    answer = client.session.get(f"{client.base_url}{BASE}/requests?{query}", headers=auth("maker"), timeout=30)
    if query == "PageNo=-0":  # -0 is 0: a valid page
        assert answer.status_code == 200
        return
    assert_v2_error(answer, 400, {"sortBy": 2011}.get(query.split("=")[0], 2008))


@pytest.mark.parametrize("query", ["limit=" + "9" * 50, "timeout=1e400", "timeout=nan", "timeout=-1"])
def test_admin_query_values_are_400(client: Client, query: str) -> None:
    path = "journal" if query.startswith("limit") else "events"
    answer = client.admin("GET", f"{path}?{query}")
    assert_admin_error(answer, 400)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api_gateway/v2/no-such", 404), ("GET", f"{BASE}/requests/", 404),
    ("DELETE", f"{BASE}/EARN-BADGE", 405), ("GET", f"{BASE}/EARN-BADGE", 405), ("PATCH", f"{BASE}/requests", 405),
    ("POST", f"{BASE}/requests/00000000-0000-1000-8000-000000000000", 405),
])
def test_unknown_paths_and_methods_in_the_v2_envelope(client: Client, method: str, path: str, status: int) -> None:
    answer = client.session.request(method, client.base_url + path, headers=auth("maker"), timeout=30)
    assert answer.status_code == status
    assert answer.json()["errors"][0]["status"] is False


@pytest.mark.parametrize("method, path, status", [("GET", "/__admin/nothing", 404), ("GET", "/no/such/path", 404),
                                                   ("POST", "/__admin/health", 405),
                                                   ("PUT", "/openapi.yaml", 405)])
def test_unknown_admin_paths_and_methods(client: Client, method: str, path: str, status: int) -> None:
    answer = client.session.request(method, client.base_url + path, timeout=30)
    assert_admin_error(answer, status)


def _raw_request(base_url: str, method: str, path: str, headers: list[tuple[bytes, bytes]],
                 body: bytes = b"") -> tuple[int, bytes]:
    """Send header bytes exactly as given (requests would refuse non-latin-1 text)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader(b"Content-Length", str(len(body)).encode())
        conn.endheaders(body)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize("org, code", [("５１２５０".encode(), 2005), (b"51250\xff", 2005), (b" ", 2026)])
def test_odd_bytes_in_the_org_header(client: Client, org: bytes, code: int) -> None:
    status, raw = _raw_request(client.base_url, "POST", f"{BASE}/EARN-BADGE", [
        (b"Authorization", auth("maker")["Authorization"].encode()), (b"X-CAP-API-AUTH-ORG-ID", org),
        (b"Content-Type", b"application/json")], GOOD.encode())
    assert status == 400
    assert json.loads(raw)["errors"][0]["code"] == code


@pytest.mark.parametrize("authorization", ["Basic " + "é" * 10, "Basic bWFrZXI6bWFrZXLp", "Basic =", "Basic"])
def test_odd_credentials_are_401(client: Client, authorization: str) -> None:
    status, raw = _raw_request(client.base_url, "GET", f"{BASE}/requests", [
        (b"Authorization", authorization.encode("utf-8")), (b"X-CAP-API-AUTH-ORG-ID", b"51250")])
    assert status == 401
    assert json.loads(raw)["errors"][0]["code"] == 2013


def test_cors_preflight(client: Client) -> None:
    answer = client.session.options(f"{client.base_url}{BASE}/EARN-BADGE", timeout=30,
                                    headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-CAP-UI-AUTH-TOKEN" in answer.headers["Access-Control-Allow-Headers"]
    assert "Origin" in answer.headers["Vary"]


def test_nothing_was_stored_by_bad_input(client: Client) -> None:
    for raw in BAD_BODIES.values():
        _post(client, raw)
    assert client.list().json()["pagination"]["totalElements"] == 0
    assert client.admin("GET", "health").json()["requests"] == 0


def test_many_violations_are_capped_with_a_count(client: Client) -> None:
    body = body_for("EARN-BADGE")
    body["payload"]["IntouchAPITask-Payload"]["headers"] = {f"X-Bad-{i}": i for i in range(5000)}
    answer = _post(client, json.dumps(body).encode())
    assert answer.status_code == 400, answer.text[:500]
    errors = answer.json()["errors"]
    assert all(e["message"] == CONTRACT.workflow_errors[e["code"]] for e in errors)
    assert len(errors) == 101, len(errors)
    assert "not listed" in errors[-1]["detail"]
    left_out = int(errors[-1]["detail"].split()[0])
    assert left_out + 100 >= 5000
