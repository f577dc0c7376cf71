"""A request's life, maker to checker, with the webhook events each step announces.

Copy this folder into your own suite: with the kit installed, the `capillary` fixture is there.
"""
import pytest

TYPE = "GOODWILL-POINTS"


def states(events):
    return [event["data"]["currentRequestState"] for event in events]


def test_a_checker_approves_what_a_maker_raised(capillary):
    request = capillary.create(TYPE)                      # as the maker: waits for a checker
    assert request["state"] == "AdminTask"

    approved = capillary.approve(request)                 # as the checker
    assert approved["state"] == "approved"
    assert approved["details"]["AdminTask_Output"] == "approved"
    assert states(capillary.events(request["requestId"])) == ["AdminTask", "approved"]


def test_a_rejected_request_never_runs_its_call(capillary):
    request = capillary.create(TYPE)
    rejected = capillary.reject(request, message="not this time")
    assert rejected["state"] == "rejected"
    assert "IntouchAPITask_Output" not in rejected["details"]
    assert states(capillary.events(request["requestId"])) == ["AdminTask", "rejected"]


@pytest.mark.capillary_outcome("failure", request_type=TYPE)
def test_an_approval_whose_call_fails_ends_failed(capillary):
    request = capillary.create(TYPE)
    assert capillary.approve(request)["state"] == "failed"
    assert states(capillary.events(request["requestId"])) == ["AdminTask", "failed"]


def test_each_test_starts_from_an_empty_mock(capillary):
    answer = capillary.checker.get("/api_gateway/v2/request-workflow/requests")
    assert answer.status_code == 200
    assert answer.json()["data"] == []
