"""What the mock never shows: secret headers, of a request and of any `headers` object in a body.

A wrapped call carries its own credentials (`IntouchAPITask-Payload.headers.Authorization`). The
request keeps them, since the call needs them and Capillary returns them with the request; the
journal shows them masked. The journal stores bodies as sent and masks them when it is read
(`GET /__admin/journal` parses every body anyway), so that no create pays for a parse, a copy
and a dump of its body and of its answer; a body too long to be stored whole is masked before it
is cut, while it is still JSON.
"""
from __future__ import annotations

import json
from typing import Any

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-cap-ui-auth-token",
                            "x-mock-admin-token"})
MASK = "***"


def masked_headers(headers: dict[str, Any]) -> dict[str, Any]:
    return {k: (MASK if str(k).lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def masked(value: Any) -> Any:
    """`value` with every secret header of every `headers` object, at any depth, masked (a copy
    where something is masked; `value` itself where nothing is)."""
    if not _has_secret_headers(value):
        return value
    try:
        return _masked(value)
    except RecursionError:  # secrets nested deeper than Python recurses: show none of it
        return MASK


def masked_text(text: str, limit: int) -> str:
    """A body as the journal stores it: as sent, cut at `limit` characters; when it must be cut
    and is JSON, its secrets are masked first (a cut body can no longer be parsed to mask it)."""
    if len(text) <= limit:
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return text[:limit]
    return json.dumps(masked(value), ensure_ascii=False)[:limit]


def _has_secret_headers(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            headers = node.get("headers")
            if isinstance(headers, dict) and any(str(k).lower() in SECRET_HEADERS for k in headers):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _masked(value: Any) -> Any:
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _masked(v) for k, v in value.items()}
    if isinstance(out.get("headers"), dict):
        out["headers"] = masked_headers(out["headers"])
    return out
