"""The contract's own examples as bodies: a documented create body per request type, and the
decision body a checker sends. Pure data from openapi.yaml, no generation, so it is instant.

    >>> documented_bodies(load_contract())["GOODWILL-POINTS"]["payload"]["IntouchAPITask-Payload"]["method"]
    'POST'
"""
from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from typing import Any

from .instances import node_at, replaced, walk
from .loader import Contract, load_contract


@dataclass(frozen=True)
class ValidBody:
    request_type: str
    name: str
    source: str
    body: dict[str, Any]


def documented_examples(contract: Contract) -> dict[str, list[ValidBody]]:
    """Create bodies from the spec: each type's create examples, else a wrapped call from its responses."""
    found: dict[str, list[ValidBody]] = {t: [] for t in contract.request_types}
    entity_info = None
    for rtype, info in contract.request_types.items():
        op_id = info["createOperationId"]
        for name, example in sorted(contract.examples(op_id).items()):
            body = example["value"]
            entity_info = entity_info or body["entityInfo"]
            if rtype in _types_accepting(contract, body):
                found[rtype].append(ValidBody(rtype, f"example-{_slug(name)}", f"openapi.yaml {op_id} example {name}", body))
    for op_id in [op for info in contract.request_types.values()
                  for op in (info["createOperationId"], info["decideOperationId"])]:
        for name, example in sorted(contract.examples(op_id, "200").items()):
            data = example["value"]["data"]
            rtype = _url_name(contract, data["requestType"])
            if found[rtype] or entity_info is None:
                continue
            body = _completed(contract, rtype, {"entityInfo": entity_info,
                                                "payload": {"IntouchAPITask-Payload": data["details"]["IntouchAPITask-Payload"]}})
            if body is not None:
                found[rtype].append(ValidBody(rtype, f"example-{_slug(name)}",
                                              f"openapi.yaml {op_id} 200 example {name} (its wrapped call)", body))
    return found


def _types_accepting(contract: Contract, body: Any) -> list[str]:
    return [t for t, info in contract.request_types.items()
            if contract.component_validator(info["schemaName"]).is_valid(body)]


def _url_name(contract: Contract, response_name: str) -> str:
    return next(t for t, info in contract.request_types.items() if info["responseName"] == response_name)


def _completed(contract: Contract, rtype: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The body with absent required object members (e.g. `queryParams`) given as `{}`; None if still invalid."""
    validator = contract.component_validator(contract.request_types[rtype]["schemaName"])
    for _ in range(5):
        if validator.is_valid(body):
            return body
        schemas = {p: s for p, _, s in walk(contract, body, validator.schema)}
        missing = [(p, name) for p, s in schemas.items() for name in s.get("required", [])
                   if name in s.get("properties", {}) and _is_object(contract, s["properties"][name])
                   and name not in node_at(body, p)]
        if not missing:
            return None
        for pointer, name in missing:
            body = replaced(body, f"{pointer}/{name}", {})
    return body if validator.is_valid(body) else None


def _is_object(contract: Contract, schema: Any) -> bool:
    return contract.resolve(schema).get("type") == "object"


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def documented_bodies(contract: Contract | None = None) -> dict[str, dict[str, Any]]:
    """URL name -> the first documented create body of that type (a fresh copy each call)."""
    return copy.deepcopy(_documented(contract or load_contract()))


@functools.lru_cache(maxsize=4)
def _documented(contract: Contract) -> dict[str, dict[str, Any]]:
    found = documented_examples(contract)
    missing = [t for t, bodies in found.items() if not bodies]
    if missing:
        raise ValueError(f"openapi.yaml documents no create body for {missing}: add an example")
    return {t: bodies[0].body for t, bodies in found.items()}


def decision_body(request_id: str, decision: str, message: str, contract: Contract | None = None) -> dict[str, Any]:
    """A checker's decision (PUT body) on a request: `approved` or `rejected`, with a message."""
    action = (contract or load_contract()).components["schemas"]["DecisionBody"]["properties"]["actionName"]["const"]
    return {"requestId": request_id, "actionName": action,
            "payload": {"AdminTask-Payload": {"actionDecision": decision, "actionMessage": message}}}


