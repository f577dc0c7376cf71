"""The kit's words are defined once, and checked here against what they name: the lifecycle's in
capillary_contract.lifecycle against openapi.yaml, the default users in capillary_contract.users
against the users the mock serves; so the modules that import them cannot drift."""
from __future__ import annotations

from capillary_contract import examples, lifecycle
from capillary_contract.loader import load_contract

CONTRACT = load_contract()
SCHEMAS = CONTRACT.components["schemas"]


def test_states_are_the_request_state_enum():
    assert list(lifecycle.STATES) == SCHEMAS["RequestState"]["enum"]
    assert lifecycle.TERMINAL == set(lifecycle.STATES) - {lifecycle.PENDING}
    assert lifecycle.APPROVAL_OUTCOMES < lifecycle.TERMINAL


def test_decisions_are_the_documented_verdicts():
    assert list(lifecycle.DECISIONS) == SCHEMAS["AdminTaskPayload"]["properties"]["actionDecision"]["enum"]


def test_a_decision_body_is_what_the_contract_accepts():
    validators = [CONTRACT.decide_operation(rtype).body for rtype in CONTRACT.request_types]
    for verdict, validator in ((v, w) for v in lifecycle.DECISIONS for w in validators):
        body = examples.decision_body("d9df3b65-62a7-11ee-aa6d-0aaee4e533d2", verdict, "decided ✓")
        assert validator.violations(body) == []
        assert body["payload"]["AdminTask-Payload"] == {"actionDecision": verdict, "actionMessage": "decided ✓"}


def test_the_mock_serves_the_default_users():
    from capillary_contract.users import DEFAULT_USERS
    from mockserver.config import MockConfig
    from mockserver.identity import Directory

    served = Directory.from_file(None, MockConfig().jwt_secret).users
    assert sorted(served) == sorted(DEFAULT_USERS)
    for name, promised in DEFAULT_USERS.items():
        user = served[name]
        assert (user.password, user.user_id, user.org_id, user.trusted) == \
            (promised.password, promised.user_id, promised.org, promised.trusted)
        assert user.permissions == set(promised.permissions)
