"""The six request types as data: one entry each, derived from the spec's `x-request-types`.

Adding a type is adding it to openapi.yaml (its create schema and x-request-types entry) and,
if its wrapped API has special outcomes, a rule in `simulator.RULES`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .loader import Contract


@dataclass(frozen=True)
class RequestType:
    url_name: str          # CUSTOMER-STATUS-CHANGE (the URL, the admin API)
    response_name: str     # customer-status-change (responses)
    event_name: str        # CUSTOMER_STATUS_CHANGE (webhook events)
    schema_name: str       # the create body's component schema
    wrapped_path: str
    wrapped_methods: tuple[str, ...]


def load_types(contract: Contract) -> dict[str, RequestType]:
    return {
        name: RequestType(name, e["responseName"], e["eventName"], e["schemaName"], e["path"], tuple(e["methods"]))
        for name, e in contract.request_types.items()
    }


def by_any_name(types: dict[str, RequestType], name: str, *, event_name: bool = False) -> RequestType | None:
    """A type by URL name or response name (the list filter accepts both), or also by the events'
    name with `event_name` (a test's helper takes any of the three spellings)."""
    for t in types.values():
        if name in (t.url_name, t.response_name) or (event_name and name == t.event_name):
            return t
    return None
