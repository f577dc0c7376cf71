"""Schemathesis hooks for the plain `st run` against the mock (loaded through SCHEMATHESIS_HOOKS).

Each hook teaches Schemathesis a rule the spec states in words or extensions, not in schemas:
- `x-body-schema-from: requestType`: the create body must be the URL's type (2008 otherwise), so a
  case whose valid body is of another type is sent to the URL of the body's type;
- `GET /__admin/events?waitFor=...` may wait up to `timeout` seconds (60 at most) by design; the
  run caps it at one second to stay within its time budget.
"""
from __future__ import annotations

from typing import Any

import schemathesis

from capillary_contract.loader import load_contract

CONTRACT = load_contract()
TYPE_VALIDATORS = {name: CONTRACT.component_validator(entry["schemaName"])
                   for name, entry in CONTRACT.request_types.items()}


def _operation_id(case: Any) -> str | None:
    return case.operation.definition.raw.get("operationId")


def _type_of(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    return next((name for name, v in TYPE_VALIDATORS.items() if v.is_valid(body)), None)


def _send_body_to_its_type(case: Any) -> None:
    """A valid body of one type under a valid URL of another: use the body's type's URL."""
    current = (case.path_parameters or {}).get("requestType")
    fitting = _type_of(case.body)
    if current in TYPE_VALIDATORS and fitting and fitting != current:
        case.path_parameters = {**case.path_parameters, "requestType": fitting}


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    operation_id = _operation_id(case)
    if operation_id == "createRequest":
        _send_body_to_its_type(case)
    elif operation_id == "adminEvents" and case.query and "timeout" in case.query:
        try:
            case.query = {**case.query, "timeout": min(float(case.query["timeout"]), 1.0)}
        except (TypeError, ValueError):
            pass  # a negative case's non-number stays as generated
    return case


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    if _operation_id(case) == "createRequest":  # the examples phase builds cases without map_case
        _send_body_to_its_type(case)
