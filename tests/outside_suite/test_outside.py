"""A QA team's suite, written only against the README's "Testing with pytest" section.

tests/test_install.py copies this folder out of the repository and runs it with the kit installed
from a wheel into a new virtual environment (`pytest -n 2`). Not collected by the repository's
own run (tests/conftest.py ignores this folder).
"""
import pytest
from hypothesis import HealthCheck, given, settings

from capillary_contract import strategies

TYPE = "GOODWILL-POINTS"
LIST = "/api_gateway/v2/request-workflow/requests"


@pytest.mark.capillary_control
@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_each_test_starts_from_a_reset_mock(capillary, attempt):
    capillary.create(TYPE)
    assert len(capillary.checker.get(LIST).json()["data"]) == 1


def test_maker_to_checker_with_its_events(capillary):
    request = capillary.create(TYPE)
    assert request["state"] == "AdminTask"
    assert capillary.approve(request)["state"] == "approved"
    events = capillary.events(request["requestId"])
    assert [e["data"]["currentRequestState"] for e in events] == ["AdminTask", "approved"]


def test_a_maker_cannot_approve_their_own_request(capillary):
    request = capillary.create(TYPE)
    answer = capillary.decide(request, "approved", user="maker")
    assert answer.status_code == 403
    capillary.assert_error(answer, 2001)


def test_another_org_gets_not_found(capillary):
    request = capillary.create(TYPE)
    answer = capillary.outsider.get(f"{LIST}/{request['requestId']}")
    assert answer.status_code == 404
    capillary.assert_error(answer, 2007)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=strategies.invalid_create_bodies(TYPE))
def test_every_broken_rule_gets_its_documented_answer(capillary, case):
    answer = capillary.maker.post(capillary.contract.create_path(TYPE), json=case.body)
    capillary.assert_error(answer, case.code, case.status)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=strategies.create_bodies(TYPE))
def test_every_valid_body_is_accepted(capillary, body):
    answer = capillary.maker.post(capillary.contract.create_path(TYPE), json=body)
    assert answer.status_code == 200, answer.text
