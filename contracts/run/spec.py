"""The operations the fuzzer exercises, from Schemathesis's view of the contract
(`capillary_contract.strategies.openapi_schema`: openapi.yaml as it is). Each request type has its
own path whose create body is that type's schema, so a generated valid case always pairs a type
with its own body; which operation creates or decides which type comes from the contract package
(`Contract.workflow_role`).
"""
from __future__ import annotations

from typing import Any

from capillary_contract.loader import CREATE_ROLE, DECIDE_ROLE, Contract

FUZZED_TAGS = ("workflow", "legacy")


def is_create(contract: Contract, op_id: str) -> bool:
    """The operation raises a request of some type (`POST <its path>`)."""
    return (contract.workflow_role(op_id) or ("", ""))[0] == CREATE_ROLE


def is_decide(contract: Contract, op_id: str) -> bool:
    """The operation approves or rejects a request of some type (`PUT <its path>`)."""
    return (contract.workflow_role(op_id) or ("", ""))[0] == DECIDE_ROLE


def operation_id(op: Any) -> str:
    return op.definition.raw.get("operationId", op.label)


def fuzzed_operations(schema: Any) -> list[Any]:
    """Workflow and legacy operations (never the admin API: resetting the target is not a test)."""
    out = []
    for result in schema.get_all_operations():
        op = result.ok()
        if set(op.definition.raw.get("tags", [])) & set(FUZZED_TAGS):
            out.append(op)
    return out
