"""Hypothesis strategies from the contract: valid and invalid bodies per request type, decisions,
v1.1 batches. Public: QA suites import them; `contracts run` and `contracts fixtures` use them too.

    from hypothesis import given
    from capillary_contract import load_contract, strategies

    contract = load_contract()
    path = contract.create_path("GOODWILL-POINTS")

    @given(body=strategies.create_bodies("GOODWILL-POINTS"))
    def test_a_valid_body_is_accepted(capillary, body):
        assert capillary.maker.post(path, json=body).status_code == 200

    @given(case=strategies.invalid_create_bodies("GOODWILL-POINTS"))
    def test_a_broken_rule_is_refused_with_its_code(capillary, case):
        answer = capillary.maker.post(path, json=case.body)
        assert answer.status_code == case.status          # case.rule / case.field say what is broken
        assert case.code in [e["code"] for e in answer.json()["errors"]]

Every strategy is derived from openapi.yaml when first drawn from (`st.deferred`), so importing
this module or building a strategy costs nothing: the documented examples come first (no search),
generated variety comes from Schemathesis's public `as_strategy()` on the contract's operations,
invalid bodies are single-rule breaks labelled by `breaks` with the documented status and code.

Each strategy is built once per arguments and contract and then reused: `create_bodies("X")` is
the same object however often it is called, so drawing from it inside a test
(`data.draw(strategies.create_bodies(t))`) costs a draw, not a rebuild of the Schemathesis
operation per example (that rebuild held such a test to ~3-7 examples/s; bench/bench_strategies.py).
"""
from __future__ import annotations

import copy
import functools
import os
from typing import Any

from hypothesis import strategies as st

from . import breaks
from .examples import decision_body, documented_bodies
from .loader import Contract, load_contract

# One strategy per arguments: building Schemathesis's strategy for an operation costs far more than
# a draw from it, and Hypothesis keeps what it learns about a strategy on the object.
built_once = functools.lru_cache(maxsize=256)  # bounded: `decisions(st.just(id))` per example makes new keys

# -- the contract as Schemathesis sees it ----------------------------------------------------
def derived_spec(contract: Contract) -> dict[str, Any]:
    """A fresh copy of the spec, for Schemathesis to load or for a caller to extend with operations
    of its own (the fixtures' variant paths). Nothing needs deriving: each request type has its own
    path whose create body is that type's schema."""
    return copy.deepcopy(contract.spec)


@functools.lru_cache(maxsize=2)
def _schema(source: str, mtime: float) -> Any:
    import schemathesis  # a second of imports: only when something is generated from the spec

    return schemathesis.openapi.from_dict(derived_spec(load_contract(source)))


def openapi_schema(contract: Contract | None = None) -> Any:
    """Schemathesis's view of the contract as it is (cached per spec file version): each request
    type has its own path and create schema, so generation pairs every type with its own body."""
    contract = contract or load_contract()
    return _schema(contract.source, os.stat(contract.source).st_mtime)


def _operation_bodies(contract: Contract, path: str, method: str) -> st.SearchStrategy:
    return openapi_schema(contract)[path][method].as_strategy().map(lambda case: case.body)


# -- create bodies ---------------------------------------------------------------------------
@built_once
def create_bodies(url_name: str, contract: Contract | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Valid create bodies of a type: its documented body first, then bodies Schemathesis generates
    from the type's create schema (each one the schema accepts)."""

    def build() -> st.SearchStrategy:
        c = contract or load_contract()
        validator = c.component_validator(c.request_types[url_name]["schemaName"])
        generated = _operation_bodies(c, c.create_path(url_name), "POST").filter(validator.is_valid)
        return st.one_of(st.just(None).map(lambda _: documented_bodies(c)[url_name]), generated)

    return st.deferred(build)


@built_once
def invalid_create_bodies(url_name: str, contract: Contract | None = None) -> st.SearchStrategy[breaks.InvalidBody]:
    """Create bodies that break one documented rule, each with `.rule`, `.field`, `.body` and the
    answer it earns (`.status`, `.code`, `.message`)."""

    def build() -> st.SearchStrategy:
        c = contract or load_contract()
        bodies = documented_bodies(c)
        cases = breaks.invalid_create_bodies(c, url_name, bodies[url_name], bodies)
        return st.sampled_from(cases)

    return st.deferred(build)


# -- decisions --------------------------------------------------------------------------------
@built_once
def decisions(request_ids: st.SearchStrategy[str] | None = None,
              contract: Contract | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Valid decision bodies: a documented decision and a message, on the given request ids."""

    def build() -> st.SearchStrategy:
        c = contract or load_contract()
        payload = c.resolve(c.components["schemas"]["AdminTaskPayload"])["properties"]
        verdicts = c.resolve(payload["actionDecision"]).get("enum") or ["approved", "rejected"]
        ids = request_ids if request_ids is not None else st.uuids(version=1).map(str)
        messages = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=200)
        validator = c.component_validator("DecisionBody")
        return st.builds(lambda rid, verdict, text: decision_body(rid, verdict, text, c), ids,
                         st.sampled_from(verdicts), messages).filter(validator.is_valid)

    return st.deferred(build)


@built_once
def invalid_decisions(contract: Contract | None = None) -> st.SearchStrategy[breaks.InvalidBody]:
    """Decision bodies that break one documented rule, labelled like `invalid_create_bodies`."""
    return st.deferred(lambda: st.sampled_from(breaks.invalid_decisions(contract or load_contract())))


# -- v1.1 batches --------------------------------------------------------------------------------
LEGACY_OPERATIONS = {"add": "addLegacyRequests", "approve": "approveLegacyRequests", "reject": "rejectLegacyRequests"}


@built_once
def legacy_batches(verb: str = "add", contract: Contract | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Valid v1.1 batch bodies for `add`, `approve` or `reject`: Schemathesis's generation from the
    operation's body schema (envelope and every item), each one the schema accepts."""

    def build() -> st.SearchStrategy:
        c = contract or load_contract()
        op = c.operations[LEGACY_OPERATIONS[verb]]
        return _operation_bodies(c, op.path, op.method.upper()).filter(op.body.is_valid)

    return st.deferred(build)
