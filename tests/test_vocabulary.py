"""The lifecycle's words are the contract's: each is defined once in capillary_contract.lifecycle
and must say what openapi.yaml says, so the modules that import it cannot drift from the spec."""
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
    validator = CONTRACT.operations["decideRequest"].body
    for verdict in lifecycle.DECISIONS:
        body = examples.decision_body("d9df3b65-62a7-11ee-aa6d-0aaee4e533d2", verdict, "decided ✓")
        assert validator.violations(body) == []
        assert body["payload"]["AdminTask-Payload"] == {"actionDecision": verdict, "actionMessage": "decided ✓"}
