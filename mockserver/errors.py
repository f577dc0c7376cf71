"""Error answers in the envelope of the API that was called, with the spec's exact messages.

Handlers and the validation step raise `ApiError` with a documented code; this module
turns it into the v2 `{"errors": [...]}` envelope or the v1.1 `response.status` envelope, so no
handler ever writes an error body by hand. The admin API answers in the v2 envelope too (one
shape for a frontend to read), with the HTTP status as its code: it has no catalogue of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from capillary_contract.loader import Contract
from capillary_contract.requests import Problem  # one thing wrong with a request, as the contract's checks name it

WORKFLOW, LEGACY, ADMIN = "workflow", "legacy", "admin"
# An answer lists at most this many problems, then one that counts the rest: a 1 MB body with
# 60,000 bad values got a 12.9 MB answer; the first hundred say as much to anyone fixing a client.
MAX_LISTED_PROBLEMS = 100
INVALID_PAYLOAD = 2008
# A failure of the service, not of the request: of the documented codes, the one that tells a caller
# the fault is on the other side ("... Contact the support team.").
SERVICE_FAULT = 2024
LEGACY_STATUS = {
    400: "Invalid request",
    401: "Unauthorized",
    403: "No permissions",
    404: "Not found",
    405: "Method not allowed",
    413: "Invalid request",
    415: "Invalid request",
    503: "Service unavailable",
    507: "Insufficient storage",
}


@dataclass
class ApiError(Exception):
    """Raise to answer with an error; `problems` carry codes (None means the default for the status)."""

    status: int
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def of(cls, status: int, code: int | None = None, field: str | None = None, detail: str | None = None) -> "ApiError":
        return cls(status, [Problem(code, field, detail)])


def family_of_path(path: str) -> str:
    if path.startswith("/v1.1/"):
        return LEGACY
    if path.startswith("/api_gateway/"):
        return WORKFLOW
    return ADMIN


def listed(problems: list[Problem], limit: int = MAX_LISTED_PROBLEMS) -> list[Problem]:
    """The first `limit` problems, and one more that says how many were left out."""
    if len(problems) <= limit:
        return problems
    left_out = len(problems) - limit
    return [*problems[:limit], Problem(None, None, f"{left_out} more problem(s) not listed")]


def render(error: ApiError, family: str, contract: Contract) -> tuple[dict[str, Any], int]:
    error = ApiError(error.status, listed(error.problems))
    if family == WORKFLOW:
        return _workflow_body(error, contract), error.status
    if family == LEGACY:
        return _legacy_body(error), error.status
    return _admin_body(error), error.status


def _workflow_body(error: ApiError, contract: Contract) -> dict[str, Any]:
    messages = contract.workflow_errors
    default = SERVICE_FAULT if error.status >= 500 else INVALID_PAYLOAD
    return {"errors": [_entry(code, messages[code], problem) for problem in error.problems or [Problem()]
                       for code in [problem.code if problem.code in messages else default]]}


def _admin_body(error: ApiError) -> dict[str, Any]:
    message = _admin_message(error.status)
    return {"errors": [_entry(error.status, message, problem) for problem in error.problems or [Problem()]]}


def _entry(code: int, message: str, problem: Problem) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": False, "code": code, "message": message}
    if problem.field:
        entry["field"] = problem.field
    if problem.detail:
        entry["detail"] = problem.detail
    return entry


def _legacy_body(error: ApiError) -> dict[str, Any]:
    # 413 and 415 are documented as "Invalid request" (400); a route that is not an operation
    # (404, 405) says so with its own status.
    status = error.status if error.status in LEGACY_STATUS else 400
    code = 400 if status in (413, 415) else status
    body: dict[str, Any] = {"response": {"status": {"success": "false", "code": code, "message": LEGACY_STATUS[status]}}}
    problems = [{"field": p.field, "detail": p.detail} if p.field else {"detail": p.detail}
                for p in error.problems if p.detail]
    if problems and status not in (401, 403):
        body["response"]["errors"] = problems
    return body


def _admin_message(status: int) -> str:
    return {400: "invalid request", 401: "unauthorized", 403: "forbidden", 404: "not found",
            405: "method not allowed", 408: "request timeout", 413: "body too large",
            415: "body must be application/json", 431: "request head too large",
            500: "internal error", 501: "not implemented", 503: "storage unavailable", 505: "HTTP version not supported",
            507: "storage full"}.get(status, "error")
