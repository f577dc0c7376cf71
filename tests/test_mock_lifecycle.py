"""Every request type's whole lifecycle over a real strict mock: approve, reject, fail, decide twice.

The `details` a decision leaves are compared with the keys of the spec's seed-000 examples, so
the mock grows `details` exactly as Capillary's documents show it.
"""
from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from mock_support import CONTRACT, TYPES, Client, assert_error, body_for
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread

DECIDE_EXAMPLES = {name: example for t in TYPES for name, example in
                   CONTRACT.examples(CONTRACT.decide_operation(t).operation_id, "200").items()}
CREATE_EXAMPLES = {name: example for t in TYPES for name, example in
                   CONTRACT.examples(CONTRACT.create_operation(t).operation_id, "200").items()}


def _example_keys(examples: dict[str, Any], predicate: Any) -> set[str]:
    """The `details` keys the documented examples that match `predicate` all share (asserting they agree)."""
    found = [frozenset(e["value"]["data"]["details"]) for e in examples.values() if predicate(e["value"]["data"])]
    assert found and len(set(found)) == 1, found
    return set(found[0])


PENDING_KEYS = _example_keys(CREATE_EXAMPLES, lambda d: d["state"] == "AdminTask")
DECIDED_KEYS = _example_keys(DECIDE_EXAMPLES, lambda d: d["requestType"] != "retro-transaction")
RETRO_KEYS = _example_keys(DECIDE_EXAMPLES, lambda d: d["requestType"] == "retro-transaction")
REJECTED_KEYS = DECIDED_KEYS - {"IntouchAPITask_Output"}


@pytest.fixture
def client(live_mock) -> Client:
    return Client(live_mock.base_url)


def assert_wrapped_output(output: dict[str, Any]) -> None:
    """As the seeds show it: a numeric status, header values as lists of strings, the API's own body."""
    assert isinstance(output["status"], int) and 100 <= output["status"] <= 599
    assert all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in output["headers"].values())
    assert "body" in output


def assert_decided(pending: dict[str, Any], decided: dict[str, Any], state: str, keys: set[str]) -> None:
    assert decided["state"] == state
    assert set(decided["details"]) == keys
    assert decided["requestId"] == pending["requestId"]
    assert decided["startTime"] == pending["startTime"]
    assert decided["endTime"] is not None and decided["endTime"] >= decided["startTime"]
    assert decided["details"]["IntouchAPITask-Payload"] == pending["details"]["IntouchAPITask-Payload"]


@pytest.mark.parametrize("url_type", TYPES)
def test_approve_runs_the_wrapped_call(client: Client, url_type: str) -> None:
    pending = client.pending(url_type)
    assert set(pending["details"]) == PENDING_KEYS
    assert pending["endTime"] is None
    assert pending["requestType"] == CONTRACT.request_types[url_type]["responseName"]

    answer = client.decide(url_type, pending["requestId"], "approved")
    assert answer.status_code == 200, answer.text
    approved = answer.json()["data"]
    assert_decided(pending, approved, "approved", DECIDED_KEYS)
    details = approved["details"]
    assert details["AdminTask_Output"] == "approved"
    assert details["ValidateCheckerAccess_Output"] is True
    assert details["AdminTask-Payload"]["actionDecision"] == "approved"
    assert_wrapped_output(details["IntouchAPITask_Output"])
    assert client.get(pending["requestId"]).json()["data"] == approved
    assert [e["state"] for e in client.events(pending["requestId"])] == ["AdminTask", "approved"]


@pytest.mark.parametrize("url_type", TYPES)
def test_reject_never_calls_anything(client: Client, url_type: str) -> None:
    pending = client.pending(url_type)
    answer = client.decide(url_type, pending["requestId"], "rejected")
    assert answer.status_code == 200, answer.text
    rejected = answer.json()["data"]
    assert_decided(pending, rejected, "rejected", REJECTED_KEYS)
    assert rejected["details"]["AdminTask_Output"] == "rejected"
    assert [e["state"] for e in client.events(pending["requestId"])] == ["AdminTask", "rejected"]


@pytest.mark.parametrize("url_type", TYPES)
def test_forced_failure_header_fails_the_request(client: Client, url_type: str) -> None:
    pending = client.pending(url_type)
    answer = client.decide(url_type, pending["requestId"], headers={"X-Mock-Outcome": "failure"})
    assert answer.status_code == 200, answer.text
    failed = answer.json()["data"]
    assert_decided(pending, failed, "failed", DECIDED_KEYS)
    assert_wrapped_output(failed["details"]["IntouchAPITask_Output"])
    assert [e["state"] for e in client.events(pending["requestId"])] == ["AdminTask", "failed"]


def test_an_unknown_forced_outcome_is_refused_and_decides_nothing(client: Client) -> None:
    """`X-Mock-Outcome` is described by the admin document (`MockOutcome`), not by Capillary's contract."""
    pending = client.pending("EARN-BADGE")
    answer = client.decide("EARN-BADGE", pending["requestId"], headers={"X-Mock-Outcome": "explode"})
    assert_error(answer, 400, 2008)
    assert answer.json()["errors"][0]["field"] == "X-Mock-Outcome"
    assert client.get(pending["requestId"]).json()["data"]["state"] == "AdminTask"


@pytest.mark.parametrize("url_type", TYPES)
def test_queued_fault_fails_the_next_approval_of_its_type(client: Client, url_type: str) -> None:
    fault = client.admin("POST", "faults", json={"outcome": "failure", "requestType": url_type, "status": 503,
                                                  "body": {"why": "forced by the test"}})
    assert fault.status_code == 201, fault.text
    pending = client.pending(url_type)
    failed = client.decide(url_type, pending["requestId"]).json()["data"]
    assert_decided(pending, failed, "failed", DECIDED_KEYS)
    output = failed["details"]["IntouchAPITask_Output"]
    assert (output["status"], output["body"]) == (503, {"why": "forced by the test"})
    assert client.admin("GET", "faults").json()["faults"] == []

    after = client.pending(url_type)  # the fault was used up: the next approval is simulated again
    assert client.decide(url_type, after["requestId"]).json()["data"]["state"] == "approved"


def test_fault_of_another_type_is_left_alone(client: Client) -> None:
    client.admin("POST", "faults", json={"outcome": "failure", "requestType": "EARN-BADGE"})
    pending = client.pending("ISSUE-BADGE")
    assert client.decide("ISSUE-BADGE", pending["requestId"]).json()["data"]["state"] == "approved"
    assert [f["requestType"] for f in client.admin("GET", "faults").json()["faults"]] == ["EARN-BADGE"]
    assert client.admin("DELETE", "faults").json() == {"faults": []}


def _forced(client: Client, outcome: str) -> tuple[requests.Response, float]:
    body = body_for("POINTS-REDEMPTION")
    del body["payload"]["IntouchAPITask-Payload"]["headers"]["X-CAP-CLIENT-SIGNATURE"]  # would fail by rule
    pending = client.pending("POINTS-REDEMPTION", body)
    started = time.monotonic()
    decided = client.decide("POINTS-REDEMPTION", pending["requestId"],
                            headers={"X-Mock-Outcome": outcome} if outcome else {})
    return decided, time.monotonic() - started


def test_forced_success(client: Client) -> None:
    assert _forced(client, "success")[0].json()["data"]["state"] == "approved"


@pytest.mark.parametrize("queued", [False, True])
def test_forced_timeout_waits_then_fails(tmp_path, queued: bool) -> None:
    """The approving call is held for --outcome-timeout, as a wrapped call that never answers would be."""
    with serve_in_thread(MockConfig(db=str(tmp_path / "state.db"), dispatch=False, outcome_timeout_s=0.6)) as mock:
        client = Client(mock.base_url)
        if queued:
            client.admin("POST", "faults", json={"outcome": "timeout", "requestType": "POINTS-REDEMPTION"})
        decided, waited = _forced(client, "" if queued else "timeout")
    document = decided.json()["data"]
    assert document["state"] == "failed" and waited >= 0.6
    assert document["details"]["IntouchAPITask_Output"]["status"] == 504


@pytest.mark.parametrize("first", ["approved", "rejected"])
@pytest.mark.parametrize("second", ["approved", "rejected"])
def test_deciding_again_is_refused(client: Client, first: str, second: str) -> None:
    pending = client.pending("GOODWILL-POINTS")
    decided = client.decide("GOODWILL-POINTS", pending["requestId"], first).json()["data"]
    again = client.decide("GOODWILL-POINTS", pending["requestId"], second, user="supervisor")
    assert_error(again, 409, 2002)
    assert client.get(pending["requestId"]).json()["data"] == decided
    assert len(client.events(pending["requestId"])) == 2


def test_failed_is_terminal_too(client: Client) -> None:
    pending = client.pending("EARN-BADGE")
    client.decide("EARN-BADGE", pending["requestId"], headers={"X-Mock-Outcome": "failure"})
    assert_error(client.decide("EARN-BADGE", pending["requestId"]), 409, 2002)


def test_decision_under_the_wrong_type_is_not_found(client: Client) -> None:
    pending = client.pending("EARN-BADGE")
    assert_error(client.decide("ISSUE-BADGE", pending["requestId"]), 404, 2007)
    assert client.get(pending["requestId"]).json()["data"]["state"] == "AdminTask"


def test_unknown_request_is_not_found(client: Client) -> None:
    assert_error(client.decide("EARN-BADGE", "00000000-0000-1000-8000-000000000000"), 404, 2007)
    assert_error(client.get("00000000-0000-1000-8000-000000000000"), 404, 2007)


def test_trusted_integration_retro_skips_the_checker(client: Client) -> None:
    answer = client.create("RETRO-TRANSACTION", body_for("RETRO-TRANSACTION"), user="integration")
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["state"] == "approved"
    assert set(data["details"]) == RETRO_KEYS
    assert "AdminTask-Payload" not in data["details"]
    assert data["endTime"] is not None and data["endTime"] >= data["startTime"]
    assert_wrapped_output(data["details"]["IntouchAPITask_Output"])
    assert [e["state"] for e in client.events(data["requestId"])] == ["approved"]
    assert_error(client.decide("RETRO-TRANSACTION", data["requestId"]), 409, 2002)


def test_retro_by_an_ordinary_maker_waits_for_a_checker(client: Client) -> None:
    pending = client.pending("RETRO-TRANSACTION")
    assert client.decide("RETRO-TRANSACTION", pending["requestId"]).json()["data"]["state"] == "approved"


def test_approved_event_names_the_checker_and_the_type(client: Client) -> None:
    pending = client.pending("ISSUE-BADGE")
    client.decide("ISSUE-BADGE", pending["requestId"], user="supervisor")
    created, approved = (e["event"] for e in client.events(pending["requestId"]))
    assert created["data"]["requestType"] == approved["data"]["requestType"] == "ISSUE_BADGE"
    assert approved["data"]["previousRequestState"] == "AdminTask"
    assert approved["data"]["checkerId"] == 240001
    assert approved["refId"] == f"51250_{pending['requestId']}"


def test_outcome_timeout_is_a_serve_option(capsys) -> None:
    from mockserver.cli import build_parser, config_from
    parser = build_parser()
    assert config_from(parser.parse_args(["serve", "--outcome-timeout", "0.4"])).outcome_timeout_s == 0.4
    with pytest.raises(SystemExit) as refused:
        parser.parse_args(["serve", "--outcome-timeout", "soon"])
    assert refused.value.code == 2 and "expected seconds from 0 to 300" in capsys.readouterr().err
