"""Single-winner decisions live in the store's queries, not in a lock: two servers on one SQLite
file (then on one PostgreSQL database), a worker that dies or stalls mid-approval, a reset under an
approval (issue 9; issue 11, items 5 and 8). Every mock here is a real `mockserver serve` on 127.0.0.1."""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator

import pytest
import requests

from mock_support import Client, ServedMock, start_served, stop_served
from mockserver.config import MockConfig
from mockserver.store import CLAIM_TTL_S, open_store



@contextlib.contextmanager
def served(tmp_path, db: str, *args: str) -> Iterator[ServedMock]:
    """One worker process with threads on the store `db`: it answers while an approval waits, and
    its pid is the approving one."""
    mock = start_served(tmp_path, "--workers", "1", "--threads", "4", *args, db=db)
    try:
        yield mock
    finally:
        stop_served(mock)


def worker_pid(client: Client) -> int:
    return client.admin("GET", "health").json()["pid"]


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["answer"] = call()
        except requests.RequestException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def slow_approval(client: Client, request_id: str, latency_ms: int) -> tuple[threading.Thread, dict[str, Any]]:
    """Queue a slow success and start approving; returns once the approval holds its claim
    (the fault is taken in the claim's own transaction)."""
    assert client.admin("POST", "faults", json={"outcome": "success", "latencyMs": latency_ms}).status_code == 201
    thread, result = in_thread(lambda: client.decide("EARN-BADGE", request_id))
    deadline = time.monotonic() + 30
    while client.admin("GET", "faults").json()["faults"]:
        assert time.monotonic() < deadline and thread.is_alive(), result
        time.sleep(0.05)
    return thread, result


def states(client: Client, request_id: str) -> list[str]:
    return [e["state"] for e in client.events(request_id)]


def until(answer: Callable[[], requests.Response], done: Callable[[requests.Response], bool],
          timeout_s: float) -> requests.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        last = answer()
        if done(last) or time.monotonic() > deadline:
            return last
        time.sleep(0.2)


def test_a_late_decision_from_a_second_server_loses_with_409_and_one_terminal_event(tmp_path, store_url) -> None:
    """Server A approves slowly; server B starts on the same file. B's start frees nothing (B's
    reject is 409 while A's worker lives); once A's worker stalls past the claim's lifetime, B's
    reject wins, and A's approval, when it resumes, is refused: 409 2002, one terminal event."""
    with served(tmp_path, store_url) as a:
        client_a = a.client()
        pending = client_a.pending("EARN-BADGE")
        request_id = pending["requestId"]
        a_worker = worker_pid(client_a)
        approval, result = slow_approval(client_a, request_id, 15000)
        with served(tmp_path, store_url) as b:
            client_b = b.client()
            under_way = client_b.decide("EARN-BADGE", request_id, "rejected")
            assert under_way.status_code == 409, under_way.text
            assert under_way.json()["errors"][0]["code"] == 2002
            os.kill(a_worker, signal.SIGSTOP)
            try:
                rejected = until(lambda: client_b.decide("EARN-BADGE", request_id, "rejected"),
                                 lambda r: r.status_code == 200, CLAIM_TTL_S + 10)
            finally:
                os.kill(a_worker, signal.SIGCONT)
            assert rejected.status_code == 200, rejected.text
            assert rejected.json()["data"]["state"] == "rejected"
            approval.join(45)
            late = result["answer"]
            assert late.status_code == 409, late.text
            assert late.json()["errors"][0]["code"] == 2002
            assert states(client_b, request_id) == ["AdminTask", "rejected"]
            assert client_a.get(request_id).json()["data"]["state"] == "rejected"


def test_a_worker_killed_mid_approval_does_not_leave_the_request_stuck(tmp_path, store_url) -> None:
    """Issue 11, item 5: kill -9 of the worker (as gunicorn's time-out kill does) while it waits on
    the wrapped call; gunicorn starts a new worker, and the request can be decided again as soon as
    the dead worker's claim lapses, instead of answering 409 "under way" until a restart."""
    with served(tmp_path, store_url) as mock:
        client = mock.client()
        request_id = client.pending("EARN-BADGE")["requestId"]
        victim = worker_pid(client)
        approval, result = slow_approval(client, request_id, 30000)
        os.kill(victim, signal.SIGKILL)
        approval.join(30)
        assert "error" in result  # the dead worker never answered
        decided = until(lambda: client.decide("EARN-BADGE", request_id), lambda r: r.status_code == 200,
                        CLAIM_TTL_S + 10)
        assert decided.status_code == 200, decided.text
        assert worker_pid(client) != victim
        assert states(client, request_id) == ["AdminTask", "approved"]


def test_a_reset_during_an_approval_leaves_no_event_for_the_deleted_request(tmp_path, store_url) -> None:
    """Issue 11, item 8: the approval finishes only if its request still waits under its claim;
    after a reset it is gone, so the approval answers 404 2007 and writes no event."""
    with served(tmp_path, store_url) as mock:
        client = mock.client()
        request_id = client.pending("EARN-BADGE")["requestId"]
        approval, result = slow_approval(client, request_id, 3000)
        assert client.admin("POST", "reset").status_code == 200
        approval.join(35)
        late = result["answer"]
        assert late.status_code == 404, late.text
        assert late.json()["errors"][0]["code"] == 2007
        assert client.admin("GET", "events").json()["events"] == []
        assert client.get(request_id).status_code == 404


# -- the same rules at the store's level: two stores on one file ---------------------------------
@pytest.fixture
def two_stores(store_url) -> Iterator[tuple[Any, Any]]:
    config = MockConfig(db=store_url)
    first, second = open_store(config), open_store(config)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _document(state: str = "AdminTask") -> dict[str, Any]:
    return {"requestId": "r-1", "userId": 1, "state": state, "startTime": "2026-01-01T00:00:00", "endTime": None}


def test_a_lapsed_claim_taken_over_makes_the_first_finish_lose(two_stores) -> None:
    first, second = two_stores
    with first.transaction() as tx:
        tx.create_request(51250, "EARN-BADGE", _document(), {})
    with first.transaction() as tx:
        mine = tx.claim_decision("r-1", ttl_s=1.0)  # long enough for the second store to connect, even loaded
    with second.transaction() as tx:
        assert tx.claim_decision("r-1") is None  # live: nobody else may take it
        assert tx.get_request(51250, "r-1").claimed
    time.sleep(1.1)
    with second.transaction() as tx:
        theirs = tx.claim_decision("r-1")
        assert theirs is not None
    with second.transaction() as tx:
        assert tx.finish_decision("r-1", theirs, {**_document("approved"), "endTime": "x"}, 2)
    with first.transaction() as tx:
        assert not tx.finish_decision("r-1", mine, {**_document("rejected"), "endTime": "x"}, 3)
        assert not tx.finish_decision("r-1", None, {**_document("rejected"), "endTime": "x"}, 3)
    with first.read() as reader:
        assert reader.get_request(51250, "r-1").state == "approved"


def test_v1_1_ids_from_two_stores_never_collide(two_stores) -> None:
    ids: list[int] = []

    def take(store: Any) -> None:
        for _ in range(50):
            with store.transaction() as tx:
                ids.append(tx.next_legacy_id())

    threads = [threading.Thread(target=take, args=(s,)) for s in two_stores for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(ids) == 200 and len(set(ids)) == 200
    assert min(ids) == 32600001
