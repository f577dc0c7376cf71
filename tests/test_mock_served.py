"""`mockserver serve` as users run it (gunicorn, several workers, a SQLite file): shared state,
one winner among concurrent checkers, and nothing acknowledged lost to a kill -9."""
from __future__ import annotations

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest
import requests
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from threaded_servers import QuietHandler, serving_handler
from mock_support import BASE, CONTRACT, Client, auth, body_for, call_of, decision, served_mock, start_served, \
    stop_served


def _fresh_get(url: str, **kw: Any) -> requests.Response:
    """A new connection each time, so the kernel may hand it to any worker."""
    with requests.Session() as session:
        return session.get(url, timeout=30, **kw)


def test_workers_share_one_state(tmp_path) -> None:
    template = body_for("GOODWILL-POINTS")
    with served_mock(tmp_path, "--workers", "3") as served:
        def create(i: int) -> str:
            body = json.loads(json.dumps(template))
            call_of(body)["body"]["referenceId"] = f"ref-{i}"
            with requests.Session() as session:
                answer = session.post(f"{served.base_url}{BASE}/GOODWILL-POINTS", json=body, headers=auth("maker"),
                                      timeout=30)
            assert answer.status_code == 200, answer.text
            return answer.json()["data"]["requestId"]

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(create, range(60)))
        pids: dict[int, int] = {}
        for _ in range(200):  # bounded: until three workers have answered
            health = _fresh_get(served.base_url + "/__admin/health").json()
            pids[health["pid"]] = health["requests"]
            if len(pids) == 3:
                break
        assert len(pids) >= 2, pids
        assert set(pids.values()) == {60}, pids
        for request_id in ids:
            assert _fresh_get(f"{served.base_url}{BASE}/requests/{request_id}", headers=auth("checker")).status_code == 200
        listed = _fresh_get(f"{served.base_url}{BASE}/requests", params={"limit": 100}, headers=auth("checker"))
        assert sorted(d["requestId"] for d in listed.json()["data"]) == sorted(ids)


class _CountingReceiver(QuietHandler):
    """Plays the wrapped API: counts calls, answers slowly so concurrent checkers overlap."""

    calls: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            self.calls.append(self.path)
        time.sleep(0.2)
        self.answer_json({"data": {}, "errors": [], "warnings": []})


@pytest.fixture
def wrapped_api() -> Iterator[tuple[str, list[str]]]:
    _CountingReceiver.calls = []
    with serving_handler(_CountingReceiver) as url:
        yield url, _CountingReceiver.calls


def test_sixteen_checkers_one_winner(tmp_path, wrapped_api) -> None:
    url, calls = wrapped_api
    with served_mock(tmp_path, "--workers", "3", "--chain", "--chain-allow", "127.0.0.1") as served:
        client = served.client()
        body = body_for("EARN-BADGE")
        call_of(body)["hostname"] = url
        pending = client.pending("EARN-BADGE", body)
        barrier = threading.Barrier(16, timeout=30)

        def approve(i: int) -> requests.Response:
            with requests.Session() as session:
                barrier.wait()
                return session.put(f"{served.base_url}{BASE}/EARN-BADGE", json=decision(pending["requestId"]),
                                   headers=auth("checker" if i % 2 else "supervisor"), timeout=60)

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(approve, range(16)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] + [409] * 15, [(a.status_code, a.text[:200]) for a in answers]
        assert all(a.json()["errors"][0]["code"] == 2002 for a in answers if a.status_code == 409)
        winner = next(a for a in answers if a.status_code == 200).json()["data"]
        assert winner["state"] == "approved"
        assert calls == ["/api_gateway/v1/badges/customer/earn"]
        events = client.events(pending["requestId"])
        assert [e["state"] for e in events] == ["AdminTask", "approved"]
        assert client.get(pending["requestId"]).json()["data"] == winner


def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path) -> None:
    served = start_served(tmp_path, "--workers", "2")
    acknowledged: dict[str, str] = {}  # requestId -> state the mock answered
    in_flight: dict[str, str] = {}  # a decision sent whose answer the kill cut off: requestId -> its state
    stop = threading.Event()

    def load() -> None:
        session = requests.Session()
        for i in range(5000):  # bounded; normally stopped by the kill long before
            if stop.is_set():
                return
            try:
                answer = session.post(f"{served.base_url}{BASE}/ISSUE-BADGE", json=body_for("ISSUE-BADGE"),
                                      headers=auth("maker"), timeout=5)
                if answer.status_code == 200:
                    data = answer.json()["data"]
                    acknowledged[data["requestId"]] = data["state"]
                    if i % 3 == 0:
                        verdict = "rejected" if i % 2 else "approved"
                        in_flight[data["requestId"]] = verdict
                        decided = session.put(f"{served.base_url}{BASE}/ISSUE-BADGE",
                                              json=decision(data["requestId"], verdict), headers=auth("checker"),
                                              timeout=5)
                        del in_flight[data["requestId"]]
                        if decided.status_code == 200:
                            acknowledged[data["requestId"]] = decided.json()["data"]["state"]
            except requests.RequestException:
                return

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < 50 and time.monotonic() < deadline and worker.is_alive():
            time.sleep(0.05)
        stop_served(served, signal.SIGKILL)
    finally:
        stop.set()
        worker.join(timeout=30)
        stop_served(served)
    assert len(acknowledged) >= 50

    restarted = start_served(tmp_path, "--workers", "2")
    try:
        client = Client(restarted.base_url)
        for request_id, state in list(acknowledged.items()):
            answer = client.get(request_id)
            assert answer.status_code == 200, (request_id, answer.text)
            # A decision the kill cut off may have been written before its answer was: that request is
            # in its acknowledged state or in the decided one; every other is exactly as acknowledged.
            assert answer.json()["data"]["state"] in {state, in_flight.get(request_id, state)}
        assert client.admin("GET", "health").json()["requests"] >= len(acknowledged)
        pending = [r for r, s in acknowledged.items() if s == "AdminTask" and r not in in_flight]
        decided = client.decide("ISSUE-BADGE", pending[0])  # no decision is left claimed by the dead process
        assert decided.status_code == 200, decided.text
    finally:
        stop_served(restarted)


def test_served_mock_with_in_memory_state(tmp_path) -> None:
    with served_mock(tmp_path, "--workers", "3", db=":memory:") as served:
        client = served.client()
        pending = client.pending("EARN-BADGE")
        assert client.get(pending["requestId"]).status_code == 200
        assert client.admin("GET", "health").json()["storage"] == ":memory:"
    assert "serving with 1 worker" in served.log.read_text()


def test_serves_the_contract_naming_the_url_it_was_fetched_from(tmp_path) -> None:
    with served_mock(tmp_path, "--workers", "1") as served:
        answer = requests.get(served.base_url + "/openapi.yaml", timeout=30)
        assert answer.status_code == 200
        served_spec = yaml.safe_load(answer.content)
        assert served_spec["servers"] == [{"url": served.base_url, "description": "the mock this document was fetched from"}]
        with open(CONTRACT.source, "rb") as handle:
            written = handle.read()
        assert {**served_spec, "servers": None} == {**yaml.safe_load(written), "servers": None}
        assert answer.content.count(b"\n") >= written.count(b"\n") - 2  # served as written, comments and all

        admin = requests.get(served.base_url + "/__admin/openapi.yaml", timeout=30)
        assert admin.status_code == 200 and admin.headers["Content-Type"].startswith("application/yaml")
        document = yaml.safe_load(admin.content)
        assert document["servers"][0]["url"] == served.base_url
        validate(document, cls=OpenAPIV31SpecValidator)  # self-contained: the shared schemas inlined
        assert "/__admin/reset" in document["paths"] and "/__admin/reset" not in served_spec["paths"]


def test_long_urls_and_headers_reach_the_contract_checks(tmp_path) -> None:
    """gunicorn's parser would refuse them with an HTML 414/431; the mock answers in its own envelope."""
    with served_mock(tmp_path, "--workers", "1") as served:
        headers = auth("maker")
        long_url = requests.get(served.base_url + BASE + "/requests", params={"userId": "x" * 20000},
                                headers=headers, timeout=30)
        assert long_url.status_code == 400
        assert long_url.json()["errors"][0]["code"] == 2008
        long_header = requests.get(served.base_url + BASE + "/requests", headers={**headers, "X-Note": "y" * 20000},
                                   timeout=30)
        assert long_header.status_code == 200
        assert long_header.headers["Content-Type"].startswith("application/json")
