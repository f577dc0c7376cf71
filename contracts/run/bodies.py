"""Valid create bodies per request type: the spec's own examples where one fits the type's
schema, else the simplest body Schemathesis generates from that schema.

The decide examples carry each type's wrapped call as Capillary documented it; paired with a
create example's `entityInfo` they make a create body, kept only if the schema accepts it.
"""
from __future__ import annotations

import functools
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings

from capillary_contract.loader import Contract

from .spec import load_schema


def _documented_candidates(contract: Contract) -> list[dict[str, Any]]:
    ops = contract.spec["paths"][contract.operations["createRequest"].path]
    create_examples = [e["value"] for e in ops["post"]["requestBody"]["content"]["application/json"]
                       .get("examples", {}).values()]
    out = list(create_examples)
    entity = create_examples[0]["entityInfo"] if create_examples else None
    if entity:
        for status in ops["put"]["responses"].values():
            for example in status.get("content", {}).get("application/json", {}).get("examples", {}).values():
                call = example["value"].get("data", {}).get("details", {}).get("IntouchAPITask-Payload")
                if call:
                    out.append({"entityInfo": entity, "payload": {"IntouchAPITask-Payload": call}})
    return out


@functools.lru_cache(maxsize=8)
def _cached(contract: Contract) -> dict[str, dict[str, Any]]:
    schema = load_schema(contract)
    out: dict[str, dict[str, Any]] = {}
    candidates = _documented_candidates(contract)
    for url_name, entry in contract.request_types.items():
        validator = contract.component_validator(entry["schemaName"])
        body = next((c for c in candidates if validator.is_valid(c)), None)
        if body is None:
            strategy = schema[contract.create_path(url_name)]["POST"].as_strategy()
            case = find(strategy, lambda c: c.body is not None and validator.is_valid(c.body),
                        settings=settings(database=None, max_examples=200, phases=[Phase.generate, Phase.shrink],
                                          suppress_health_check=list(HealthCheck)))
            body = case.body
        out[url_name] = body
    return out


def valid_bodies(contract: Contract) -> dict[str, dict[str, Any]]:
    """URL name -> a create body the type's schema accepts (a fresh copy each call)."""
    import copy

    return copy.deepcopy(_cached(contract))
