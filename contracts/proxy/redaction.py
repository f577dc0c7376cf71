"""Keeping secrets and unprintable bytes out of everything the proxy writes.

Two layers, because a secret can hide anywhere: by name (headers and JSON keys that carry
credentials, e.g. `Authorization`, a wrapped call's own `Authorization`, `X-CAP-UI-AUTH-TOKEN`,
cookies) and by value (every secret found that way is then blanked wherever else it appears,
e.g. quoted inside a schema violation's detail). `printable` escapes control characters and
lone surrogates, so console lines, JSON and JUnit survive any bytes a client sends.
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Iterable

from ..text import decoded, printable  # noqa: F401  (re-exported: the proxy's modules import them from here)

REDACTED = "<redacted>"
SECRET_NAME = re.compile(r"^(proxy-)?authorization$|token|cookie|secret|passw|api[-_]?key|signature|credential", re.I)
MIN_SECRET = 4  # shorter values are not blanked elsewhere (they would blank ordinary text)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


class Secrets:
    """The secret values of one exchange, gathered from its headers and bodies."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) >= MIN_SECRET:
            self.values.add(value)
            scheme, _, credential = value.partition(" ")
            if credential:
                self.add(credential)  # "Basic abc=" -> "abc=" too
                if scheme.lower() == "basic":
                    self._add_basic(credential)

    def _add_basic(self, credential: str) -> None:
        try:
            user, _, password = base64.b64decode(credential, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return
        if len(password) >= MIN_SECRET:
            self.values.add(password)

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Headers with the secret ones blanked (their values remembered)."""
        out = []
        for name, value in headers:
            if is_secret_name(name):
                self.add(value)
                out.append((name, REDACTED))
            else:
                out.append((name, value))
        return out

    def document(self, value: Any) -> Any:
        """A JSON document with the values of secret-named keys blanked (and remembered)."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(key, str) and is_secret_name(key) and isinstance(item, (str, int, float)):
                    self.add(str(item))
                    out[key] = REDACTED
                else:
                    out[key] = self.document(item)
            return out
        if isinstance(value, list):
            return [self.document(item) for item in value]
        return value

    def scrub(self, text: str) -> str:
        """`text`, printable, with every known secret value blanked (longest first)."""
        for secret in sorted(self.values, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return printable(text)
