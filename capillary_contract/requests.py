"""The documented request-check order: what any server of the contract checks, and in what order.

Credentials first (401, 2013), then the organisation header (400, 2026 missing / 2005 not the
caller's), permissions (403, 2001), then parameters and the body (400, 413, 415). Each refusal
names every violation with the documented code the spec ties to the field. The checks know no
server: the caller supplies who the credentials prove (`Credentials`), and maps a `Refusal` to
its own error answer.

    >>> checks = RequestChecks(load_contract(), credentials=None)
    >>> op = checks.contract.operations["listRequests"]
    >>> checks.problems_as_sent(op, headers={}, path_params={}, query={}, content_type=None, raw_body=None)
    [Problem(code=2026, field='X-CAP-API-AUTH-ORG-ID', detail='the header is missing')]
"""
from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol

from .http import ORG_HEADER
from .loader import Contract, Operation, Parameter, SchemaValidator

BAD_CREDENTIALS = 2013
NO_PERMISSION = 2001
INVALID_ORG = 2005
MAX_INT = 2**63 - 1
DEFAULT_MAX_DEPTH = 64


@dataclass
class Problem:
    """One thing wrong with a request: the documented code (if any), where, and what."""

    code: int | None = None
    field: str | None = None
    detail: str | None = None


@dataclass
class Refusal(Exception):
    """A request the contract refuses: the HTTP status and every problem found."""

    status: int
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, status: int, code: int | None = None, field: str | None = None,
           detail: str | None = None) -> "Refusal":
        return cls(status, [Problem(code, field, detail)])


class Caller(Protocol):
    """Who a request's credentials prove: an organisation and permissions."""

    org_id: int

    def can(self, any_of: Iterable[str]) -> bool: ...


class Credentials(Protocol):
    """A server's user directory, as far as the checks need it."""

    def authenticate(self, headers: Mapping[str, str]) -> Caller | None:
        """The caller, or None; or raise `Refusal` (401, 2013) with a `detail` saying what is wrong."""


@dataclass
class Checked:
    """What the checks established about a request, for the handler to use."""

    operation: Operation
    user: Any  # the Caller the credentials proved (None for an operation without security)
    org_id: int | None
    params: dict[str, Any]
    body: Any


class RequestChecks:
    """Per-operation request checks, compiled from the contract once."""

    def __init__(self, contract: Contract, credentials: Credentials | None, max_depth: int = DEFAULT_MAX_DEPTH):
        self.contract = contract
        self.credentials = credentials
        self.max_depth = max_depth
        self._body_validators: dict[str, SchemaValidator | None] = {}

    # -- entry points ------------------------------------------------------------------
    def check(self, op: Operation, *, headers: Mapping[str, str], path_params: Mapping[str, str],
              query: Mapping[str, list[str]], content_type: str | None, raw_body: bytes | None) -> Checked:
        """Every check in the documented order; raises `Refusal` at the first step that fails."""
        user = self._authenticate(op, headers)
        org_id = self._organisation(op, headers, user)
        if user is not None:
            self._authorise(op, user)
        params = self._parameters(op, headers, path_params, query)
        body = self._body(op, params, content_type, raw_body)
        return Checked(op, user, org_id, params, body)

    def problems_as_sent(self, op: Operation, *, headers: Mapping[str, str], path_params: Mapping[str, str],
                         query: Mapping[str, list[str]], content_type: str | None,
                         raw_body: bytes | None) -> list[Problem]:
        """What is wrong with a request's header, parameters and body, credentials aside: lets a
        client (the contract suite) judge what it really sent, whoever the target is."""
        try:
            self._organisation(op, headers, None)
            params = self._parameters(op, headers, path_params, query)
            self._body(op, params, content_type, raw_body)
        except Refusal as refusal:
            return refusal.problems or [Problem()]
        return []

    # -- steps -------------------------------------------------------------------------
    def _authenticate(self, op: Operation, headers: Mapping[str, str]) -> Caller | None:
        if not op.raw.get("security"):
            return None
        user = self.credentials.authenticate(headers) if self.credentials else None
        if user is None:
            raise Refusal.of(401, BAD_CREDENTIALS, detail="no credentials: send Basic auth or an X-CAP-UI-AUTH-TOKEN")
        return user

    def _organisation(self, op: Operation, headers: Mapping[str, str], user: Caller | None) -> int | None:
        param = next((p for p in op.parameters if p.location == "header" and p.name == ORG_HEADER), None)
        if param is None:
            return user.org_id if user else None
        value = headers.get(ORG_HEADER)
        if value is None or value == "":
            raise Refusal.of(400, param.schema.get("x-capillary-missing-error"), ORG_HEADER, "the header is missing")
        found = param.validator.violations(value)
        if found:
            raise Refusal.of(400, found[0].code, ORG_HEADER, found[0].detail)
        if user is not None and int(value) != user.org_id:
            raise Refusal.of(400, INVALID_ORG, ORG_HEADER, "not the organisation of the caller")
        return int(value)

    def _authorise(self, op: Operation, user: Caller) -> None:
        needed = op.raw.get("x-permissions")
        if needed and not user.can(needed):
            raise Refusal.of(403, NO_PERMISSION, detail=f"needs one of: {', '.join(needed)}")

    def _parameters(self, op: Operation, headers: Mapping[str, str], path_params: Mapping[str, str],
                    query: Mapping[str, list[str]]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for param in op.parameters:
            if param.location == "header" and param.name == ORG_HEADER:
                continue
            repeated = len(query.get(param.name) or ()) if param.location == "query" else 0
            if repeated > 1:  # as URLSearchParams.append makes it; refused rather than last-wins
                listed = "," in param.schema.get("pattern", "")
                problems.append(Problem(param.schema.get("x-capillary-error"), param.name,
                                        f"given {repeated} times; send it once"
                                        + (", with the values comma-separated" if listed else "")))
                continue
            raw = _raw_value(param.location, param.name, headers, path_params, query)
            if raw is None:
                if param.required:
                    problems.append(Problem(param.schema.get("x-capillary-missing-error"), param.name,
                                            f"'{param.name}' is required"))
                elif "default" in param.schema:
                    values[param.name] = param.schema["default"]
                continue
            value, error = _coerce(raw, param.schema)
            if error:
                problems.append(Problem(param.schema.get("x-capillary-error"), param.name, error))
                continue
            for v in param.validator.violations(value):
                problems.append(Problem(v.code, param.name, _spelling_hint(value, param) or v.detail))
            values[param.name] = value
        declared = {p.name for p in op.parameters if p.location == "query"}
        for name in sorted(set(query) - declared):
            problems.append(Problem(None, name or "(empty name)", "not a parameter of this operation"))
        if problems:
            raise Refusal(400, problems)
        return values

    def _body(self, op: Operation, params: Mapping[str, Any], content_type: str | None, raw: bytes | None) -> Any:
        if op.body is None:
            return None
        if not raw:
            if op.body_required:
                raise Refusal.of(400, None, "/", "a JSON body is required")
            return None
        if (content_type or "").split(";")[0].strip().lower() != "application/json":
            raise Refusal.of(415, None, "Content-Type", "the body must be application/json")
        body = parse_json(raw, self.max_depth)
        validator = self._validator_for(op, params)
        found = validator.violations(body) if validator else []
        if found:
            raise Refusal(400, [Problem(v.code, v.field, v.detail) for v in found])
        return body

    def _validator_for(self, op: Operation, params: Mapping[str, Any]) -> SchemaValidator | None:
        """The body schema; a batch's items are checked one by one by the handler."""
        if op.operation_id not in self._body_validators:
            schema = op.body.schema if op.body else None
            resolved = self.contract.resolve(schema) if schema else None
            pointer = resolved.get("x-batch-items") if isinstance(resolved, dict) else None
            self._body_validators[op.operation_id] = (
                self.contract.validator(_with_open_items(resolved, pointer)) if pointer else op.body)
        return self._body_validators[op.operation_id]


def _spelling_hint(value: Any, param: Parameter) -> str | None:
    return spelling_hint(value, param.schema.get("enum", ()), "URL" if param.location == "path" else param.location)


def spelling_hint(value: Any, spellings: Iterable[Any], where: str) -> str | None:
    """A value that is one of `spellings` but spelt otherwise (a response's `goodwill-points` or an
    event's `GOODWILL_POINTS` where the URL takes `GOODWILL-POINTS`): say which spelling is wanted.

        >>> spelling_hint("goodwill-points", ["GOODWILL-POINTS"], "URL")
        "'goodwill-points' is spelt 'GOODWILL-POINTS' in the URL"
    """
    if not isinstance(value, str):
        return None
    fold = lambda text: text.upper().replace("_", "-")  # noqa: E731
    wanted = next((e for e in spellings if isinstance(e, str) and fold(e) == fold(value)), None)
    if wanted is None or wanted == value:
        return None
    return f"'{value}' is spelt '{wanted}' in the {where}"


def _raw_value(location: str, name: str, headers: Mapping[str, str], path_params: Mapping[str, str],
               query: Mapping[str, list[str]]) -> str | None:
    if location == "path":
        return path_params.get(name)
    if location == "header":
        return headers.get(name)
    if location == "query":
        got = query.get(name)
        return got[-1] if got else None
    return None


def _coerce(raw: str, schema: Mapping[str, Any]) -> tuple[Any, str | None]:
    """Query/path/header text to the schema's type; an error text when it cannot be."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            value = int(raw, 10)
            if abs(value) > MAX_INT:
                return None, f"{raw!r} is out of range"
            return value, None
        if kind == "number":
            value = float(raw)
            if not math.isfinite(value):
                return None, f"{raw!r} is not a finite number"
            return value, None
        if kind == "boolean":
            if raw.lower() in ("true", "false"):
                return raw.lower() == "true", None
            return None, f"{raw!r} is not true or false"
    except ValueError:
        return None, f"{raw[:40]!r} is not of type {kind!r}"
    return raw, None


def _with_open_items(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A copy of a batch body schema whose items may be any object (the envelope only)."""
    envelope = copy.deepcopy(schema)
    node = envelope
    for part in pointer.strip("/").split("/"):
        node = node["properties"][part]
    node["items"] = {"type": "object"}
    return envelope


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range")
    return value


# One decoder for every body: json.loads given these hooks builds a new decoder (and scanner) per call.
_STRICT_JSON = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse a body strictly: UTF-8, no NaN/Infinity, bounded numbers and nesting, no lone surrogates."""
    try:
        text = raw.decode("utf-8")
        value = _STRICT_JSON.decode(text)
        if text.count("{") + text.count("[") >= max_depth:  # n brackets nest n + 1 levels at most
            _check_depth(value, max_depth)
        if _SURROGATE_ESCAPE.search(text):  # strict UTF-8 text has none but as \u escapes (D800-DFFF)
            json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates cannot be stored
    except UnicodeError as exc:
        raise Refusal.of(400, None, "/", f"the body is not valid UTF-8 JSON text: {exc.reason}") from None
    except RecursionError:
        raise Refusal.of(400, None, "/", f"the body nests deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise Refusal.of(400, None, "/", f"the body is not valid JSON: {str(exc)[:200]}") from None
    return value


def _check_depth(value: Any, limit: int) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise RecursionError
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
