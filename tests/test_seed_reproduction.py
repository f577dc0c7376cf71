"""The mock reproduces the documents' v2 examples (issue 2: "reproducible by the mock").

Oracle: the JSON examples read straight from the vendored seed pages (tests/seed_docs.py),
never from openapi.yaml. Values the mock must make up itself (request and event ids, clock
times) are masked; everything else must be equal.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread
from seed_docs import seed_examples

BASE = "/api_gateway/v2/request-workflow"
SEEDS = seed_examples()
V2_RESPONSES = [s for s in SEEDS if isinstance(s.value, dict) and "details" in s.value.get("data", {})]
EVENTS = [s for s in SEEDS if isinstance(s.value, dict) and s.value.get("eventName") == "requestWorkflowEvent"]
URL_NAME = {"customer-status-change": "CUSTOMER-STATUS-CHANGE", "points-redemption": "POINTS-REDEMPTION",
            "goodwill-points": "GOODWILL-POINTS", "earn-badge": "EARN-BADGE", "issue-badge": "ISSUE-BADGE",
            "retro-transaction": "RETRO-TRANSACTION"}
EVENT_URL_NAME = {url.replace("-", "_"): url for url in URL_NAME.values()}
ENTITY = {"tillId": "50682289", "storeId": "50682288", "zoneId": "50682286", "conceptId": "50678331"}


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    db = tmp_path_factory.mktemp("seeds") / "state.db"
    with serve_in_thread(MockConfig(db=str(db), strict=True, examples=True, dispatch=False)) as running:
        yield running


def test_every_documented_request_is_served_as_documented(mock):
    latest = {}
    for seed in V2_RESPONSES:  # the decided form of a request wins over its pending form
        data = seed.value["data"]
        if data["requestId"] not in latest or data["state"] != "AdminTask":
            latest[data["requestId"]] = data
    assert len(latest) == 6
    for request_id, data in latest.items():
        answer = requests.get(f"{mock.base_url}{BASE}/requests/{request_id}", headers=mock.headers("checker"), timeout=10)
        assert answer.status_code == 200
        assert answer.json() == {"data": data}


def _masked(value: dict[str, Any], *paths: tuple[str, ...]) -> dict[str, Any]:
    out = copy.deepcopy(value)
    for path in paths:
        node = out
        for key in path[:-1]:
            node = node[key]
        if path[-1] in node:
            node[path[-1]] = "<made up by the server>"
    return out


def test_documented_create_answers_are_reproduced(mock):
    """Seed 003: the goodwill create body gives the documented pending answer."""
    [body] = [s.value for s in SEEDS if s.seed.startswith("003") and "entityInfo" in s.value]
    [documented] = [s.value for s in SEEDS if s.seed.startswith("003") and "data" in s.value]
    answer = requests.post(f"{mock.base_url}{BASE}/GOODWILL-POINTS", json=body, headers=mock.headers("maker"), timeout=10)
    assert answer.status_code == 200
    made_up = [("data", "requestId"), ("data", "startTime"), ("data", "userName")]  # userName is obfuscated in the page
    assert _masked(answer.json(), *made_up) == _masked(documented, *made_up)


@pytest.mark.parametrize("seed", EVENTS, ids=lambda s: f"{s.id}-{s.value['data']['requestType']}-{s.value['data']['currentRequestState']}")
def test_documented_events_are_reproduced(mock, seed):
    """Raise a request with the event's attributes, take it to the event's state: the event matches."""
    documented = seed.value
    data = documented["data"]
    url_name = EVENT_URL_NAME[data["requestType"]]
    call = {"hostname": "https://crm-nightly-new.cc.capillarytech.com", "method": "POST",
            "queryParams": data["requestAttributes"].get("queryParams", {}), "body": data["requestAttributes"]["body"],
            "headers": {"Authorization": "Basic aW5kLjE6MjAyY2I5NjJhYzU5MDc1Yjk2NGIwNzE1MmQyMzRiNzA=",
                        "content-type": "application/json", "X-CAP-CLIENT-SIGNATURE": "maker"}}
    call["path"] = {"CUSTOMER-STATUS-CHANGE": "/v2/customers/lookup/status", "POINTS-REDEMPTION": "/v1.1/points/redeem",
                    "GOODWILL-POINTS": "/internal/goodwill/", "EARN-BADGE": "/api_gateway/v1/badges/customer/earn",
                    "ISSUE-BADGE": "/api_gateway/v1/badges/badgeMeta/customer/issueBulk"}[url_name]
    if url_name == "CUSTOMER-STATUS-CHANGE":
        call["method"] = "PUT"
    created = requests.post(f"{mock.base_url}{BASE}/{url_name}", json={"entityInfo": ENTITY, "payload": {"IntouchAPITask-Payload": call}},
                            headers=mock.headers("maker"), timeout=10)
    assert created.status_code == 200, created.text
    request_id = created.json()["data"]["requestId"]
    state = data["currentRequestState"]
    if state != "AdminTask":
        decision = {"requestId": request_id, "actionName": "AdminTask", "payload": {"AdminTask-Payload": {
            "actionDecision": "rejected" if state == "rejected" else "approved", "actionMessage": data["comment"]}}}
        headers = {**mock.headers("checker"), "X-Mock-Outcome": "failure" if state == "failed" else "success"}
        decided = requests.put(f"{mock.base_url}{BASE}/{url_name}", json=decision, headers=headers, timeout=10)
        assert decided.status_code == 200, decided.text
        assert decided.json()["data"]["state"] == state
    events = requests.get(f"{mock.base_url}/__admin/events", params={"requestId": request_id}, timeout=10).json()["events"]
    emitted = events[-1]["event"]
    made_up = [("eventId",), ("orgId",), ("refId",), ("apiRequestId",), ("createdAt",), ("data", "requestId"),
               ("data", "updateTime")]
    if "checkerId" not in data:  # some documented events leave the checker out; the mock always names it
        emitted["data"].pop("checkerId", None)
    assert _masked(emitted, *made_up) == _masked(documented, *made_up)
    assert emitted["refId"] == f"{emitted['orgId']}_{request_id}"


def test_documented_v11_approvals_are_reproduced(mock):
    """Seed 001: with --examples, approving the documented bodies gives the documented answers."""
    legacy = [s.value for s in SEEDS if s.seed.startswith("001")]
    bodies = [v for v in legacy if "root" in v]
    answers = [v for v in legacy if "response" in v]
    assert len(bodies) == len(answers) == 3
    for body, documented in zip(bodies, answers):
        answer = requests.post(f"{mock.base_url}/v1.1/request/approve", params={"format": "json"}, json=body,
                               headers=mock.headers("checker"), timeout=10)
        assert answer.status_code == 200
        assert answer.json() == documented
