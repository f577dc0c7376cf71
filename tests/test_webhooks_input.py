"""Subscriptions HTTP cannot carry are refused, and a delivery that cannot be sent is recorded, not lost
in a traceback (found by Schemathesis: a header name with a non-ASCII character)."""
from __future__ import annotations

import pytest
import requests

from mockserver.webhooks import sender
from mockserver.store import Due
from mock_support import assert_admin_error


@pytest.mark.parametrize("headers", [{"\u00a8x": "1"}, {"a b": "1"}, {"X-Note": "caf\u00e9"}, {"X-Note": "a\r\nb"}],
                         ids=["non-ascii-name", "space-in-name", "non-ascii-value", "crlf-value"])
def test_a_subscription_with_headers_http_cannot_carry_is_refused(live_mock, headers):
    answer = requests.post(live_mock.base_url + "/__admin/subscriptions",
                           json={"url": "http://127.0.0.1:9/hooks", "headers": headers}, timeout=10)
    assert_admin_error(answer, 400)


def test_a_delivery_that_cannot_be_sent_is_a_final_failed_attempt():
    due = Due(id=1, event_id="e", subscription_id="s", attempts=0, url="http://127.0.0.1:9/hooks",
              headers={"\u00a8x": "1"}, payload=b"{}")
    attempt = sender.send(due, timeout_s=1)
    assert attempt.final and attempt.status is None
    assert "UnicodeEncodeError" in attempt.error
