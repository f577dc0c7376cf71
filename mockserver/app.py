"""The app factory: one isolated mock per call, wired from a MockConfig.

Every request whose route is an operation of openapi.yaml (the Flask endpoint is its
operationId) is checked against the contract before the handler runs; every answer is
journalled (in batches, see journal.py) and, in strict mode, checked against the contract on the way out.
"""
from __future__ import annotations

import hmac
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Request, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from .config import MockConfig
from capillary_contract.loader import load_contract
from .admin import ADMIN_DOCUMENT
from .errors import ADMIN, LEGACY, WORKFLOW, ApiError, family_of_path, render
from .identity import Directory
from .journal import JournalBuffer
from .masking import masked_headers, masked_text
from .preload import load_configured
from capillary_contract.types import load_types
from .state import EXTENSION, MockState, mock_state
from .store import ReadOverBudget, StoreError, StoreFull, open_store
from .store.claims import ClaimKeeper
from .ui import QUIET_HEADER
from .validation import RequestValidator
from .waiting import WouldWait, answer_handed_over, budget_inline_reads, end_read_budget

log = logging.getLogger("mockserver")
access_log = logging.getLogger("mockserver.access")
# CORS for Capillary's APIs only: a front end on another origin calls them with its users' credentials,
# so the origin is reflected (a `*` forbids credentials) and so are the headers a preflight asks for.
# The admin API gets no CORS at all: a page a developer happens to open must not reset or read the mock.
CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
CORS_DEFAULT_HEADERS = "Authorization, Content-Type, X-CAP-UI-AUTH-TOKEN, X-CAP-API-AUTH-ORG-ID, X-Mock-Outcome"
CORS_MAX_AGE = "600"
ADMIN_PREFIX = "/__admin/"
ADMIN_TOKEN_HEADER = "X-Mock-Admin-Token"
ADMIN_TOKEN_COOKIE = "mockserver_admin_token"
OPEN_ADMIN_ENDPOINTS = ("adminHealth",)  # probes and start-up waits need no token
JOURNAL_BODY_LIMIT = 64 * 1024


def create_app(config: MockConfig | None = None) -> Flask:
    config = config or MockConfig()
    contract = load_contract()
    admin = load_contract(ADMIN_DOCUMENT, shared=contract)
    directory = Directory.from_file(config.users_file, config.jwt_secret, config.token_ttl_s)
    store = open_store(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.json.compact = True
    app.extensions[EXTENSION] = MockState(
        config=config, contract=contract, admin=admin, directory=directory, store=store, types=load_types(contract),
        validator=RequestValidator(contract, directory, config.max_json_depth),
        admin_validator=RequestValidator(admin, directory, config.max_json_depth), started=time.time(),
        journal=JournalBuffer(store), claims=ClaimKeeper(store))

    from . import api_legacy, webhooks
    from .accounts import bp as accounts_bp
    from .admin import bp as admin_bp
    from .api_v2 import bp as workflow_bp
    from .ui import bp as ui_bp
    app.register_blueprint(workflow_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(ui_bp)
    api_legacy.init_app(app)  # the legacy v1.1 API
    webhooks.init_app(app)    # the outbox, its dispatcher and the events view

    load_configured(app.extensions[EXTENSION])
    app.before_request(_check_request)
    app.before_request(budget_inline_reads)
    app.after_request(_finish_response)
    app.teardown_request(end_read_budget)
    app.register_error_handler(WouldWait, answer_handed_over)
    app.register_error_handler(ReadOverBudget, answer_handed_over)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(StoreError, _store_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _family() -> str:
    op = getattr(g, "operation", None)
    if op is not None:
        tags = op.raw.get("tags", [])
        for family in (WORKFLOW, LEGACY, ADMIN):
            if family in tags:
                return family
    return family_of_path(request.path)


def _check_request() -> None:
    # The hooks bind the request and `g` once (werkzeug's documented `_get_current_object`): each
    # `request.x` through the proxy looked the context up again, ~40 times an answer, and binding
    # them took ~9 % off a create's CPU (the same create in-process, A/B, 3 runs each).
    req, ctx = request._get_current_object(), g._get_current_object()  # type: ignore[attr-defined]
    ctx.started = time.perf_counter()
    state = mock_state()
    endpoint = (req.endpoint or "").rpartition(".")[2]
    op, validator = state.contract.operations.get(endpoint), state.validator
    if op is None:
        op, validator = state.admin.operations.get(endpoint), state.admin_validator
    ctx.operation = op  # first, so that --strict holds even the guard's 401 and 403 to the document
    if req.path.startswith(ADMIN_PREFIX):
        _guard_admin(state.config)
    if req.method == "OPTIONS" or op is None:
        return None
    if op.operation_id == "adminJournal":  # show every answer this worker gave so far
        state.journal.flush()
    raw = req.get_data(cache=True) if op.body is not None else None
    if raw is not None and req.content_length is None and len(raw) >= state.config.max_body_bytes:
        # A chunked body is cut at the limit by werkzeug's stream, not refused: refuse it here.
        raise RequestEntityTooLarge()
    ctx.checked = validator.check(
        op, headers=req.headers, path_params=req.view_args or {},
        query=req.args.to_dict(flat=False), content_type=req.content_type, raw_body=raw)
    return None


def _guard_admin(config: MockConfig) -> None:
    """The admin API answers only its own origin (or a client that is no browser) and, with
    `--admin-token`, only callers that show the token."""
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site", "none")
    if fetch_site not in ("none", "same-origin") or (origin is not None and not _same_origin(origin)):
        raise ApiError.of(403, None, "Origin", "the admin API does not answer other origins")
    if config.admin_token is None or (request.endpoint or "").rpartition(".")[2] in OPEN_ADMIN_ENDPOINTS:
        return
    bearer = request.headers.get("Authorization", "")
    shown = [request.headers.get(ADMIN_TOKEN_HEADER), request.cookies.get(ADMIN_TOKEN_COOKIE),
             bearer[7:] if bearer[:7].lower() == "bearer " else None]
    expected = config.admin_token.encode("utf-8")
    if not any(t is not None and hmac.compare_digest(_raw_bytes(t), expected) for t in shown):
        raise ApiError.of(401, None, ADMIN_TOKEN_HEADER, "the admin API needs the mock's --admin-token")


def _raw_bytes(text: str) -> bytes:
    """A header value's bytes as sent (WSGI hands them over decoded as latin-1)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:  # a cookie werkzeug decoded as UTF-8
        return text.encode("utf-8", "surrogateescape")


def _same_origin(origin: str) -> bool:
    """`Origin` names this server (scheme and authority as the browser reached it)."""
    return origin.rstrip("/").lower() == f"{request.scheme}://{request.host}".lower()


def _api_error(error: ApiError) -> Response:
    body, status = render(error, _family(), mock_state().contract)
    return _json(body, status)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    detail = {404: _no_route(), 405: f"{request.method} is not allowed here",
              413: "the body is larger than the mock accepts"}.get(status, error.description)
    response = _api_error(ApiError.of(status, None, None, detail))
    if status == 405:  # RFC 9110: a 405 names the methods the resource allows
        response.headers["Allow"] = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
    return response


def _no_route() -> str:
    """A 404's detail: no such route, and the likely slip when there is one (a trailing slash)."""
    path = request.path
    if len(path) > 1 and path.endswith("/"):
        try:
            current_app.url_map.bind("").match(path.rstrip("/"), method=request.method)
        except MethodNotAllowed:
            return "no such route: drop the trailing slash"
        except HTTPException:
            pass
        else:
            return "no such route: drop the trailing slash"
    return "no such route (GET /openapi.yaml lists the paths)"


def _store_error(error: StoreError) -> Response:
    """The database is gone, replaced or full: 503 or 507 in the API's envelope, saying why."""
    log.error("store failure on %s %s: %s", request.method, request.path, error)
    response = _api_error(ApiError.of(507 if isinstance(error, StoreFull) else 503, None, None, str(error)))
    response.headers["Retry-After"] = "1"
    return response


def _unexpected(error: Exception) -> Response:
    """A bug or a broken store: a 500 in the envelope of the API called; the why goes to the log only
    (an exception's text names files, queries and values a client has no business seeing)."""
    log.exception("unexpected error on %s %s", request.method, request.path)
    return _api_error(ApiError.of(500, None, None, "the mock failed; its log says why"))


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                    mimetype="application/json")


def _cors(req: Request, response: Response) -> None:
    if "Vary" in response.headers:
        response.vary.add("Origin")
    else:  # most answers: werkzeug's `vary` parses and rebuilds the header (~10 µs a request)
        response.headers["Vary"] = "Origin"
    origin = req.headers.get("Origin")
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    if req.method == "OPTIONS":
        response.vary.add("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = (
            req.headers.get("Access-Control-Request-Headers") or CORS_DEFAULT_HEADERS)
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE


def _finish_response(response: Response) -> Response:
    req, ctx = request._get_current_object(), g._get_current_object()  # type: ignore[attr-defined]
    if ctx.get("handed_over"):  # to be run again in a thread (waiting.py): this answer is never sent
        return response
    state = mock_state()
    if family_of_path(req.path) != ADMIN:
        _cors(req, response)
    if req.method == "OPTIONS" and response.status_code < 400:
        response.status_code = 204
        response.set_data(b"")
        return response
    op = getattr(ctx, "operation", None)
    if state.config.strict and op is not None and response.mimetype == "application/json":
        response = _conform(op, response)
    _access_log(req, ctx, response)
    if state.config.journal and not req.path.startswith(ADMIN_PREFIX) and QUIET_HEADER not in req.headers:
        _journal(req, ctx, state, response)
    return response


def _access_log(req: Request, ctx: Any, response: Response) -> None:
    """One line per answer (method, path, status, ms, user), so a developer sees what the mock did."""
    checked = ctx.get("checked")
    user = getattr(getattr(checked, "user", None), "username", None) or "-"
    access_log.info("%s %s %s %.1fms %s", req.method, req.full_path.rstrip("?")[:500], response.status_code,
                    (time.perf_counter() - ctx.get("started", time.perf_counter())) * 1000, user)


def _conform(op: Any, response: Response) -> Response:
    """Strict mode: an answer outside the contract becomes a loud 500 naming what is wrong."""
    try:
        validator = op.response_validator(response.status_code)
    except KeyError as exc:
        problems = [str(exc)]
    else:
        body = json.loads(response.get_data(as_text=True) or "null")
        problems = [f"{v.field}: {v.detail}" for v in validator.violations(body)] if validator else []
    if not problems:
        return response
    log.error("response outside the contract on %s %s: %s", request.method, request.path, problems)
    return _json({"error": "the mock answered outside the contract", "details": problems[:20]}, 500)


def _journal(req: Request, ctx: Any, state: MockState, response: Response) -> None:
    try:
        raw = req.get_data(cache=True) if req.content_length else b""
    except HTTPException:  # the body was refused (too large): journal without it
        raw = b""
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
             "method": req.method, "path": req.path, "query": req.query_string.decode("latin-1"),
             "headers": masked_headers(dict(req.headers.items())),
             "body": masked_text(raw.decode("utf-8", "replace"), JOURNAL_BODY_LIMIT) if raw else None,
             "status": response.status_code, "durationMs": round((time.perf_counter() - ctx.get("started", 0)) * 1000, 3),
             "responseBody": _journal_answer(response)}
    state.journal.add(entry)


def _journal_answer(response: Response) -> str | None:
    """The answer's body as journalled (a debugging aid), stored like the request's (masking.py)."""
    if response.is_streamed or response.direct_passthrough:
        return None
    raw = response.get_data()
    return masked_text(raw.decode("utf-8", "replace"), JOURNAL_BODY_LIMIT) if raw else None
