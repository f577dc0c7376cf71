"""What DESIGN.md §3 promises users about the admin API, checked against a running mock.

§3 is a promise to users and to outside checks; the list below restates it (DESIGN.md lives
beside the repository, not in it, so a fresh clone tests the same promise).
"""
from __future__ import annotations

import pytest
import requests

from mockserver.testing import RunningMock

# DESIGN.md §3: "Admin API under /__admin/ (health, reset, journal, events, subscriptions, faults),
# described by its own OpenAPI document served at GET /__admin/openapi.yaml; GET /openapi.yaml serves
# Capillary's contract ... The browser inbox is at GET /__admin/ui."
PROMISED = [
    ("GET", "/__admin/health"), ("POST", "/__admin/reset"), ("GET", "/__admin/journal"),
    ("GET", "/__admin/events"), ("POST", "/__admin/subscriptions"), ("POST", "/__admin/faults"),
    ("GET", "/openapi.yaml"), ("GET", "/__admin/ui"), ("GET", "/__admin/openapi.yaml"),
]


@pytest.mark.parametrize(("method", "path"), PROMISED, ids=[f"{m} {p}" for m, p in PROMISED])
def test_the_mock_serves_every_admin_endpoint_design_promises(live_mock: RunningMock, method: str, path: str):
    answer = requests.request(method, live_mock.base_url + path, json={}, timeout=10)
    assert answer.status_code not in (404, 405), (method, path, answer.status_code, answer.text[:300])
    assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:300])
