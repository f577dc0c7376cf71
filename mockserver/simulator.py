"""What the wrapped Intouch API answers when a request is approved.

Three sources, strongest first: an outcome forced for this call (`X-Mock-Outcome` header or
a queued fault from `POST /__admin/faults`), a real call to the payload's hostname + path
(opt-in `--chain`, so the mock can chain to another mock), and the rules below, which play
the documented behaviour of each wrapped API (a reused `external_reference_number` fails
with 744, an identifier name the wrapped API does not support with 8013, ...).
"""
from __future__ import annotations

import base64
import binascii
import json
import random
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, Callable
from urllib.parse import urlsplit


from capillary_contract.answers import fitted_answer
from capillary_contract.http import TRANSPORT_HEADERS
from capillary_contract.loader import Contract
from capillary_contract.types import RequestType, value_at

from .store import Reader

SUCCESS, FAILURE, TIMEOUT = "success", "failure", "timeout"


@dataclass(frozen=True)
class Forced:
    """An outcome imposed on one wrapped call."""

    outcome: str
    status: int | None = None
    body: dict[str, Any] | None = None
    latency_ms: int = 0


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    output: dict[str, Any]           # IntouchAPITask_Output: status, headers (lists), body
    remember: tuple[str, str] | None = None  # a (kind, value) the org has now used


@dataclass(frozen=True)
class CallContext:
    contract: Contract
    rtype: RequestType
    call: dict[str, Any]             # IntouchAPITask-Payload
    org_id: int
    maker_id: int


# -- answers ---------------------------------------------------------------------------
def _till(call: dict[str, Any]) -> str:
    auth = str(call.get("headers", {}).get("Authorization", ""))
    if auth[:6].lower() == "basic ":
        try:
            return base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
    return ""


def output(ctx: CallContext, status: int, body: dict[str, Any] | None, item_code: int | None, ok: bool) -> dict[str, Any]:
    """IntouchAPITask_Output as the documents show it: numeric status, header values as lists."""
    request_id = uuid.uuid4().hex
    text = json.dumps(body) if body is not None else ""
    headers = {
        "Date": [formatdate(usegmt=True)],
        "Content-Type": ["application/json; charset=UTF-8"],
        "Content-Length": [str(len(text.encode("utf-8")))],
        "Connection": ["keep-alive"],
        "X-Application-Context": ["application:1900"],
        "Host": ["intouch-api-mock"],
        "uri_path": [ctx.rtype.wrapped_path.rstrip("/") or "/"],
        "org_id": [str(ctx.org_id)],
        "status_code": [str(item_code if item_code is not None else status)],
        "success": ["1" if ok else "0"],
        "fail": ["0" if ok else "1"],
        "X-CAP-REQUEST-ID": [request_id],
        "till": [_till(ctx.call)],
        "X-Cap-RequestID": [request_id],
        "X-Frame-Options": ["SAMEORIGIN", "SAMEORIGIN"],
    }
    return {"status": status, "headers": headers, "body": body}


def v2_failure(ctx: CallContext, status: int, code: int) -> Outcome:
    message = ctx.contract.wrapped_errors.get(code) or ctx.contract.legacy_item_errors.get(code, "Request failed")
    body = {"errors": [{"status": False, "code": code, "message": message}], "warnings": []}
    return Outcome(False, output(ctx, status, body, code, False))


def redemption_failure(ctx: CallContext, code: int) -> Outcome:
    """The v1.1 points API fails inside a 200, as in the documented 744 example."""
    redeem = ctx.call["body"]["root"]["redeem"]
    message = ctx.contract.wrapped_errors.get(code) or ctx.contract.legacy_item_errors[code]
    body = {"response": {
        "status": {"success": "false", "code": 500, "message": "All requests have failed due to errors"},
        "responses": {"points": {
            **{k: str(v) for k, v in redeem.get("customer", {}).items()},
            "points_redeemed": str(redeem.get("points_redeemed", "")),
            "redemption_purpose": "", "redeemed_value": 0.0, "side_effects": {"effect": []},
            "item_status": {"success": "false", "code": code, "message": message}}}}}
    return Outcome(False, output(ctx, 200, body, code, False))


def _ids(ctx: CallContext) -> random.Random:
    return random.Random(f"{ctx.org_id}:{json.dumps(ctx.call, sort_keys=True)}")


def _success(ctx: CallContext, remember: tuple[str, str] | None = None) -> Outcome:
    """The wrapped API's success answer: the spec's approved example of the type fitted to this call
    (`capillary_contract.answers`); a type the spec shows no approval of answers a bare 200."""
    shown = ctx.rtype.success_example
    if shown is None:
        status, body = 200, {"warnings": []}
    else:
        answer = shown["IntouchAPITask_Output"]
        status = int(answer["status"])
        body = fitted_answer(shown["IntouchAPITask-Payload"].get("body"), answer.get("body"), ctx.call.get("body"),
                             _ids(ctx))
    return Outcome(True, output(ctx, status, body, 200 if status == 200 else None, True), remember)


# -- rules -----------------------------------------------------------------------------
def reference_of(ctx: CallContext) -> tuple[str, str] | None:
    """The (kind, value) a success of this call would use up for the org: its type's field marked
    `x-used-once` in the contract, when the call carries it (a second success with it fails)."""
    body = {"payload": {"IntouchAPITask-Payload": ctx.call}}
    for kind, path in ctx.rtype.used_once:
        value = value_at(body, path)
        if value not in (None, ""):
            return kind, str(value)
    return None


def _used(reader: Reader, ctx: CallContext) -> tuple[str, str] | None:
    """The call's reference if the org has used it already."""
    ref = reference_of(ctx)
    return ref if ref and reader.reference_used(ctx.org_id, *ref) else None


def _redemption(ctx: CallContext, reader: Reader) -> Outcome:
    if not ctx.call.get("headers", {}).get("X-CAP-CLIENT-SIGNATURE"):
        return redemption_failure(ctx, 1629)
    if _used(reader, ctx):
        return redemption_failure(ctx, 744)
    return _success(ctx, reference_of(ctx))


def _status_change(ctx: CallContext, reader: Reader) -> Outcome:
    query = ctx.call.get("queryParams", {})
    found = ctx.contract.component_validator("UpdateCustomerStatusQuery").violations(query)
    if found:
        return v2_failure(ctx, 400, found[0].code or 8013)
    return _success(ctx)


def _retro(ctx: CallContext, reader: Reader) -> Outcome:
    if _used(reader, ctx):
        return v2_failure(ctx, 400, 1627)
    return _success(ctx, reference_of(ctx))


RULES: dict[str, Callable[[CallContext, Reader], Outcome]] = {
    "POINTS-REDEMPTION": _redemption,
    "CUSTOMER-STATUS-CHANGE": _status_change,
    "RETRO-TRANSACTION": _retro,
}

DEFAULT_FAILURES: dict[str, Callable[[CallContext], Outcome]] = {
    "POINTS-REDEMPTION": lambda ctx: redemption_failure(ctx, 744),
    "CUSTOMER-STATUS-CHANGE": lambda ctx: v2_failure(ctx, 400, 8015),
}


def simulate(ctx: CallContext, reader: Reader) -> Outcome:
    """The rule-based outcome; runs inside the decision's transaction so rules see committed history."""
    rule = RULES.get(ctx.rtype.url_name)
    return rule(ctx, reader) if rule else _success(ctx)


def forced(ctx: CallContext, force: Forced) -> Outcome:
    """A forced success uses up the call's reference like any success, so a later approval with it fails."""
    if force.outcome == SUCCESS:
        return _success(ctx, reference_of(ctx))
    if force.outcome == TIMEOUT:
        return Outcome(False, {"status": 504, "headers": {}, "body": None})
    if force.status is not None or force.body is not None:
        status = force.status or 500
        return Outcome(False, output(ctx, status, force.body, None, False))
    default = DEFAULT_FAILURES.get(ctx.rtype.url_name)
    return default(ctx) if default else v2_failure(ctx, 500, 500)


CHAIN_ANSWER_LIMIT = 1024 * 1024  # bytes of the chained answer kept; the rest is not read


def chain_target(url: str, allow: tuple[str, ...]) -> str | None:
    """Why `url` may not be called (None: it may): an http(s) URL whose host, or host:port, is listed."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL"
    for entry in allow:
        name, sep, number = entry.rpartition(":")
        if sep and number.isdigit() and (name.startswith("[") or ":" not in name):
            if name.strip("[]").lower() == host and int(number) == port:
                return None
        elif entry.strip("[]").lower() == host:
            return None
    return f"{host}:{port} is not in --chain-allow"


def _chain_failure(status: int, message: str) -> Outcome:
    return Outcome(False, {"status": status, "headers": {}, "body": {"errors": [
        {"status": False, "code": status, "message": message[:300]}]}})


def chained(ctx: CallContext, timeout_s: float, allow: tuple[str, ...] = ()) -> Outcome:
    """Really call hostname + path (angle brackets from the documents stripped), if the host is allowed.

    Every way the call can fail (refused host, bad URL or header, no answer, time-out) is the wrapped
    call's failure, recorded on the request, never the mock's. Proxies and .netrc from the environment
    are ignored and redirects not followed, so the call reaches exactly the allowed host."""
    url = str(ctx.call.get("hostname", "")).strip("<>").rstrip("/") + str(ctx.call.get("path", ""))
    refused = chain_target(url, allow)
    # The chained call frames its own message (requests sets Host and Content-Length for the body it
    # sends): passing the maker's framing or hop headers on would smuggle them.
    if refused:
        return _chain_failure(502, f"wrapped call refused: {refused}")
    headers = {str(k): str(v) for k, v in (ctx.call.get("headers") or {}).items()
               if str(k).lower() not in TRANSPORT_HEADERS}
    import requests  # only a mock started with --chain calls anything
    session = requests.Session()
    session.trust_env = False
    try:
        with session.request(str(ctx.call.get("method", "POST")), url, params=ctx.call.get("queryParams") or None,
                             json=ctx.call.get("body"), headers=headers, timeout=timeout_s, allow_redirects=False,
                             stream=True) as answer:
            raw = answer.raw.read(CHAIN_ANSWER_LIMIT, decode_content=True) or b""
            status, answer_headers = answer.status_code, answer.raw.headers
    except requests.Timeout:
        return Outcome(False, {"status": 504, "headers": {}, "body": None})
    except Exception as exc:  # noqa: BLE001 - any failure of the wrapped call is its outcome, not a 500
        return _chain_failure(502, f"wrapped call failed: {type(exc).__name__}")
    finally:
        session.close()
    try:
        body = json.loads(raw)
        body = body if isinstance(body, dict) else {"value": body}
    except ValueError:
        text = raw.decode("utf-8", "replace")
        body = {"text": text[:4096]} if text else None
    headers_out: dict[str, list[str]] = {}
    for key, value in answer_headers.items():
        headers_out.setdefault(key, []).append(value)
    return Outcome(200 <= status < 300, {"status": status, "headers": headers_out, "body": body})
