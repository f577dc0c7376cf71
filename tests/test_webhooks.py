"""Webhook delivery end to end: a real strict mock on 127.0.0.1 with a real SQLite file (then a real
PostgreSQL database), its dispatcher, and a real recording receiver on 127.0.0.1 scripted to fail in the
documented ways.

No sleeps: `GET /__admin/events?waitFor=...` blocks until deliveries settle.
"""
from __future__ import annotations

import contextlib
import math
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
import requests

from capillary_contract.examples import documented_bodies
from mockserver import webhooks
from mockserver.config import DeliveryPolicy, MockConfig, Subscription
from capillary_contract.loader import load_contract
from capillary_contract.http import basic_authorization
from mockserver.testing import RunningMock, serve_in_thread
from capillary_contract.http import free_port
from capillary_contract.receiver import Answer, Receiver, always, per_event

CONTRACT = load_contract()
EVENT = CONTRACT.operations["requestWorkflowEvent"].body  # webhooks.requestWorkflowEvent in openapi.yaml
BASE = "/api_gateway/v2/request-workflow"
BODIES = documented_bodies(CONTRACT)
HOOK_HEADERS = {"Authorization": "Bearer hook-secret", "X-Hook-Tenant": "qa"}
FAST = DeliveryPolicy(timeout_s=5.0, base_delay_s=0.01, max_delay_s=0.05, max_attempts=6, poll_interval_s=0.01)
WAIT_S = 30
WAIT_PER_CALL_S = 10  # the admin document's maximum `timeout` of `GET /__admin/events`


def _auth(user: str) -> dict[str, str]:
    return {"Authorization": basic_authorization(user, user), "X-CAP-API-AUTH-ORG-ID": "51250"}


class Api:
    """The v2 workflow and admin calls these tests make, over real HTTP."""

    def __init__(self, base_url: str):
        self.base_url, self.http = base_url, requests.Session()

    def subscribe(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        answer = self.http.post(f"{self.base_url}/__admin/subscriptions", json={"url": url, "headers": headers or {}},
                                timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def create(self, url_type: str, user: str = "maker") -> dict[str, Any]:
        answer = self.http.post(f"{self.base_url}{BASE}/{url_type}", json=BODIES[url_type], headers=_auth(user),
                                timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def decide(self, url_type: str, request_id: str, verdict: str, outcome: str | None = None) -> dict[str, Any]:
        body = {"requestId": request_id, "actionName": "AdminTask",
                "payload": {"AdminTask-Payload": {"actionDecision": verdict, "actionMessage": f"{verdict} by test"}}}
        headers = {**_auth("checker"), **({"X-Mock-Outcome": outcome} if outcome else {})}
        answer = self.http.put(f"{self.base_url}{BASE}/{url_type}", json=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]

    def events(self, **params: Any) -> dict[str, Any]:
        answer = self.http.get(f"{self.base_url}/__admin/events", params=params, timeout=WAIT_PER_CALL_S + 10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def settled(self, **params: Any) -> list[dict[str, Any]]:
        """Every listed event once its deliveries are delivered or given up (asserting they got there
        within WAIT_S): one wait is bounded by the admin document, so a longer wait is several."""
        for _ in range(math.ceil(WAIT_S / WAIT_PER_CALL_S)):
            answer = self.events(waitFor="all", timeout=WAIT_PER_CALL_S, **params)
            if not answer["timedOut"]:
                break
        assert answer["timedOut"] is False, self.unsettled(answer["events"])
        return answer["events"]

    def unsettled(self, events: list[dict[str, Any]]) -> str:
        """Why a wait ran out, in lines a failure report can show whole: each delivery still
        pending (tries, last answer, when the next is due), and what the health document says
        of the dispatcher and the outbox."""
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        lines = [f"deliveries still pending at {now}:"]
        for event in events:
            for d in event["deliveries"]:
                if d["state"] == "pending":
                    lines.append(f"  {event['requestId']} {event['state']}: attempts={d['attempts']}"
                                 f" lastStatus={d['lastStatus']} lastError={d['lastError']!r}"
                                 f" nextAttemptAt={d['nextAttemptAt']}")
        health = self.http.get(f"{self.base_url}/__admin/health", timeout=10)
        lines.append(f"health: {health.status_code} {health.text[:2000]}")
        return "\n".join(lines)


@contextlib.contextmanager
def running(db: str, rules: DeliveryPolicy = FAST, **config: Any) -> Iterator[tuple[RunningMock, Api]]:
    """A mock with its dispatcher on the store `db` (the `store_url` fixture: SQLite, then PostgreSQL)."""
    with serve_in_thread(MockConfig(db=db, strict=True, delivery=rules, **config)) as mock:
        try:
            yield mock, Api(mock.base_url)
        finally:
            webhooks.stop(mock.app)


def _lifecycle(api: Api, url_type: str, ending: str) -> str:
    """Create a request and bring it to `ending`; return its requestId."""
    request_id = api.create(url_type)["requestId"]
    if ending == "approved":
        assert api.decide(url_type, request_id, "approved")["state"] == "approved"
    elif ending == "rejected":
        assert api.decide(url_type, request_id, "rejected")["state"] == "rejected"
    elif ending == "failed":
        assert api.decide(url_type, request_id, "approved", outcome="failure")["state"] == "failed"
    return request_id


def _states(bodies: list[dict[str, Any]], request_id: str) -> list[str]:
    return [b["data"]["currentRequestState"] for b in bodies if b["data"]["requestId"] == request_id]


def _assert_conforms(event: dict[str, Any]) -> None:
    problems = [f"{v.field}: {v.detail}" for v in EVENT.violations(event)]
    assert not problems, problems


# -- the whole sequence, every type ----------------------------------------------------------
@pytest.mark.parametrize("url_type", list(CONTRACT.request_types))
def test_each_type_sends_its_whole_lifecycle_once_in_order(store_url, url_type: str) -> None:
    event_name = CONTRACT.request_types[url_type]["eventName"]
    with Receiver() as hook, running(store_url) as (_, api):
        subscription = api.subscribe(hook.url, HOOK_HEADERS)
        ids = {ending: _lifecycle(api, url_type, ending) for ending in ("approved", "rejected", "failed")}
        listed = api.settled()

    assert len(listed) == 6
    for entry in listed:
        _assert_conforms(entry["event"])
        (delivery,) = entry["deliveries"]
        assert delivery["subscriptionId"] == subscription["id"] and delivery["url"] == hook.url
        assert (delivery["state"], delivery["attempts"], delivery["lastStatus"]) == ("delivered", 1, 200)
        assert delivery["nextAttemptAt"] is None and delivery["deliveredAt"]
        assert [h["status"] for h in delivery["history"]] == [200]

    received = hook.accepted()
    assert Counter(b["eventId"] for b in received) == Counter(e["eventId"] for e in listed)  # each exactly once
    assert sorted(map(repr, received)) == sorted(repr(e["event"]) for e in listed)  # sent as written
    for ending, request_id in ids.items():
        assert _states(received, request_id) == ["AdminTask", ending]
    for body in received:
        _assert_conforms(body)
        assert body["data"]["requestType"] == event_name
        assert body["refId"] == f"{body['orgId']}_{body['data']['requestId']}"
    for arrival in hook.received:
        assert arrival.path == "/hooks"
        assert {k: arrival.headers.get(k) for k in HOOK_HEADERS} == HOOK_HEADERS
        assert arrival.headers["Content-Type"] == "application/json"


def test_a_trusted_retro_request_sends_its_one_decided_event(store_url) -> None:
    with Receiver() as hook, running(store_url) as (_, api):
        api.subscribe(hook.url)
        document = api.create("RETRO-TRANSACTION", user="integration")
        api.settled()
    (body,) = hook.accepted()
    _assert_conforms(body)
    assert body["data"]["requestId"] == document["requestId"]
    assert (body["data"]["previousRequestState"], body["data"]["currentRequestState"]) == ("AdminTask",
                                                                                          document["state"])


# -- retries ----------------------------------------------------------------------------------
def test_a_receiver_that_answers_503_twice_gets_each_event_once_more_after_recovery_in_order(store_url) -> None:
    with Receiver(script=per_event(503, 503)) as hook, running(store_url) as (_, api):
        api.subscribe(hook.url)
        ids = [_lifecycle(api, "POINTS-REDEMPTION", "approved"), _lifecycle(api, "GOODWILL-POINTS", "rejected")]
        listed = api.settled()

    for entry in listed:
        (delivery,) = entry["deliveries"]
        assert (delivery["state"], delivery["attempts"], delivery["lastStatus"]) == ("delivered", 3, 200)
        assert [h["status"] for h in delivery["history"]] == [503, 503, 200]
        assert delivery["history"][0]["error"].startswith("HTTP 503")
    arrivals = Counter(r.body["eventId"] for r in hook.received)
    assert set(arrivals.values()) == {3} and len(arrivals) == 4
    accepted = hook.accepted()
    assert len(accepted) == 4
    assert _states(accepted, ids[0]) == ["AdminTask", "approved"]
    assert _states(accepted, ids[1]) == ["AdminTask", "rejected"]
    for request_id in ids:  # the later event was not even tried before the earlier one got through
        order = [(r.body["data"]["currentRequestState"], r.answer.status) for r in hook.received
                 if r.body["data"]["requestId"] == request_id]
        assert order.index(("AdminTask", 200)) < min(i for i, (s, _) in enumerate(order) if s != "AdminTask")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_back_off_exponentially_and_stop_at_max_attempts(store_url, status: int) -> None:
    rules = DeliveryPolicy(timeout_s=5.0, base_delay_s=0.02, max_delay_s=0.05, max_attempts=4, poll_interval_s=0.01)
    with Receiver(script=always(status)) as hook, running(store_url, rules) as (_, api):
        api.subscribe(hook.url)
        api.create("GOODWILL-POINTS")
        (entry,) = api.settled()

    (delivery,) = entry["deliveries"]
    assert (delivery["state"], delivery["attempts"], delivery["lastStatus"]) == ("failed", 4, status)
    assert delivery["nextAttemptAt"] is None and delivery["deliveredAt"] is None
    assert len(hook.received) == 4
    starts = [datetime.fromisoformat(h["at"].replace("Z", "+00:00")).timestamp() for h in delivery["history"]]
    for n in range(1, 4):  # a retry never comes before its back-off: 0.02, 0.04, then capped at 0.05
        assert starts[n] - starts[n - 1] >= min(0.02 * 2 ** (n - 1), 0.05) - 0.002


def test_a_receiver_that_answers_400_gets_one_attempt(store_url) -> None:
    with Receiver(script=always(400)) as hook, running(store_url) as (_, api):
        api.subscribe(hook.url)
        request_id = _lifecycle(api, "POINTS-REDEMPTION", "approved")
        listed = api.settled()

    for entry in listed:
        (delivery,) = entry["deliveries"]
        assert (delivery["state"], delivery["attempts"], delivery["lastStatus"]) == ("failed", 1, 400)
        assert delivery["nextAttemptAt"] is None and delivery["lastError"].startswith("HTTP 400")
    # one try per event; given up on, the first no longer holds back the second
    assert [r.body["data"]["currentRequestState"] for r in hook.received] == ["AdminTask", "approved"]
    assert _states([r.body for r in hook.received], request_id) == ["AdminTask", "approved"]


def test_a_time_out_is_retried(store_url) -> None:
    rules = DeliveryPolicy(timeout_s=0.5, base_delay_s=0.01, max_delay_s=0.05, max_attempts=5, poll_interval_s=0.01)
    with Receiver(script=per_event(Answer(200, delay_s=1.5))) as hook, running(store_url, rules) as (_, api):
        api.subscribe(hook.url)
        api.create("EARN-BADGE")
        (entry,) = api.settled()

    (delivery,) = entry["deliveries"]
    # Delivered by a retry; on a loaded machine a retry may time out too, but only a time-out is retried.
    assert delivery["state"] == "delivered" and delivery["attempts"] >= 2
    *timed_out, last = delivery["history"]
    assert timed_out and all(a["status"] is None and "timed out" in a["error"] for a in timed_out)
    assert last["status"] == 200
    assert len(hook.received) == delivery["attempts"]  # each slow answer arrived too late: at least once, not exactly once


# -- a receiver that is down ------------------------------------------------------------------
def test_a_receiver_down_while_requests_are_made_receives_everything_once_it_starts(store_url) -> None:
    rules = DeliveryPolicy(timeout_s=5.0, base_delay_s=0.01, max_delay_s=0.05, max_attempts=100_000,
                           poll_interval_s=0.01)
    hook = Receiver(port=free_port())
    with running(store_url, rules) as (_, api):
        api.subscribe(hook.url, HOOK_HEADERS)
        ids = {ending: _lifecycle(api, "ISSUE-BADGE", ending) for ending in ("approved", "rejected", "failed")}
        waited = api.events(waitFor="all", timeout=0.3)
        assert waited["timedOut"] is True
        first = {e["requestId"]: e for e in waited["events"] if e["state"] == "AdminTask"}
        _until_tried(api, list(first))
        with hook:
            listed = api.settled()

    assert all(e["deliveries"][0]["state"] == "delivered" for e in listed)
    received = hook.accepted()
    assert Counter(b["eventId"] for b in received) == Counter(e["eventId"] for e in listed)
    for ending, request_id in ids.items():
        assert _states(received, request_id) == ["AdminTask", ending]


def _until_tried(api: Api, request_ids: list[str], rounds: int = 200) -> None:
    """Until the first event of each request has failed at least one try on the refused port."""
    for _ in range(rounds):
        entries = [e for e in api.events(waitFor="all", timeout=0.02)["events"] if e["requestId"] in request_ids
                   and e["state"] == "AdminTask"]
        deliveries = [e["deliveries"][0] for e in entries]
        if deliveries and all(d["attempts"] >= 1 for d in deliveries):
            for d in deliveries:
                assert d["state"] == "pending" and d["lastStatus"] is None
                assert "refused" in d["lastError"] and d["nextAttemptAt"]
                assert d["history"][0]["status"] is None
            return
    pytest.fail("the dispatcher never tried the refused receiver")


# -- what the events view answers --------------------------------------------------------------
def test_wait_for_one_event_and_filter_by_request(store_url) -> None:
    with Receiver() as hook, running(store_url) as (_, api):
        api.subscribe(hook.url)
        first = _lifecycle(api, "POINTS-REDEMPTION", "approved")
        second = _lifecycle(api, "GOODWILL-POINTS", "rejected")
        last = api.events(requestId=second)["events"][-1]
        waited = api.events(waitFor=last["eventId"], timeout=WAIT_PER_CALL_S)
        assert waited["timedOut"] is False
        mine = next(e for e in waited["events"] if e["eventId"] == last["eventId"])
        assert mine["deliveries"][0]["state"] == "delivered"
        only = api.settled(requestId=first)
        assert {e["requestId"] for e in only} == {first} and [e["state"] for e in only] == ["AdminTask", "approved"]
        unknown = api.events(waitFor="no-such-event", timeout=0.05)
        assert unknown["timedOut"] is True and len(unknown["events"]) == 4
        assert "timedOut" not in api.events()


def test_a_subscription_receives_only_events_created_after_it(store_url) -> None:
    with Receiver() as hook, running(store_url) as (_, api):
        request_id = api.create("POINTS-REDEMPTION")["requestId"]
        api.subscribe(hook.url)
        api.decide("POINTS-REDEMPTION", request_id, "approved")
        before, after = api.settled()
    assert before["deliveries"] == []
    assert after["deliveries"][0]["state"] == "delivered"
    assert [b["eventId"] for b in hook.accepted()] == [after["eventId"]]


def test_startup_subscriptions_are_kept_across_restarts_and_resets(store_url) -> None:
    with Receiver() as hook:
        startup = (Subscription(hook.url, HOOK_HEADERS),)
        with running(store_url, webhooks=startup) as (_, api):
            _lifecycle(api, "POINTS-REDEMPTION", "approved")
            api.settled()
            (listed,) = api.http.get(f"{api.base_url}/__admin/subscriptions", timeout=10).json()["subscriptions"]
            masked = {name: "***" for name in HOOK_HEADERS}  # subscription headers are secrets: never shown
            assert (listed["url"], listed["headers"], listed["origin"]) == (hook.url, masked, "startup")
        with running(store_url, webhooks=startup) as (_, api):  # the same flags again: the same one subscription
            subs = api.http.get(f"{api.base_url}/__admin/subscriptions", timeout=10).json()["subscriptions"]
            assert [s["id"] for s in subs] == [listed["id"]]
            assert api.http.post(f"{api.base_url}/__admin/reset", timeout=10).status_code == 200
            assert api.events()["events"] == []
            _lifecycle(api, "GOODWILL-POINTS", "rejected")
            assert len(api.settled()) == 2
        with running(store_url) as (_, api):  # not given any more: gone
            assert api.http.get(f"{api.base_url}/__admin/subscriptions", timeout=10).json()["subscriptions"] == []
    assert len(hook.accepted()) == 4
    assert all(r.headers.get("Authorization") == "Bearer hook-secret" for r in hook.received)


def test_no_dispatcher_leaves_deliveries_pending(store_url) -> None:
    with Receiver() as hook, running(store_url, dispatch=False) as (_, api):
        api.subscribe(hook.url)
        api.create("POINTS-REDEMPTION")
        waited = api.events(waitFor="all", timeout=0.1)
    assert waited["timedOut"] is True
    (delivery,) = waited["events"][0]["deliveries"]
    assert (delivery["state"], delivery["attempts"], delivery["history"]) == ("pending", 0, [])
    assert hook.received == []
