"""The operations the fuzzer exercises, from Schemathesis's view of the contract
(`capillary_contract.strategies.openapi_schema`: the create operation split by request type).
"""
from __future__ import annotations

from typing import Any

FUZZED_TAGS = ("workflow", "legacy")


def operation_id(op: Any) -> str:
    return op.definition.raw.get("operationId", op.label)


def fuzzed_operations(schema: Any) -> list[Any]:
    """Workflow and legacy operations (never the admin API: resetting the target is not a test)."""
    out = []
    for result in schema.get_all_operations():
        op = result.ok()
        if set(op.definition.raw.get("tags", [])) & set(FUZZED_TAGS) or operation_id(op).startswith("createRequest:"):
            out.append(op)
    return out
