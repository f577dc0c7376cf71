"""What an attempt's result means for a delivery: delivered, try again later, or give up.

Capillary documents: 2xx is delivered; 400 is not retried; 429, 5xx and time-outs are
retried with exponential back-off. Where it is silent we choose: refused or broken
connections are retried like time-outs, 408 is retried like 429, and any other non-2xx
answer (3xx, 401, 404, ...) is the receiver's final word, like 400.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import DeliveryPolicy

DELIVERED, PENDING, FAILED = "delivered", "pending", "failed"
RETRIED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Verdict:
    state: str                 # delivered | pending (retry) | failed
    retry_in_s: float | None   # seconds until the next try when pending


def retryable(status: int | None) -> bool:
    """An answer (or no answer: None) that says 'try again later'."""
    return status is None or status in RETRIED_STATUSES or 500 <= status <= 599


def backoff_s(policy: DeliveryPolicy, attempts: int) -> float:
    """Delay after the `attempts`-th failed try: base * 2^(attempts-1), capped."""
    return min(policy.base_delay_s * (2 ** max(attempts - 1, 0)), policy.max_delay_s)


def judge(policy: DeliveryPolicy, status: int | None, attempts: int, final: bool = False) -> Verdict:
    """The delivery's fate after its `attempts`-th try got `status` (None: no answer);
    `final`: the try could never succeed (e.g. a malformed URL)."""
    if status is not None and 200 <= status <= 299:
        return Verdict(DELIVERED, None)
    if final or not retryable(status) or attempts >= policy.max_attempts:
        return Verdict(FAILED, None)
    return Verdict(PENDING, backoff_s(policy, attempts))
