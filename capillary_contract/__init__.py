"""Capillary's request-workflow contract as code: openapi.yaml, loaded once, and what it implies.

Everything else stands on this package and imports nothing of ours back: the mock applies its
lifecycle and validators, the contract suite checks deployments with them, the fixtures and the
strategies are generated from them.

    >>> from capillary_contract import load_contract
    >>> contract = load_contract()            # $CAPILLARY_OPENAPI, else the packaged openapi.yaml
    >>> sorted(contract.request_types)[:2]
    ['CUSTOMER-STATUS-CHANGE', 'EARN-BADGE']
"""
from .loader import Contract, Operation, SchemaValidator, Violation, load_contract, spec_path

__all__ = ["Contract", "Operation", "SchemaValidator", "Violation", "load_contract", "spec_path"]
