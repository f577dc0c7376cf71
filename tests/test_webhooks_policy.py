"""Delivery rules as pure functions: what each answer means, and the back-off."""
from __future__ import annotations

import pytest

from mockserver.config import DeliveryPolicy
from mockserver.webhooks.policy import DELIVERED, FAILED, PENDING, backoff_s, judge

RULES = DeliveryPolicy(base_delay_s=1.0, max_delay_s=5.0, max_attempts=4)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert judge(RULES, status, 1).state == DELIVERED


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 301, 302])
def test_a_refusal_is_final_after_one_attempt(status: int) -> None:
    verdict = judge(RULES, status, 1)
    assert verdict.state == FAILED and verdict.retry_in_s is None


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503, 504])
def test_busy_broken_or_unreachable_is_retried(status: int | None) -> None:
    verdict = judge(RULES, status, 1)
    assert verdict.state == PENDING and verdict.retry_in_s == RULES.base_delay_s


def test_retries_are_bounded_by_max_attempts() -> None:
    assert judge(RULES, 503, RULES.max_attempts - 1).state == PENDING
    assert judge(RULES, 503, RULES.max_attempts).state == FAILED


def test_a_try_that_can_never_succeed_is_final() -> None:
    assert judge(RULES, None, 1, final=True).state == FAILED


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(RULES, n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
