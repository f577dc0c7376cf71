"""Which answer the contract documents for each error code: the HTTP status per operation.

The codes and their exact messages are `Contract.workflow_errors` (v2) and
`Contract.legacy_item_errors` (v1.1 items); this module adds where a code is answered.

    >>> status_by_code(contract, contract.create_operation("GOODWILL-POINTS"))[2008]
    400
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from .loader import Contract, Operation

# "Where a schema node names no code" (openapi.yaml info.description: "Codes tied to fields").
DEFAULT_CODE = 2008        # v2 bodies and parameters
DEFAULT_ITEM_CODE = 9009   # v1.1 batch items
WORKFLOW_ERROR = re.compile(r"#/components/schemas/WorkflowError(\d+)")


def statuses_by_code(contract: Contract, operation: Operation) -> dict[int, set[int]]:
    """Every HTTP status at which the operation documents each workflow error code (a code may be
    documented at more than one: 2007 on a decision is 400 for a malformed id, 404 for an unknown one).

        >>> statuses_by_code(contract, contract.decide_operation("GOODWILL-POINTS"))[2007]
        {400, 404}
    """
    out: dict[int, set[int]] = {}
    for status, resp in operation.raw["responses"].items():
        if status.startswith("4"):
            for code in codes_in(contract, resp):
                out.setdefault(code, set()).add(int(status))
    return out


def status_by_code(contract: Contract, operation: Operation) -> dict[int, int]:
    """Which HTTP status the operation documents for each workflow error code (the lowest, where several)."""
    return {code: min(statuses) for code, statuses in statuses_by_code(contract, operation).items()}


def codes_in(contract: Contract, response: Any) -> set[int]:
    """The workflow error codes a documented response (or any node of the contract) can carry."""
    return set(_codes_in(contract, response, set()))


def _codes_in(contract: Contract, node: Any, seen: set[str]) -> Iterator[int]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            match = WORKFLOW_ERROR.fullmatch(ref)
            if match:
                yield int(match.group(1))
                return
            yield from _codes_in(contract, contract.target(ref), seen)
        for key, child in node.items():
            if key != "examples":
                yield from _codes_in(contract, child, seen)
    elif isinstance(node, list):
        for child in node:
            yield from _codes_in(contract, child, seen)
