"""The request types as data: one entry each, derived from the spec's `x-request-types` and the
path each entry names.

Adding a type is data only: a table entry, its path (a POST taking its create body, a PUT
deciding it, with examples), and its create schema. What the mock does differently per type
comes from here: the names, the paths, whether a trusted integration skips the checker, which
wrapped-body property a new request's event repeats, and the wrapped call's success answer (the
spec's approved example of the type). A wrapped API with documented failure rules may add a
rule in `mockserver.simulator.RULES`; without one, every approval of the type succeeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .lifecycle import APPROVED
from .loader import Contract


@dataclass(frozen=True)
class RequestType:
    url_name: str          # CUSTOMER-STATUS-CHANGE (the URL, the admin API)
    response_name: str     # customer-status-change (responses)
    event_name: str        # CUSTOMER_STATUS_CHANGE (webhook events)
    schema_name: str       # the create body's component schema
    wrapped_path: str
    wrapped_methods: tuple[str, ...]
    path: str = ""                       # /api_gateway/v2/request-workflow/CUSTOMER-STATUS-CHANGE
    create_operation_id: str = ""
    decide_operation_id: str = ""
    trusted_skips_checker: bool = False  # a trusted integration's request runs at once
    event_reason_from: str | None = None  # wrapped-body property the AdminTask event repeats as `reason`
    success_example: dict[str, Any] | None = None  # `details` of the spec's approved example
    # (kind, path in the create body) of each field marked `x-used-once`: a success uses its value up
    used_once: tuple[tuple[str, tuple[str, ...]], ...] = ()


def load_types(contract: Contract) -> dict[str, RequestType]:
    """URL name -> RequestType, in the table's order."""
    approved = approved_examples(contract)
    return {
        name: RequestType(
            name, e["responseName"], e["eventName"], e["schemaName"], e["wrappedPath"], tuple(e["wrappedMethods"]),
            path=e["path"], create_operation_id=e["createOperationId"], decide_operation_id=e["decideOperationId"],
            trusted_skips_checker=bool(e.get("trustedSkipsChecker")), event_reason_from=e.get("eventReasonFrom"),
            success_example=approved.get(name),
            used_once=tuple(used_once_fields(contract, name)))
        for name, e in contract.request_types.items()
    }


USED_ONCE = "x-used-once"


def used_once_fields(contract: Contract, url_name: str) -> list[tuple[str, tuple[str, ...]]]:
    """(kind, path in the create body) of every property of the type's create body marked
    `x-used-once: <kind>` (`RequestType.used_once`)."""
    return _marked(contract, {"$ref": f"#/components/schemas/{contract.request_types[url_name]['schemaName']}"}, ())


def _marked(contract: Contract, schema: Any, path: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """The `x-used-once` properties under `schema`, through `$ref`s, `properties` and the branches of
    `allOf` / `anyOf` / `oneOf`."""
    node = contract.resolve(schema)
    if not isinstance(node, dict):
        return []
    found = [(str(node[USED_ONCE]), path)] if USED_ONCE in node else []
    for name, sub in (node.get("properties") or {}).items():
        found += _marked(contract, sub, (*path, name))
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(key) or ():
            found += [f for f in _marked(contract, branch, path) if f not in found]
    return found


def value_at(document: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` in nested mappings, or None where a step is missing."""
    for step in path:
        if not isinstance(document, dict):
            return None
        document = document.get(step)
    return document


def approved_examples(contract: Contract) -> dict[str, dict[str, Any]]:
    """URL name -> `details` of the first approved example of the type's decide operation (its
    wrapped call and that call's answer), for types the spec shows approved."""
    out: dict[str, dict[str, Any]] = {}
    for name, entry in contract.request_types.items():
        for example in contract.examples(entry["decideOperationId"], "200").values():
            data = example.get("value", {}).get("data", {})
            if data.get("state") == APPROVED and "IntouchAPITask_Output" in data.get("details", {}):
                out[name] = data["details"]
                break
    return out


def by_any_name(types: dict[str, RequestType], name: str, *, event_name: bool = False) -> RequestType | None:
    """A type by URL name or response name (the list filter accepts both), or also by the events'
    name with `event_name` (a test's helper takes any of the three spellings)."""
    for t in types.values():
        if name in (t.url_name, t.response_name) or (event_name and name == t.event_name):
            return t
    return None
