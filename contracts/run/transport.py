"""HTTP to the target: one session per thread, a shared rate limit, and the last exchange kept.

Every request the suite sends goes through `TargetSession`, so `--rate-limit` holds for the
fuzzer, the machine and the probes alike, and a failure can always show what was sent.
"""
from __future__ import annotations

import ipaddress
import shlex
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

DEFAULT_TIMEOUT = 10.0


class RateLimiter:
    """At most `rate` requests a second across all threads (None: unlimited)."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            time.sleep(at - now)


def parse_rate(text: str | None) -> float | None:
    """`10/s`, `10` or `600/m` -> requests per second."""
    if not text:
        return None
    number, _, unit = text.partition("/")
    per = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}.get(unit.strip())
    rate = float(number)
    if per is None or rate <= 0:
        raise ValueError(f"--rate-limit: expected N/s, N/m or N/h, got {text!r}")
    return rate / per


class TargetSession(requests.Session):
    """A requests session that obeys the rate limit, has a timeout and remembers its last exchange."""

    def __init__(self, limiter: RateLimiter, timeout: float = DEFAULT_TIMEOUT):
        super().__init__()
        self.limiter = limiter
        self.timeout = timeout
        self.sent = 0

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.limiter.wait()
        kwargs.setdefault("timeout", self.timeout)
        self.sent += 1
        return super().request(method, url, **kwargs)


@dataclass
class Exchange:
    """One request and its answer, enough to reproduce it by hand."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    status: int | None
    answer: str

    @classmethod
    def from_response(cls, response: requests.Response) -> "Exchange":
        req = response.request
        body = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else req.body
        return cls(req.method or "", req.url or "", dict(req.headers), body, response.status_code,
                   response.text[:4000])

    def curl(self) -> str:
        parts = ["curl", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.headers.items():
            if name.lower() in ("user-agent", "accept-encoding", "connection", "content-length", "accept"):
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body:
            parts += ["-d", shlex.quote(self.body)]
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "body": self.body, "status": self.status,
                "answer": self.answer, "curl": self.curl()}


def is_loopback(base_url: str) -> bool:
    """True when every address the host resolves to is a loopback address."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def reachable(base_url: str, timeout: float = 3.0) -> str | None:
    """None when the target answers HTTP at all, else why not."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {base_url!r}"
    try:
        requests.get(base_url.rstrip("/") + "/", timeout=timeout)
    except requests.RequestException as exc:
        return f"{base_url} is unreachable: {exc.__class__.__name__}: {exc}"
    return None


def exchange_of(response: Any) -> Exchange | None:
    """An Exchange from a requests or Schemathesis response (both keep the prepared request)."""
    req = getattr(response, "request", None)
    if req is None:
        return None
    body = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else req.body
    status = getattr(response, "status_code", None)
    text = getattr(response, "text", None)
    if text is None:
        content = getattr(response, "content", b"") or b""
        text = content.decode("utf-8", "replace")
    return Exchange(req.method or "", str(req.url or ""), dict(req.headers), body, status, text[:4000])
