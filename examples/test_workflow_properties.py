"""Properties over every body the contract allows, and every single broken rule, per request type.

The strategies come from the kit (`capillary_contract.strategies`), derived from openapi.yaml.
`capillary` is function-scoped, so Hypothesis is told the mock is shared by a test's examples:
each example makes its own request, so none depends on another's state.
"""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from capillary_contract import load_contract, strategies

CONTRACT = load_contract()
TYPES = sorted(CONTRACT.request_types)
shared_mock = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("request_type", TYPES)
@shared_mock
@given(data=st.data())
def test_every_valid_body_waits_for_a_checker(capillary, request_type, data):
    body = data.draw(strategies.create_bodies(request_type))
    answer = capillary.maker.post(CONTRACT.create_path(request_type), json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["state"] == "AdminTask"


@pytest.mark.parametrize("request_type", TYPES)
@shared_mock
@given(data=st.data())
def test_every_broken_rule_is_refused_with_its_documented_code(capillary, request_type, data):
    case = data.draw(strategies.invalid_create_bodies(request_type))
    answer = capillary.maker.post(CONTRACT.create_path(request_type), json=case.body)
    capillary.assert_error(answer, case.code, case.status)
