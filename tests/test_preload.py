"""`--fixtures DIR` starts the mock with a populated inbox; loading twice adds nothing."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import requests

from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LIST = "/api_gateway/v2/request-workflow/requests"


def _inbox(mock) -> Counter:
    page = requests.get(mock.base_url + LIST, params={"limit": 100}, headers=mock.headers("checker"), timeout=10).json()
    return Counter((r["requestType"], r["state"]) for r in page["data"])


def test_fixtures_give_every_type_in_every_state(tmp_path):
    config = MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False, fixtures_dir=FIXTURES)
    with serve_in_thread(config) as mock:
        inbox = _inbox(mock)
    types = {t for t, _ in inbox}
    assert len(types) == 6
    assert set(inbox) == {(t, s) for t in types for s in ("AdminTask", "approved", "rejected", "failed")}
    assert set(inbox.values()) == {1}
    with serve_in_thread(config) as mock:  # same database, loaded again at start-up
        assert _inbox(mock) == inbox


def test_a_preloaded_pending_request_can_be_decided(tmp_path):
    config = MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False, fixtures_dir=FIXTURES)
    with serve_in_thread(config) as mock:
        page = requests.get(mock.base_url + LIST, params={"states": "AdminTask", "requestType": "goodwill-points"},
                            headers=mock.headers("checker"), timeout=10).json()
        [pending] = page["data"]
        decision = {"requestId": pending["requestId"], "actionName": "AdminTask",
                    "payload": {"AdminTask-Payload": {"actionDecision": "approved", "actionMessage": "ok"}}}
        answer = requests.put(mock.base_url + "/api_gateway/v2/request-workflow/GOODWILL-POINTS", json=decision,
                              headers=mock.headers("checker"), timeout=10)
        assert answer.status_code == 200
        assert answer.json()["data"]["state"] == "approved"
