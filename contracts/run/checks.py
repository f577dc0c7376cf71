"""Domain rules no generic tool knows, written against openapi.yaml's catalogues.

Two kinds live here: Schemathesis-style response checks `(ctx, response, case)` that run on
every fuzzed exchange (documented codes and exact messages, the code the spec ties to the
field that was wrong, `requestType` casing), and plain rule functions the probes and the
lifecycle machine call (expected error, details growing step by step). Each returns or
raises a message naming the rule; none restates a code or a message: they come from the
contract (`workflow_errors`, `x-capillary-error`, `x-request-types`).
"""
from __future__ import annotations

import functools
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from capillary_contract.lifecycle import APPROVED, PENDING
from capillary_contract.loader import Contract, load_contract
from capillary_contract.requests import RequestChecks

GENERIC_CODE = 2008  # where a schema node names no code (openapi.yaml info: "Codes tied to fields")
CREATE_STEPS = ("IntouchAPITask-Payload", "ValidateMakerAccess_Output", "ValidatePayload_Output")
CHECKER_STEPS = ("AdminTask-Payload", "AdminTask_Output", "ValidateCheckerAccess_Output")
WRAPPED_OUTPUT = "IntouchAPITask_Output"


# -- helpers ----------------------------------------------------------------------------
def json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except Exception:
        return None


def error_entries(body: Any) -> list[dict[str, Any]] | None:
    """The v2 `errors` list of an error answer, or None when the body is not that envelope."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return None


def catalogue_problems(contract: Contract, body: Any) -> list[str]:
    """Each error entry must carry a documented code with its exact documented message."""
    problems = []
    for entry in error_entries(body) or []:
        code, message = entry.get("code"), entry.get("message")
        if code not in contract.workflow_errors:
            problems.append(f"undocumented error code {code!r}")
        elif message != contract.workflow_errors[code]:
            problems.append(f"code {code} carries message {message!r}; documented: {contract.workflow_errors[code]!r}")
    return problems


def expect_error(contract: Contract, response: Any, status: int, code: int) -> str | None:
    """None when the answer is `status` with documented `code` (and its exact message), else why not."""
    body = json_or_none(response)
    entries = error_entries(body) or []
    codes = [e.get("code") for e in entries]
    if response.status_code != status or code not in codes:
        return (f"expected HTTP {status} with code {code} ({contract.workflow_errors.get(code)!r}); "
                f"got HTTP {response.status_code} codes {codes}")
    problems = catalogue_problems(contract, body)
    return "; ".join(problems) if problems else None


def response_type_name(contract: Contract, url_name: str) -> str:
    return contract.request_types[url_name]["responseName"]


def url_name_for(contract: Contract, name: str) -> str | None:
    """The URL name of a type given as in URLs, responses or events."""
    for url_name, entry in contract.request_types.items():
        if name in (url_name, entry["responseName"], entry["eventName"]):
            return url_name
    return None


# -- rules used by the probes and the machine -------------------------------------------
def default_order_problem(items: list[Any]) -> str | None:
    """A page listed without `sortBy` must have the newest request first (the contract's listRequests)."""
    starts = [(i.get("startTime"), i.get("requestId")) for i in items if isinstance(i, dict)
              and isinstance(i.get("startTime"), str)]
    for (newer, _), (older, request_id) in zip(starts, starts[1:]):
        if older > newer:
            return f"{request_id} (started {older}) is listed after one started {newer}: without sortBy the newest comes first"
    return None


def sort_order_problem(items: list[Any], sort_by: str, order: str) -> str | None:
    """A page listed with `sortBy` (startDate/endDate) and `sortOrder` is in that order (undecided requests,
    without an end, are not compared)."""
    key = "startTime" if sort_by == "startDate" else "endTime"
    values = [(i.get(key), i.get("requestId")) for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]
    for (a, _), (b, request_id) in zip(values, values[1:]):
        if (b < a) if order == "asc" else (b > a):
            return f"{request_id} ({key} {b}) is listed after one with {key} {a}: sortBy={sort_by} sortOrder={order}"
    return None


def details_on_create(data: dict[str, Any], sent: dict[str, Any]) -> list[str]:
    """A new request's details are exactly the maker's steps, and its wrapped call is what was sent."""
    problems = []
    details = data.get("details") or {}
    if data.get("state") == PENDING and set(details) != set(CREATE_STEPS):
        problems.append(f"details of a pending request are {sorted(details)}; documented: {list(CREATE_STEPS)}")
    if details.get("IntouchAPITask-Payload") != sent["payload"]["IntouchAPITask-Payload"]:
        problems.append("details.IntouchAPITask-Payload differs from the wrapped call that was sent")
    for step in ("ValidateMakerAccess_Output", "ValidatePayload_Output"):
        if details.get(step) is not True:
            problems.append(f"details.{step} is {details.get(step)!r}, expected true")
    return problems


def details_on_decision(before: dict[str, Any], after: dict[str, Any], decision: str, message: str) -> list[str]:
    """Deciding adds the checker's steps (and, on approval, the wrapped call's output) and keeps the rest."""
    problems = []
    old, new = before.get("details") or {}, after.get("details") or {}
    for key, value in old.items():
        if new.get(key) != value:
            problems.append(f"details.{key} changed on decision")
    expected = set(old) | set(CHECKER_STEPS) | ({WRAPPED_OUTPUT} if decision == APPROVED else set())
    if set(new) != expected:
        problems.append(f"details after {decision} are {sorted(new)}; documented: {sorted(expected)}")
    if new.get("AdminTask-Payload") != {"actionDecision": decision, "actionMessage": message}:
        problems.append("details.AdminTask-Payload is not the decision that was sent")
    if new.get("AdminTask_Output") != decision:
        problems.append(f"details.AdminTask_Output is {new.get('AdminTask_Output')!r}, expected {decision!r}")
    if new.get("ValidateCheckerAccess_Output") is not True:
        problems.append("details.ValidateCheckerAccess_Output is not true")
    start, end = after.get("startTime"), after.get("endTime")
    if isinstance(start, str) and isinstance(end, str) and end < start:
        problems.append(f"endTime {end!r} is before startTime {start!r}")
    output = new.get(WRAPPED_OUTPUT)
    if decision == APPROVED and isinstance(output, dict):
        headers = output.get("headers") or {}
        if not all(isinstance(v, list) for v in headers.values()):
            problems.append("IntouchAPITask_Output.headers values must be lists of strings")
    return problems


# -- expected codes for a generated case --------------------------------------------------
def expected_codes(contract: Contract, op_id: str, case: Any, sent_headers: dict[str, str]) -> set[int]:
    """Codes the spec ties to what is wrong with this case (2008 where a node names none)."""
    op = contract.operations[op_id]
    body_validator = op.body
    codes: set[int] = set()
    containers = {"path": case.path_parameters or {}, "query": case.query or {},
                  "header": {**(case.headers or {}), **sent_headers}}
    for param in op.parameters:
        values = containers.get(param.location, {})
        lookup = {k.lower(): v for k, v in values.items()} if param.location == "header" else values
        key = param.name.lower() if param.location == "header" else param.name
        if key not in lookup:
            if param.required:
                codes.add(param.schema.get("x-capillary-missing-error") or GENERIC_CODE)
            continue
        for violation in param.validator.violations(_wire_value(lookup[key], param.schema)):
            codes.add(violation.code or GENERIC_CODE)
    if body_validator is not None and case.body is not None and not _is_unset(case.body):
        if isinstance(case.body, (bytes, bytearray)) or "json" not in (case.media_type or "application/json"):
            codes.add(GENERIC_CODE)  # not a JSON body at all
        else:
            for violation in body_validator.violations(case.body):
                codes.add(violation.code or GENERIC_CODE)
    return codes


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


def _wire_value(value: Any, schema: dict[str, Any]) -> Any:
    """Path/query/header values travel as text; read them back as the schema's type would."""
    if isinstance(value, str) and schema.get("type") in ("integer", "number"):
        try:
            return int(value) if schema["type"] == "integer" else float(value)
        except ValueError:
            return value
    if isinstance(value, bool) and schema.get("type") == "string":
        return str(value).lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and schema.get("type") == "string":
        return str(value)
    return value


# -- Schemathesis checks -------------------------------------------------------------------
def _op_id(case: Any) -> str:
    return case.operation.definition.raw.get("operationId", case.operation.label)


def _is_v2(case: Any) -> bool:
    return case.operation.path.startswith("/api_gateway/v2/")


def documented_error_catalogue(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every v2 error entry carries a documented code and that code's exact message."""
    if not _is_v2(case) or response.status_code < 400:
        return None
    problems = catalogue_problems(load_contract(), json_or_none(response))
    if problems:
        raise AssertionError("; ".join(problems))
    return None


def request_type_casing(ctx: Any, response: Any, case: Any) -> bool | None:
    """A v2 answer names the type in lower-kebab, the one the URL named."""
    if not _is_v2(case) or response.status_code != 200:
        return None
    contract = load_contract()
    body = json_or_none(response)
    items = body.get("data") if isinstance(body, dict) else None
    items = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
    url_name = (case.path_parameters or {}).get("requestType") or _op_id(case).partition(":")[2]
    for item in items:
        value = item.get("requestType")
        if url_name in contract.request_types and value != response_type_name(contract, url_name):
            raise AssertionError(f"requestType {value!r} for URL type {url_name}; documented: "
                                 f"{response_type_name(contract, url_name)!r}")
        names = {e["responseName"] for e in contract.request_types.values()}
        if value not in names:
            raise AssertionError(f"requestType {value!r} is not lower-kebab as documented")
    return None


def make_documented_code_check(sent_headers_for: Callable[[Any], dict[str, str]]):
    """A check that a 400 names a code the spec ties to something wrong with the input."""

    def documented_error_code(ctx: Any, response: Any, case: Any) -> bool | None:
        if not _is_v2(case) or response.status_code != 400:
            return None
        contract = load_contract()
        expected = expected_codes(contract, _op_id(case), case, sent_headers_for(case))
        if not expected:
            return None
        got = {e.get("code") for e in error_entries(json_or_none(response)) or []}
        if not got & expected:
            raise AssertionError(f"the answer names codes {sorted(got, key=str)}; what is wrong with the input "
                                 f"maps to {sorted(expected)} in openapi.yaml")
        return None

    return documented_error_code


# -- answers of the probes and the machine against the documented response schemas ---------
def v2_operation_for(contract: Contract, method: str, path: str) -> str | None:
    """The v2 workflow operationId a probe or machine request went to (None for any other path)."""
    found = contract.match(method, unquote(urlsplit(path).path))
    if found is None or "workflow" not in found[0].raw.get("tags", []):
        return None
    return found[0].operation_id


def schema_violations(contract: Contract, response: Any, prefix: str = "") -> list[tuple[str, str]] | None:
    """None when no workflow schema applies to the answer; else one (problem, cause) per broken field
    (empty: the answer fits). The cause names the field, not its value, so one broken field is one
    problem across operations, request types and phases (the fuzzer's schema findings name it the same)."""
    request = response.request
    path = urlsplit(request.url).path
    op_id = v2_operation_for(contract, request.method, path[len(prefix):] if prefix and path.startswith(prefix) else path)
    if op_id is None:
        return None
    operation = contract.operations[op_id]
    try:
        validator = operation.response_validator(response.status_code)
    except KeyError:
        return [(f"HTTP {response.status_code} is not documented for {op_id}",
                 f"undocumented status {response.status_code}")]
    if validator is None:
        return []
    by_field: dict[str, str] = {}
    for v in validator.violations(json_or_none(response)):
        by_field.setdefault(schema_cause(v.field), f"{op_id} HTTP {response.status_code}: {v.field}: {v.detail[:200]}")
    return [(problem, cause) for cause, problem in list(by_field.items())[:5]]


def schema_cause(pointer: str) -> str:
    """The cause of a schema violation: the field of the answer that broke it, without list indices
    (an item of a page and a single request are one field)."""
    return "the answer breaks its schema at /" + "/".join(p for p in pointer.strip("/").split("/")
                                                            if p and not p.isdigit())


# -- v1.1 batches: an invalid item fails alone ------------------------------------------------
def batch_pointer(contract: Contract, op_id: str) -> str | None:
    """`x-batch-items` of the operation's body schema: where the independently judged items are."""
    body = contract.operations[op_id].body
    schema = contract.resolve(body.schema) if body is not None else None
    return schema.get("x-batch-items") if isinstance(schema, dict) else None


@functools.lru_cache(maxsize=4)
def _shape_checks(contract: Contract) -> RequestChecks:
    """One set of request checks per contract, so its per-operation body schemas are built once per run."""
    return RequestChecks(contract, credentials=None)


def valid_as_sent(contract: Contract, request: Any) -> bool:
    """Whether the request that really went out fits the contract (credentials aside). A generated
    negative case can reach the server valid: the suite puts back the auth it removed, and the HTTP
    client drops a query parameter whose value is null."""
    url = urlsplit(request.url)
    found = contract.match(request.method, unquote(url.path))
    if found is None:
        return False
    op, path_params = found
    body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
    return not _shape_checks(contract).problems_as_sent(
        op, headers=request.headers, path_params=path_params, query=parse_qs(url.query, keep_blank_values=True),
        content_type=request.headers.get("Content-Type"), raw_body=body)


def make_batch_rejection_check(negative_data_rejection: Callable):
    """Schemathesis's negative_data_rejection, judged on the request as sent (see `valid_as_sent`),
    and with an invalid item inside a v1.1 batch judged as the spec says: that item fails
    (`item_status.success` "false", batch code 201 or 500)."""

    def batch_negative_data_rejection(ctx: Any, response: Any, case: Any) -> bool | None:
        contract = load_contract()
        if valid_as_sent(contract, response.request):
            return None
        op_id = _op_id(case)
        if op_id not in contract.operations:  # the derived per-type create operations are not batches
            return negative_data_rejection(ctx, response, case)
        pointer = batch_pointer(contract, op_id)
        body_validator = contract.operations[op_id].body
        if pointer is None or body_validator is None or not isinstance(case.body, dict):
            return negative_data_rejection(ctx, response, case)
        violations = body_validator.violations(case.body)
        if not violations or any(not v.field.startswith(pointer + "/") for v in violations):
            return negative_data_rejection(ctx, response, case)
        if response.status_code >= 400:
            return None
        answer = (json_or_none(response) or {}).get("response") or {}
        items = ((answer.get("requests") or {}).get("request")) or []
        failed = [i for i in items if isinstance(i, dict) and (i.get("item_status") or {}).get("success") == "false"]
        if (answer.get("status") or {}).get("code") not in (201, 500) or not failed:
            raise AssertionError("a batch with an invalid item answered as if every item succeeded")
        return None

    return batch_negative_data_rejection
