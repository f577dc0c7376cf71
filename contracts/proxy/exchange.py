"""One proxied exchange as the checks see it: what the client sent and what the upstream answered.

Bodies are kept only up to `CHECK_LIMIT` bytes (the rest is still forwarded, unread), so a
huge upload or download never grows the proxy's memory; an exchange whose body was cut is
not judged on that body.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CHECK_LIMIT = 1 << 20  # bytes of each body kept for the checks


@dataclass
class Exchange:
    method: str
    target: str                          # the request target as sent (path and query)
    request_headers: list[tuple[str, str]]
    request_body: bytes = b""
    request_cut: bool = False            # the body was longer than CHECK_LIMIT
    request_read: bool = False           # the client's request was read to its end
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    response_cut: bool = False
    number: int = 0                      # the n-th exchange the proxy saw (1-based)
    _request_json: Any = field(default=None, repr=False, compare=False)
    _response_json: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._request_json = self._response_json = _UNREAD

    # -- request ---------------------------------------------------------------------
    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def request_header(self, name: str) -> str | None:
        return _header(self.request_headers, name)

    def request_json(self) -> Any:
        """The body as JSON; NOT_JSON when it is empty, cut or not JSON (parsed once)."""
        if self._request_json is _UNREAD:
            self._request_json = NOT_JSON if self.request_cut else _json(self.request_body)
        return self._request_json

    # -- response --------------------------------------------------------------------
    def response_header(self, name: str) -> str | None:
        return _header(self.response_headers, name)

    def response_json(self) -> Any:
        """The answer as JSON; NOT_JSON when it is empty, cut or not JSON (parsed once)."""
        if self._response_json is _UNREAD:
            self._response_json = NOT_JSON if self.response_cut else _json(self.response_body)
        return self._response_json

    @property
    def label(self) -> str:
        """`#12 PUT /api_gateway/v2/request-workflow/GOODWILL-POINTS -> 200`, for one readable line."""
        return f"#{self.number} {self.method} {urlsplit(self.target).path} -> {self.status}"


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


NOT_JSON = object()
_UNREAD = object()


def _json(raw: bytes) -> Any:
    if not raw:
        return NOT_JSON
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return NOT_JSON
