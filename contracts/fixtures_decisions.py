"""Invalid decision bodies (PUT, the checker's approve / reject), each labelled with its answer.

The base is the spec's own decision example; each fixture breaks one keyword of `DecisionBody`
(`fixtures_invalid.mutations`) and is kept only when its violations carry a single code. The
label is that code (2008 where the schema node names none) and the HTTP status the decide
operation documents for it. The body is refused before the request it names is looked up, so
the same file gets the same answer from any mock.
"""
from __future__ import annotations

from typing import Any

from capillary_contract.loader import Contract
from contracts.fixtures_invalid import DEFAULT_CODE, InvalidBody, single_code_breaks, status_by_code
from contracts.fixtures_legacy import examples
from contracts.fixtures_schema import resolve

OPERATION = "decideRequest"


def base_decision(contract: Contract) -> tuple[str, dict[str, Any]]:
    """The spec's first decision example, and the URL type of the request it decides (where the
    spec shows that request; else the first type)."""
    op = contract.operations[OPERATION]
    _, example = sorted(examples(op.raw["requestBody"]).items())[0]
    body = example["value"]
    names = {info["responseName"]: url for url, info in contract.request_types.items()}
    for status in sorted(op.raw["responses"]):
        for _, shown in sorted(examples(resolve(contract, op.raw["responses"][status])).items()):
            data = shown["value"].get("data") if isinstance(shown["value"], dict) else None
            if isinstance(data, dict) and data.get("requestId") == body["requestId"]:
                return names[data["requestType"]], body
    return next(iter(contract.request_types)), body


def invalid_decisions(contract: Contract) -> list[InvalidBody]:
    """Single-rule breaks of the spec's decision body, labelled with the answer the spec documents."""
    op = contract.operations[OPERATION]
    statuses = status_by_code(contract, op)
    rtype, base = base_decision(contract)
    return [InvalidBody(rtype, b.name, b.rule, b.found[0].field, b.found[0].detail, b.body, statuses[b.code], b.code,
                        contract.workflow_errors[b.code])
            for b in single_code_breaks(contract, op.body, base, DEFAULT_CODE, statuses)]
