"""Schemathesis hooks for the `st run` of the mock's admin document (loaded through SCHEMATHESIS_HOOKS).

Each hook teaches Schemathesis a rule the spec states in words or extensions, not in schemas:
- `GET /__admin/events?waitFor=...` may wait up to `timeout` seconds (10 at most) by design; the
  run caps it at one second to stay within its time budget.
"""
from __future__ import annotations

from typing import Any

import schemathesis

def _operation_id(case: Any) -> str | None:
    return case.operation.definition.raw.get("operationId")


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    operation_id = _operation_id(case)
    if operation_id == "adminEvents" and case.query and "timeout" in case.query:
        try:
            case.query = {**case.query, "timeout": min(float(case.query["timeout"]), 1.0)}
        except (TypeError, ValueError):
            pass  # a negative case's non-number stays as generated
    return case
