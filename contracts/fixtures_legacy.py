"""v1.1 add / approve / reject bodies and the answers the spec documents for them.

Bodies are the spec's request examples; answers are its response examples where it has one,
else built from the response schema's own vocabulary (the success item message is the one
of `LegacyItemStatus` that says "added"). Ids of added requests come from the seed.
"""
from __future__ import annotations

import random
from typing import Any

from mockserver.contract import Contract
from contracts.fixtures_schema import resolve

OPERATIONS = {"add": "addLegacyRequests", "approve": "approveLegacyRequests", "reject": "rejectLegacyRequests"}


def _examples(node: dict[str, Any]) -> dict[str, Any]:
    return node.get("content", {}).get("application/json", {}).get("examples", {})


def _success_message(contract: Contract, verb: str) -> str:
    branch = contract.components["schemas"]["LegacyItemStatus"]["oneOf"][0]["properties"]
    return next(m for m in branch["message"]["enum"] if verb in m)


def _batch_ok(contract: Contract) -> dict[str, Any]:
    ok = contract.components["schemas"]["LegacyBatchStatus"]["oneOf"][0]["properties"]
    return {key: ok[key]["const"] for key in ("success", "code", "message")}


def _added(contract: Contract, body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The answer to an add: every item PENDING, with a seeded id."""
    item_ok = {"success": "true", "code": 9000, "message": _success_message(contract, "added")}
    items = []
    for item in body["root"]["request"]:
        customer = {k: str(item[k]) for k in ("mobile", "email", "external_id", "id") if k in item}
        items.append({"reference_id": item.get("reference_id", ""), "id": str(rng.randrange(10**7, 10**8)),
                      "type": item["type"], "base_type": item["base_type"], "status": "PENDING",
                      "customer": customer, "item_status": item_ok})
    return {"response": {"status": _batch_ok(contract), "requests": {"request": items}}}


def legacy_fixtures(contract: Contract, seed: int) -> list[dict[str, Any]]:
    """One fixture per documented v1.1 request example, with its answer; each checked against the spec."""
    rng = random.Random(f"{seed}:legacy")
    out = []
    for verb, op_id in OPERATIONS.items():
        op = contract.operations[op_id]
        answers = _examples(resolve(contract, op.raw["responses"]["200"]))
        for name, example in sorted(_examples(op.raw["requestBody"]).items()):
            body = example["value"]
            answer = answers.get(name) or (answers[sorted(answers)[0]] if len(answers) == 1 else None)
            response = answer["value"] if answer else _added(contract, body, rng)
            fixture = {"operationId": op_id, "verb": verb, "name": name,
                       "request": {"method": op.method.upper(), "path": op.path, "query": {"format": "json"},
                                   "body": body},
                       "response": {"status": 200, "body": response}}
            problems = op.body.violations(body) + op.response_validator(200).violations(response)
            if problems:
                raise ValueError(f"v1.1 {name}: {problems}")
            out.append(fixture)
    return out
