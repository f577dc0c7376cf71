"""`mockserver serve` against hostile HTTP clients, over raw sockets on 127.0.0.1: idle and slow
clients, long-polls, head bombs, broken framing and malformed requests. No client can stop the mock
from answering others, and every answer is in the envelope of the API called."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import threading
import time
from typing import Iterator

import pytest
import requests

from mock_support import BASE, ServedMock, auth, body_for, decision, start_served, stop_served
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread

CREATE = f"{BASE}/GOODWILL-POINTS"
GOOD = json.dumps(body_for("GOODWILL-POINTS")).encode()
ONE_MIB = 1024 * 1024
PYTHON_ERROR = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback|File \"")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedMock]:
    mock = start_served(tmp_path_factory.mktemp("front"), db="state.db")
    try:
        yield mock
    finally:
        stop_served(mock)


def _connect(served: ServedMock, timeout: float = 15) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=timeout)


def _exchange(served: ServedMock, data: bytes, half_close: bool = False, timeout: float = 15) -> bytes:
    """Send raw bytes, read until the mock closes (bounded by `timeout`)."""
    with _connect(served, timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _create_head(extra: bytes = b"", length: int | None = None) -> bytes:
    lines = [f"POST {CREATE} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: {auth('maker')['Authorization']}",
             "X-CAP-API-AUTH-ORG-ID: 51250", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n").encode() + extra + b"\r\n"


def _assert_envelope(raw: bytes, path: str) -> int:
    """The answer is JSON in the envelope of the API of `path`, naming no Python exception."""
    status, headers, body = _answer(raw)
    assert headers.get("content-type", "").startswith("application/json"), raw[:300]
    document = json.loads(body)
    if path.startswith("/api_gateway/"):
        assert document["errors"] and all(e["status"] is False for e in document["errors"]), document
    elif path.startswith("/v1.1/"):
        assert document["response"]["status"]["success"] == "false", document
    else:
        assert document["errors"] and all(e["status"] is False and e["code"] == status for e in document["errors"])
    assert not PYTHON_ERROR.search(body.decode("utf-8", "replace")), body[:300]
    return status


def _requests_count(served: ServedMock) -> int:
    return requests.get(served.base_url + "/__admin/health", timeout=10).json()["requests"]


def _create_ok(served: ServedMock) -> None:
    answer = requests.post(served.base_url + CREATE, data=GOOD, timeout=10,
                           headers={**auth("maker"), "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text


# -- 1, 2: idle and slow clients, long-polls ----------------------------------------------------------
def test_twenty_unfinished_heads_do_not_freeze_the_mock(served: ServedMock) -> None:
    sockets = [_connect(served) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n")
        for _ in range(5):
            _create_ok(served)  # answered at once (with gunicorn's sync workers: after 120 s)
        sockets[0].settimeout(30)
        raw = b""
        while b"\r\n\r\n" not in raw:  # the unfinished head is answered 408 once its time is up, then closed
            chunk = sockets[0].recv(4096)
            if not chunk:
                break
            raw += chunk
        assert _assert_envelope(raw, "/__admin/health") == 408
    finally:
        for sock in sockets:
            sock.close()


def test_long_polls_do_not_starve_other_clients(served: ServedMock) -> None:
    done: list[float] = []

    def poll() -> None:
        answer = requests.get(served.base_url + "/__admin/events", params={"waitFor": "never", "timeout": 8},
                              timeout=30)
        assert answer.status_code == 200 and answer.json()["timedOut"] is True
        done.append(time.monotonic())

    polls = [threading.Thread(target=poll) for _ in range(8)]
    for thread in polls:
        thread.start()
    time.sleep(0.5)
    try:
        for _ in range(5):
            _create_ok(served)
        assert done == []  # the creates were answered while every long-poll still waited
    finally:
        for thread in polls:
            thread.join(timeout=30)
    assert len(done) == 8


def test_a_slow_approval_does_not_hold_creates_on_its_worker(tmp_path) -> None:
    """One worker: the approval held by a fault's latency runs in a thread, the creates on the loop."""
    mock = start_served(tmp_path, "--workers", "1", db="state.db")
    try:
        created = requests.post(mock.base_url + CREATE, data=GOOD, timeout=10,
                                headers={**auth("maker"), "Content-Type": "application/json"}).json()["data"]
        assert requests.post(mock.base_url + "/__admin/faults", json={"outcome": "success", "latencyMs": 4000},
                             timeout=10).status_code == 201
        approval: list[requests.Response] = []
        thread = threading.Thread(target=lambda: approval.append(requests.put(
            mock.base_url + CREATE, json=decision(created["requestId"]), timeout=30,
            headers={**auth("checker"), "Content-Type": "application/json"})))
        thread.start()
        deadline = time.monotonic() + 10
        while requests.get(mock.base_url + "/__admin/faults", timeout=10).json()["faults"]:  # the fault is taken
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for _ in range(5):
            _create_ok(mock)
        assert approval == []  # the creates were answered while the approval still waited
        thread.join(timeout=30)
        assert approval[0].status_code == 200, approval[0].text
        # Handed over from the loop to a thread, the approval still ran once: one journal entry, one event.
        journal = requests.get(mock.base_url + "/__admin/journal", timeout=10).json()["entries"]
        assert [e["status"] for e in journal if e["method"] == "PUT"] == [200]
        events = requests.get(mock.base_url + "/__admin/events", params={"requestId": created["requestId"]},
                              timeout=10).json()["events"]
        assert len(events) == 2  # created, approved
    finally:
        stop_served(mock)


def _health_pid(sock: socket.socket) -> int:
    raw = b""
    while not raw.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        assert chunk, raw
        raw += chunk
    return json.loads(_answer(raw)[2])["pid"]


def _serving_workers(served: ServedMock) -> list[int]:
    """The pids of the worker processes, once each of them answers (a worker loads its app after the first)."""
    seen: set[int] = set()
    deadline = time.monotonic() + 30
    while len(seen) < 2:
        assert time.monotonic() < deadline, seen
        seen.add(_pid_answering(served))
    return sorted(seen)


def _pid_answering(served: ServedMock) -> int:
    """The pid of the worker that answers a health check on a new connection."""
    with _connect(served) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return _health_pid(sock)


def test_a_burst_of_connections_is_spread_over_the_workers(served: ServedMock) -> None:
    """32 connections waiting at once (wrk opens its 16 so): asyncio's own server let the process that
    woke first accept all of them while the other idled; each worker now takes its share."""
    workers = _serving_workers(served)  # `mockserver serve` runs two by default
    sockets = []
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)  # so that the whole burst waits in the listening queue
    try:
        for _ in range(32):
            sock = _connect(served)
            sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n")
            sockets.append(sock)
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    try:
        served_by = [_health_pid(sock) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert all(served_by.count(pid) >= 4 for pid in workers), sorted(served_by.count(pid) for pid in workers)


def _few_descriptors() -> None:  # in the served mock's process, before exec
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, 96))


def test_a_mock_out_of_descriptors_serves_again_once_connections_close(tmp_path) -> None:
    """Past its descriptor limit a worker cannot accept; it pauses accepting instead of spinning
    on the listening socket, and serves the waiting connections once others have closed."""
    mock = start_served(tmp_path, "--workers", "1", db="state.db", preexec_fn=_few_descriptors)
    held = []
    try:
        for _ in range(160):  # more than the limit: the last ones wait in the listening queue
            held.append(_connect(mock, timeout=30))
        deadline = time.monotonic() + 15
        while "cannot accept connections (Too many open files)" not in mock.log.read_text():
            assert time.monotonic() < deadline, "the worker never ran out of descriptors"
            time.sleep(0.05)
        for sock in held[:150]:
            sock.close()
        last = held[-1]  # accepted only once descriptors were free again
        last.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _health_pid(last) == _pid_answering(mock)
    finally:
        for sock in held:
            sock.close()
        stop_served(mock)


# -- 3: head bombs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [80 * 1024, 4 * ONE_MIB])
def test_a_head_bomb_is_431_in_the_envelope(served: ServedMock, size: int) -> None:
    head = b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n" + b"X-Bomb: " + b"a" * size + b"\r\n\r\n"
    assert _assert_envelope(_exchange(served, head), "/__admin/health") == 431
    _create_ok(served)


def test_long_values_within_the_head_limit_reach_the_contract_checks(served: ServedMock) -> None:
    org = b"5" * 40_000
    raw = _exchange(served, _create_head(b"X-CAP-API-AUTH-ORG-ID-Unused: x\r\n", len(GOOD)).replace(
        b"X-CAP-API-AUTH-ORG-ID: 51250", b"X-CAP-API-AUTH-ORG-ID: " + org) + GOOD)
    status, _, body = _answer(raw)
    assert status == 400 and json.loads(body)["errors"][0]["code"] == 2005
    query = "x" * 30_000
    answer = requests.get(f"{served.base_url}{BASE}/requests", params={query: "1"}, headers=auth("maker"), timeout=10)
    assert answer.status_code == 400 and "not a parameter" in answer.text


# -- 10: framing --------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunks", [b"zz\r\n{}\r\n0\r\n\r\n", b"-1\r\n", b"1" * 20 + b"\r\n", b"2\r\n{}}\r\n0\r\n\r\n",
                                    b"0x2\r\n{}\r\n0\r\n\r\n"])
def test_bad_chunked_framing_is_400(served: ServedMock, chunks: bytes) -> None:
    before = _requests_count(served)
    raw = _exchange(served, _create_head(b"Transfer-Encoding: chunked\r\n") + chunks, half_close=True)
    assert _assert_envelope(raw, CREATE) == 400
    assert _requests_count(served) == before


def test_a_body_shorter_than_its_content_length_is_400_and_not_stored(served: ServedMock) -> None:
    before = _requests_count(served)
    raw = _exchange(served, _create_head(length=len(GOOD) + 50) + GOOD, half_close=True)
    assert _assert_envelope(raw, CREATE) == 400
    assert _requests_count(served) == before


def _padded(size: int) -> bytes:
    return GOOD + b" " * (size - len(GOOD))


def _chunked(body: bytes, piece: int = 64 * 1024) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + piece]), body[i:i + piece]) for i in range(0, len(body), piece))
    return out + b"0\r\n\r\n"


@pytest.mark.parametrize("size, status", [(ONE_MIB, 200), (ONE_MIB + 1, 413)])
def test_one_body_limit_for_content_length_and_chunked(served: ServedMock, size: int, status: int) -> None:
    body = _padded(size)
    by_length = _answer(_exchange(served, _create_head(b"Connection: close\r\n", len(body)) + body))[0]
    chunked = _answer(_exchange(served, _create_head(b"Transfer-Encoding: chunked\r\nConnection: close\r\n")
                                + _chunked(body)))[0]
    assert (by_length, chunked) == (status, status)


# -- 11: malformed HTTP -------------------------------------------------------------------------------
MALFORMED = {
    "garbage": b"GARBAGE\r\n\r\n",
    "no-version": b"GET /__admin/health\r\n\r\n",
    "http-2.0": b"GET /__admin/health HTTP/2.0\r\nHost: x\r\n\r\n",
    "http-0.9-version": b"GET /__admin/health HTTP/0.9\r\nHost: x\r\n\r\n",
    "lowercase-http": b"GET /__admin/health http/1.1\r\nHost: x\r\n\r\n",
    "bad-method": b"G(T /__admin/health HTTP/1.1\r\nHost: x\r\n\r\n",
    "no-host": b"GET /__admin/health HTTP/1.1\r\n\r\n",
    "space-before-colon": b"GET /__admin/health HTTP/1.1\r\nHost : x\r\n\r\n",
    "no-colon": b"GET /__admin/health HTTP/1.1\r\nHost x\r\n\r\n",
    "empty-name": b"GET /__admin/health HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n",
    "folded": b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "nul-in-value": b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "bare-cr-in-value": b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
    "non-ascii-name": b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nX-\xc3\xa4: 1\r\n\r\n",
    "target-not-a-path": b"GET health HTTP/1.1\r\nHost: x\r\n\r\n",
    "cl-not-a-number": _create_head(b"Content-Length: 1a\r\n") + b"{",
    "cl-negative": _create_head(b"Content-Length: -1\r\n"),
    "cl-plus": _create_head(b"Content-Length: +5\r\n") + b"{}   ",
    "cl-twice-differ": _create_head(b"Content-Length: 2\r\nContent-Length: 3\r\n") + b"{}",
    "cl-list-differ": _create_head(b"Content-Length: 2, 3\r\n") + b"{}",
    "cl-huge": _create_head(b"Content-Length: 99999999999999999999999\r\n"),
    "cl-and-chunked": _create_head(b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n") + b"{}",
    "te-gzip": _create_head(b"Transfer-Encoding: gzip\r\n") + b"{}",
    "te-chunked-twice": _create_head(b"Transfer-Encoding: chunked, chunked\r\n") + b"0\r\n\r\n",
    "te-identity": _create_head(b"Transfer-Encoding: identity\r\n"),
    "chunk-no-crlf": _create_head(b"Transfer-Encoding: chunked\r\n") + b"2\r\n{}XX0\r\n\r\n",
    "v1.1-garbage-header": b"POST /v1.1/customer/update_identity HTTP/1.1\r\nHost: x\r\nX: \x01\r\n\r\n",
    "v1.1-bad-chunk": b"POST /v1.1/customer/update_identity HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n",
    "admin-bad-length": b"POST /__admin/faults HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
    "head-then-close": b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nX-A: 1",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_http_is_answered_in_the_envelope(served: ServedMock, raw: bytes) -> None:
    path = raw.split(b" ")[1].decode("latin-1") if raw.count(b" ") else "/"
    path = path if path.startswith("/") else "/"
    answer = _exchange(served, raw, half_close=True)
    status = _assert_envelope(answer, path)
    assert 400 <= status < 600 and status != 500
    _create_ok(served)


@pytest.mark.parametrize("path, code", [(f"{BASE}/requests", 2024), ("/__admin/journal", 500)])
def test_an_exception_in_the_app_names_no_python_error(tmp_path, path: str, code: int) -> None:
    """The app's own 500 (here a store that fails) is in the envelope and names no exception."""
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), dispatch=False)) as mock:
        store = mock.app.extensions["mockserver"].store

        def broken(*args: object, **kwargs: object) -> None:
            raise sqlite3.OperationalError("disk I/O error in /secret/path/state.db")

        store.read = broken
        answer = requests.get(mock.base_url + path, headers=auth("maker"), timeout=10)
    assert answer.status_code == 500
    assert answer.headers["Content-Type"].startswith("application/json")
    assert [e["code"] for e in answer.json()["errors"]] == [code]
    assert not PYTHON_ERROR.search(answer.text) and "/secret/path" not in answer.text, answer.text


# -- 12: a large body sent before the answer is read -----------------------------------------------------
@pytest.mark.parametrize("size", [4 * ONE_MIB, 16 * ONE_MIB])
def test_a_client_that_sends_a_whole_large_body_sees_the_413(served: ServedMock, size: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    try:
        conn.request("POST", CREATE, body=b"x" * size, headers={**auth("maker"), "Content-Type": "application/json"})
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()
    assert answer.status == 413
    assert json.loads(body)["errors"][0]["code"] == 2008


def test_a_worker_freezes_its_start_up_objects_out_of_the_collector(tmp_path) -> None:
    """A full collection walked the ~45,000 objects of the contract, Flask and the validators on every
    pass, holding the requests queued on the worker for ~35 ms; the served app leaves them frozen."""
    import subprocess
    import sys
    script = ("import gc, sys; from mockserver.config import MockConfig; from mockserver.server import worker_app; "
              f"app = worker_app(MockConfig(db={str(tmp_path / 'state.db')!r})); "
              "print(gc.get_freeze_count(), len(gc.get_objects()))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    frozen, collected = map(int, out.stdout.split())
    assert frozen > 20_000, out.stdout
    assert collected < frozen / 10, out.stdout
