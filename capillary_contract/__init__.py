"""Capillary's request-workflow contract as code: openapi.yaml, loaded once, and what it implies.

Everything else stands on this package and imports nothing of ours back: the mock applies its
lifecycle and validators, the contract suite checks deployments with them, the fixtures and the
strategies are generated from them.

    loader       Contract, Operation, SchemaValidator (one $ref resolver, x-capillary-error codes, paths)
    types        RequestType, the one shape of x-request-types
    lifecycle    states, steps and the transition table
    requests     the documented request-check order (credentials, org, permissions, params, body)
    catalogue    the documented HTTP status of each error code
    examples     the documented create body per type, the decision body
    breaks       single-rule breaks of a valid body, labelled with their documented answer
    strategies   public Hypothesis strategies: valid/invalid bodies, decisions, v1.1 batches
    instances    a JSON instance walked next to its schema
    http, receiver   header names, Basic credentials, free ports; a webhook receiver
    users        the kit's default identities (DESIGN.md section 3), one table

    >>> from capillary_contract import load_contract
    >>> contract = load_contract()            # $CAPILLARY_OPENAPI, else the packaged openapi.yaml
    >>> sorted(contract.request_types)[:2]
    ['CUSTOMER-STATUS-CHANGE', 'EARN-BADGE']
"""
from typing import Any

__all__ = ["Contract", "Operation", "SchemaValidator", "Violation", "load_contract", "spec_path"]


def __getattr__(name: str) -> Any:
    """The loader's names, imported when first asked for: a process that needs only `lifecycle` or
    `http` (a served mock's arbiter, its webhook dispatcher) does not load the validators' libraries."""
    if name in __all__:
        from . import loader
        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
