"""HTTP to the target: one session per thread, a shared rate limit and budget, loopback detection.

Every request the suite sends goes through `TargetSession`, so `--rate-limit`, `--max-time` and
`--max-failures` hold for the fuzzer, the machine and the probes alike, and no mock-only header
reaches a target that is not the mock.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any, Callable
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


MOCK_ONLY_HEADER = "x-mock-"  # the mock's own controls (e.g. X-Mock-Outcome): never sent to another target


class TargetSession(requests.Session):
    """A requests session that obeys the rate limit and the run's budget, has a timeout, and sends
    mock-only headers to the mock alone."""

    def __init__(self, limiter: RateLimiter, timeout: float = DEFAULT_TIMEOUT,
                 before: Callable[[], None] | None = None, mock: bool = False):
        super().__init__()
        self.limiter = limiter
        self.timeout = timeout
        self.before = before
        self.mock = mock
        self.sent = 0
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.before is not None:
            self.before()
        if not self.mock and kwargs.get("headers"):
            kwargs["headers"] = {k: v for k, v in kwargs["headers"].items()
                                 if not str(k).lower().startswith(MOCK_ONLY_HEADER)}
        self.limiter.wait()
        kwargs.setdefault("timeout", self.timeout)
        self.sent += 1
        return super().request(method, url, **kwargs)

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
                                   ) -> dict[str, Any]:
        """requests reads the proxy variables of the environment on every request (~1 ms, a few
        percent of a run); they do not change during a run, so they are read once per origin."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
        if key not in self._environment:
            self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings = self._environment[key]
        return {**settings, "proxies": dict(settings["proxies"])}


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
