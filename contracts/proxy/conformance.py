"""Exchange rules: one request and its answer against the operation openapi.yaml documents.

The operation comes from `Contract.match` (never a path written here), the schemas from
`Operation.response_validator`, the codes and messages from the contract's catalogues.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from capillary_contract.loader import Contract, Operation
from capillary_contract.requests import INVALID_ORG, RequestChecks

from ..run.checks import GENERIC_CODE, catalogue_problems, error_entries, url_name_for
from .exchange import NOT_JSON, Exchange
from .rules import Finding

JSON_MEDIA = "application/json"
SHOWN_PROBLEMS = 3


@dataclass
class Judgement:
    """What the rules found about one exchange, and which rules applied to it."""

    checked: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)

    def check(self, rule: str) -> None:
        self.checked.add(rule)

    def fail(self, rule: str, message: str, request_id: str | None = None) -> None:
        self.checked.add(rule)
        self.findings.append(Finding(rule, message, request_id))


def judge_exchange(contract: Contract, op: Operation, path_params: dict[str, str], exchange: Exchange,
                   judgement: Judgement) -> Any:
    """Apply the exchange rules; returns the answer's JSON (NOT_JSON when there is none to read)."""
    judgement.check("documented_status")
    try:
        validator = op.response_validator(exchange.status)
    except KeyError:
        judgement.fail("documented_status", f"HTTP {exchange.status} is not documented for {op.operation_id}")
        return exchange.response_json()
    if validator is None or exchange.response_cut:
        return exchange.response_json()
    judgement.check("response_schema")
    body = exchange.response_json()
    media = (exchange.response_header("content-type") or "").split(";")[0].strip().lower()
    if body is NOT_JSON:
        judgement.fail("response_schema", f"{op.operation_id} HTTP {exchange.status}: the answer is not JSON "
                                          f"({len(exchange.response_body)} bytes, Content-Type {media or 'none'!r})")
        return body
    if media != JSON_MEDIA:
        judgement.fail("response_schema", f"{op.operation_id} HTTP {exchange.status}: Content-Type is "
                                          f"{media or 'missing'!r}; documented: {JSON_MEDIA!r}")
    problems = validator.violations(body)
    if problems:
        shown = "; ".join(f"{v.field}: {v.detail}" for v in problems[:SHOWN_PROBLEMS])
        more = f" (+{len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
        judgement.fail("response_schema", f"{op.operation_id} HTTP {exchange.status}: {shown}{more}")
    _error_catalogue(contract, body, exchange.status, judgement)
    _request_type_casing(contract, path_params, exchange, body, judgement)
    return body


def judge_request(checks: RequestChecks, op: Operation, path_params: dict[str, str], exchange: Exchange,
                  answer: Any, judgement: Judgement) -> None:
    """A request the contract refuses must be refused, with a code the spec ties to what is wrong.

    The request is judged as it was sent, credentials aside (`RequestChecks.problems_as_sent`, the
    documented check order): the proxy cannot know whom the credentials prove, so an answer that
    names the organisation code is taken as the server's earlier, rightful refusal."""
    if exchange.request_cut:
        return
    problems = checks.problems_as_sent(
        op, headers=CaseInsensitiveDict(exchange.request_headers), path_params=path_params, query=exchange.query,
        content_type=exchange.request_header("content-type"), raw_body=exchange.request_body or None)
    if not problems:
        return
    judgement.check("invalid_request_refused")
    wrong = "; ".join(f"{p.field or '/'}: {p.detail}" for p in problems[:SHOWN_PROBLEMS])
    if exchange.status < 400:
        judgement.fail("invalid_request_refused", f"{op.operation_id} answered HTTP {exchange.status} to a request "
                                                  f"the contract refuses ({wrong})")
        return
    entries = error_entries(answer) if exchange.status == 400 else None
    if not entries:
        return
    judgement.check("documented_error_code")
    expected = {p.code or GENERIC_CODE for p in problems}
    got = {e.get("code") for e in entries}
    if not got & (expected | {INVALID_ORG}):
        judgement.fail("documented_error_code", f"{op.operation_id} refused with codes {sorted(got, key=str)}; "
                                                f"what is wrong ({wrong}) maps to {sorted(expected)} in openapi.yaml")


def _error_catalogue(contract: Contract, body: Any, status: int, judgement: Judgement) -> None:
    problems = catalogue_problems(contract, body) + _legacy_item_problems(contract, body)
    if status >= 400 or problems or legacy_items(body):
        judgement.check("error_catalogue")
    for problem in problems:
        judgement.fail("error_catalogue", problem)


def legacy_items(body: Any) -> list[dict[str, Any]]:
    """The items of a v1.1 answer (`response.requests.request`), or []."""
    answer = body.get("response") if isinstance(body, dict) else None
    requests = answer.get("requests") if isinstance(answer, dict) else None
    items = requests.get("request") if isinstance(requests, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _legacy_item_problems(contract: Contract, body: Any) -> list[str]:
    """A failed v1.1 item carries a documented item code with its exact message."""
    problems = []
    for item in legacy_items(body):
        status = item.get("item_status")
        if not isinstance(status, dict) or status.get("success") != "false":
            continue
        code, message = status.get("code"), status.get("message")
        documented = contract.legacy_item_errors.get(code)
        if documented is None:
            problems.append(f"undocumented v1.1 item code {code!r}")
        elif message != documented:
            problems.append(f"v1.1 item code {code} carries message {message!r}; documented: {documented!r}")
    return problems


def _request_type_casing(contract: Contract, path_params: dict[str, str], exchange: Exchange, body: Any,
                         judgement: Judgement) -> None:
    data = body.get("data") if isinstance(body, dict) and exchange.status < 300 else None
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    items = [i for i in items if isinstance(i, dict) and "requestType" in i]
    if not items:
        return
    judgement.check("request_type_casing")
    url_name = url_type(contract, path_params, exchange)
    names = {entry["responseName"] for entry in contract.request_types.values()}
    for item in items:
        value = item.get("requestType")
        if url_name is not None and value != contract.request_types[url_name]["responseName"]:
            judgement.fail("request_type_casing", f"requestType {value!r} in the answer to a {url_name} URL; "
                                                  f"documented: {contract.request_types[url_name]['responseName']!r}",
                           item.get("requestId"))
            return
        if value not in names:
            judgement.fail("request_type_casing", f"requestType {value!r} is not a documented lower-kebab name",
                           item.get("requestId"))
            return


def url_type(contract: Contract, path_params: dict[str, str], exchange: Exchange) -> str | None:
    """The request type a URL names (a path parameter, or the path's last segment), in URL form."""
    named = path_params.get("requestType") or exchange.path.rstrip("/").rsplit("/", 1)[-1]
    url_name = url_name_for(contract, named)
    return url_name if url_name == named else None
