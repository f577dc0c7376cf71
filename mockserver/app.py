"""The app factory: one isolated mock per call, wired from a MockConfig.

Every request whose route is an operation of openapi.yaml (the Flask endpoint is its
operationId) is checked against the contract before the handler runs; every answer is
journalled (in batches, see journal.py) and, in strict mode, checked against the contract on the way out.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .config import MockConfig
from capillary_contract.loader import load_contract
from .errors import ADMIN, LEGACY, WORKFLOW, ApiError, family_of_path, render
from .identity import Directory
from .journal import JournalBuffer
from .preload import load_configured
from capillary_contract.types import load_types
from .state import EXTENSION, MockState, mock_state
from .store import open_store
from .store.claims import ClaimKeeper
from .ui import QUIET_HEADER
from .validation import RequestValidator

log = logging.getLogger("mockserver")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-CAP-UI-AUTH-TOKEN, X-CAP-API-AUTH-ORG-ID, X-Mock-Outcome",
    "Access-Control-Max-Age": "600",
}
SECRET_HEADERS = ("authorization", "x-cap-ui-auth-token")
JOURNAL_BODY_LIMIT = 64 * 1024


def create_app(config: MockConfig | None = None) -> Flask:
    config = config or MockConfig()
    contract = load_contract()
    directory = Directory.from_file(config.users_file, config.jwt_secret, config.token_ttl_s)
    store = open_store(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.json.compact = True
    app.extensions[EXTENSION] = MockState(
        config=config, contract=contract, directory=directory, store=store, types=load_types(contract),
        validator=RequestValidator(contract, directory, config.max_json_depth), started=time.time(),
        journal=JournalBuffer(store), claims=ClaimKeeper(store))

    from .accounts import bp as accounts_bp
    from .admin import bp as admin_bp
    from .api_v2 import bp as workflow_bp
    from .ui import bp as ui_bp
    app.register_blueprint(workflow_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(ui_bp)
    _register_optional_blueprints(app)

    load_configured(app.extensions[EXTENSION])
    app.before_request(_check_request)
    app.after_request(_finish_response)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _register_optional_blueprints(app: Flask) -> None:
    """Parts that live in their own modules (legacy v1.1, webhooks) plug in here when present."""
    import importlib
    for name in ("mockserver.api_legacy", "mockserver.webhooks"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.init_app(app)


def _family() -> str:
    op = getattr(g, "operation", None)
    if op is not None:
        tags = op.raw.get("tags", [])
        for family in (WORKFLOW, LEGACY, ADMIN):
            if family in tags:
                return family
    return family_of_path(request.path)


def _check_request() -> None:
    g.started = time.perf_counter()
    if request.method == "OPTIONS":
        return None
    state = mock_state()
    op = state.contract.operations.get((request.endpoint or "").rpartition(".")[2])
    g.operation = op
    if op is None:
        return None
    if op.operation_id == "adminJournal":  # show every answer this worker gave so far
        state.journal.flush()
    raw = request.get_data(cache=True) if op.body is not None else None
    if raw is not None and request.content_length is None and len(raw) >= state.config.max_body_bytes:
        # A chunked body is cut at the limit by werkzeug's stream, not refused: refuse it here.
        raise RequestEntityTooLarge()
    g.checked = state.validator.check(
        op, headers=request.headers, path_params=request.view_args or {},
        query=request.args.to_dict(flat=False), content_type=request.content_type, raw_body=raw)
    return None


def _api_error(error: ApiError) -> Response:
    body, status = render(error, _family(), mock_state().contract)
    return _json(body, status)


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    detail = {404: "no such operation", 405: f"{request.method} is not allowed here",
              413: "the body is larger than the mock accepts"}.get(status, error.description)
    response = _api_error(ApiError.of(status, None, None, detail))
    if status == 405:  # RFC 9110: a 405 names the methods the resource allows
        response.headers["Allow"] = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
    return response


def _unexpected(error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return _json({"error": "the mock failed", "details": [f"{type(error).__name__}: {error}"[:500]]}, 500)


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                    mimetype="application/json")


def _finish_response(response: Response) -> Response:
    state = mock_state()
    response.headers.update(CORS_HEADERS)
    if request.method == "OPTIONS":
        response.status_code = 204
        response.set_data(b"")
        return response
    op = getattr(g, "operation", None)
    if state.config.strict and op is not None and response.mimetype == "application/json":
        response = _conform(op, response)
    if state.config.journal and not request.path.startswith("/__admin/") and QUIET_HEADER not in request.headers:
        _journal(state, response)
    return response


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


def _journal(state: MockState, response: Response) -> None:
    try:
        raw = request.get_data(cache=True) if request.content_length else b""
    except HTTPException:  # the body was refused (too large): journal without it
        raw = b""
    headers = {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in request.headers.items()}
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
             "method": request.method, "path": request.path, "query": request.query_string.decode("latin-1"),
             "headers": headers, "body": raw[:JOURNAL_BODY_LIMIT].decode("utf-8", "replace") if raw else None,
             "status": response.status_code, "durationMs": round((time.perf_counter() - g.get("started", 0)) * 1000, 3)}
    state.journal.add(entry)
