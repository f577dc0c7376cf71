"""Several `mockserver serve` processes on one PostgreSQL database are one mock.

Two replicas (gunicorn, two workers each, their own webhook dispatcher process) on one real
PostgreSQL database, behind the README's nginx, with a real recording webhook receiver: all
on 127.0.0.1. Every wait is bounded.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest
import requests

from mock_support import BASE, Client, auth, body_for, call_of, decision
from capillary_contract.receiver import Receiver
from replica_support import Replicas, balancer, replicas
from test_legacy_api import PATHS, codes, goodwill, items_of
from test_mock_served import wrapped_api  # noqa: F401 (a fixture: the wrapped API, counting its calls)

FAST_WEBHOOKS = ("--webhook-delay", "0.05", "--webhook-max-delay", "0.2", "--webhook-timeout", "5")
TAKEOVER_S = 20.0


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def group(tmp_path_factory, postgres_server, hook) -> Iterator[Replicas]:
    """Started once for the module (a replica takes seconds to start): the tests reset it."""
    url = postgres_server.create_database("replicas")
    with replicas(tmp_path_factory.mktemp("replicas"), url, 2, "--workers", "2", "--chain", "--chain-allow", "127.0.0.1", "--webhook", hook.url,
                  *FAST_WEBHOOKS) as members:
        yield members


@pytest.fixture
def pair(group) -> Replicas:
    """The two replicas, reset (through the first: a reset is the database's, so every replica's)."""
    assert group.members[0].client().admin("POST", "reset").status_code == 200
    return group


def _events_of(hook: Receiver, request_id: str) -> list[str]:
    return [b["data"]["currentRequestState"] for b in hook.accepted() if b["data"]["requestId"] == request_id]


def _settled(client: Client, request_id: str | None = None) -> list[dict[str, Any]]:
    params = {"waitFor": "all", "timeout": 10, **({"requestId": request_id} if request_id else {})}
    for _ in range(3):  # a wait is at most 10 s a call: up to 30 s in all
        answer = client.admin("GET", "events", params=params)
        assert answer.status_code == 200, answer.text
        if answer.json()["timedOut"] is False:
            break
    assert answer.json()["timedOut"] is False, answer.text
    return answer.json()["events"]


def test_32_approvals_over_two_replicas_one_winner_one_call_one_event_delivered_once(pair, hook, wrapped_api):
    url, calls = wrapped_api
    one, other = (m.client() for m in pair.members)
    body = body_for("EARN-BADGE")
    call_of(body)["hostname"] = url
    pending = one.pending("EARN-BADGE", body)
    barrier = threading.Barrier(32, timeout=30)

    def approve(i: int) -> requests.Response:
        replica = pair.members[i % 2]
        with requests.Session() as session:
            barrier.wait()
            return session.put(f"{replica.base_url}{BASE}/EARN-BADGE", json=decision(pending["requestId"]),
                               headers=auth("checker" if i % 4 < 2 else "supervisor"), timeout=60)

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(approve, range(32)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 31, [(a.status_code, a.text[:200]) for a in answers]
    assert calls == ["/api_gateway/v1/badges/customer/earn"]
    events = _settled(other, pending["requestId"])
    assert [e["state"] for e in events] == ["AdminTask", "approved"]
    assert [d["attempts"] for e in events for d in e["deliveries"]] == [1, 1]
    assert _events_of(hook, pending["requestId"]) == ["AdminTask", "approved"]  # each once, in order
    winner = next(a for a in answers if a.status_code == 200).json()["data"]
    assert one.get(pending["requestId"]).json()["data"] == other.get(pending["requestId"]).json()["data"] == winner


def test_created_on_one_replica_read_listed_and_decided_on_the_other(pair, hook):
    one, other = (m.client() for m in pair.members)
    created = one.pending("GOODWILL-POINTS")
    request_id = created["requestId"]
    assert other.get(request_id).json()["data"] == created
    assert request_id in [d["requestId"] for d in other.list(limit=100).json()["data"]]
    rejected = other.decide("GOODWILL-POINTS", request_id, "rejected")
    assert rejected.status_code == 200, rejected.text
    assert one.get(request_id).json()["data"]["state"] == "rejected"
    assert one.decide("GOODWILL-POINTS", request_id).status_code == 409
    last = _settled(other, request_id)[-1]
    waited = one.admin("GET", "events", params={"waitFor": last["eventId"], "timeout": 10})  # waitFor on either
    assert waited.json()["timedOut"] is False
    assert [e["state"] for e in waited.json()["events"] if e["requestId"] == request_id] == ["AdminTask", "rejected"]
    assert _events_of(hook, request_id) == ["AdminTask", "rejected"]


def test_reset_faults_subscriptions_and_journal_are_shared(pair, hook):
    one, other = (m.client() for m in pair.members)
    assert one.admin("POST", "faults", json={"outcome": "failure", "requestType": "GOODWILL-POINTS"}).status_code == 201
    assert [f["outcome"] for f in other.admin("GET", "faults").json()["faults"]] == ["failure"]
    pending = other.pending("GOODWILL-POINTS")
    assert other.decide("GOODWILL-POINTS", pending["requestId"]).json()["data"]["state"] == "failed"
    assert one.admin("GET", "faults").json()["faults"] == []  # used up on the other replica
    with Receiver() as second:
        added = one.admin("POST", "subscriptions", json={"url": second.url})
        assert added.status_code == 201
        assert added.json()["id"] in [s["id"] for s in other.admin("GET", "subscriptions").json()["subscriptions"]]
        fresh = other.pending("ISSUE-BADGE")
        _settled(one, fresh["requestId"])
        assert [b["data"]["requestId"] for b in second.accepted()] == [fresh["requestId"]]
    deadline = time.monotonic() + 10  # journal rows are written in batches, by each replica
    while not any(e["path"].endswith("/ISSUE-BADGE") for e in one.admin("GET", "journal").json()["entries"]):
        assert time.monotonic() < deadline, "the other replica's journal rows never showed up"
        time.sleep(0.1)
    assert one.admin("POST", "reset").status_code == 200
    assert other.list().json()["pagination"]["totalElements"] == 0
    assert other.admin("GET", "events").json()["events"] == []
    assert [s["origin"] for s in other.admin("GET", "subscriptions").json()["subscriptions"]] == ["startup"]


def test_v11_ids_unique_and_one_approval_across_replicas(pair):
    def post(i: int, verb: str, items: list[dict[str, Any]], user: str) -> requests.Response:
        replica = pair.members[i % 2]
        return requests.post(replica.base_url + PATHS[verb], json={"root": {"request": items}}, headers=auth(user),
                             timeout=30)

    with ThreadPoolExecutor(16) as pool:
        batches = list(pool.map(lambda n: post(n, "add", [goodwill(points=str(n + 1))] * 5, "maker"), range(16)))
    ids = [int(i["id"]) for answer in batches for i in items_of(answer)]
    assert len(set(ids)) == 80 and max(ids) - min(ids) == 79
    target = {"id": str(min(ids)), "type": "GOODWILL", "base_type": "POINTS"}
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: post(n, "approve", [target], "checker"), range(16)))
    assert sorted(codes(a)[0] for a in answers) == [9000] + [9052] * 15


def test_kill_9_of_the_delivering_replica_another_delivers_within_seconds(pair, hook):
    with balancer(pair.ports) as lb:
        front = Client(lb.base_url)
        before = [front.pending("ISSUE-BADGE")["requestId"] for _ in range(4)]
        _settled(front)
        dead = pair.delivering()
        pair.kill_9(dead)
        after = []
        for _ in range(20):
            answer = front.create("ISSUE-BADGE", body_for("ISSUE-BADGE"))
            assert answer.status_code == 200, lb.log_tail()  # the balancer skips the dead replica
            after.append(answer.json()["data"]["requestId"])
        deadline = time.monotonic() + TAKEOVER_S
        while not set(after) <= {b["data"]["requestId"] for b in hook.accepted()}:
            assert time.monotonic() < deadline, f"not all 20 events delivered within {TAKEOVER_S}s"
            time.sleep(0.1)
        survivor = pair.members[1 - dead].client()
        for request_id in before + after:  # nothing acknowledged was lost
            assert survivor.get(request_id).status_code == 200
        delivered = Counter(b["eventId"] for b in hook.accepted() if b["data"]["requestId"] in before + after)
        assert len(delivered) == 24  # every created event

        restarted = pair.restart(dead).client()  # joins the same database, no reset
        assert restarted.admin("GET", "health").json()["requests"] == 24
        assert restarted.list(limit=100).json()["pagination"]["totalElements"] == 24
