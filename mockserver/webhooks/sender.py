"""One HTTP POST of an event to a receiver, turned into an `Attempt` (never an exception).

A session per thread keeps connections alive between deliveries. Proxies, .netrc and other
environment settings are ignored (`trust_env = False`): a receiver gets exactly the
subscription's headers and `Content-Type: application/json`, nothing the machine adds.
Redirects are not followed: a 3xx is the receiver's answer.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ..store import Attempt, Due

if TYPE_CHECKING:
    import requests  # imported by the first send: a dispatcher with no subscription never needs it

ERROR_LIMIT = 300
_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        import requests
        session = _local.session = requests.Session()
        session.trust_env = False
    return session


def send(delivery: Due, timeout_s: float) -> Attempt:
    import requests
    headers = {**delivery.headers, "Content-Type": "application/json"}
    started, clock = time.time(), time.perf_counter()
    status: int | None = None
    error: str | None = None
    final = False
    try:
        answer = _session().post(delivery.url, data=delivery.payload, headers=headers, timeout=timeout_s,
                                 allow_redirects=False)
        status = answer.status_code
        if not 200 <= status <= 299:
            error = f"HTTP {status}: {answer.text[:200]}".strip()
        answer.close()
    except requests.Timeout:
        error = f"timed out after {timeout_s:g}s"
    except requests.ConnectionError as exc:
        error = f"connection failed: {_reason(exc)}"
    except (requests.RequestException, ValueError) as exc:  # a malformed URL, a header HTTP cannot carry...
        error, final = f"{type(exc).__name__}: {exc}", True
    return Attempt(started, status, error[:ERROR_LIMIT] if error else None, (time.perf_counter() - clock) * 1000,
                   final)


def _reason(exc: Exception) -> str:
    """The innermost cause (e.g. 'Connection refused'), not urllib3's wrapper chain."""
    text = str(exc)
    for marker in ("Connection refused", "Connection reset", "Name or service not known", "Remote end closed"):
        if marker in text:
            return marker
    return text[:200]
