"""How many write transactions a decision costs, on a real SQLite file: an approval whose outcome
is known at once (simulated, or forced by `X-Mock-Outcome`) is one, as a rejection is; only one
that waits (a queued fault's latency) takes a claim first, and so two. Each write is a commit,
and on a disk the commits are what a decision's throughput pays for (bench/bench_mock.py)."""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from mock_support import BASE, auth, body_for, decision
from mockserver.app import create_app
from mockserver.config import MockConfig

TYPE = "POINTS-REDEMPTION"


class Counted:
    """The app's store, with the write transactions of the test's own thread counted: the test
    client runs each request there, while the journal is flushed in batches from a thread of its own."""

    def __init__(self, app: Any):
        self.store, self.writes = app.extensions["mockserver"].store, 0
        self._thread = threading.get_ident()
        self._transaction = self.store.transaction
        self.store.transaction = self._counted

    @contextlib.contextmanager
    def _counted(self) -> Iterator[Any]:
        self.writes += threading.get_ident() == self._thread
        with self._transaction() as tx:
            yield tx


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[tuple[Any, Counted]]:
    app = create_app(MockConfig(db=str(tmp_path / "state.db"), dispatch=False))  # no dispatcher writing beside
    yield app.test_client(), Counted(app)
    app.extensions["mockserver"].store.close()


def _decide(client: Any, verdict: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    created = client.post(f"{BASE}/{TYPE}", json=body_for(TYPE), headers=auth("maker"))
    assert created.status_code == 200, created.get_data(as_text=True)
    return {"body": decision(created.get_json()["data"]["requestId"], verdict),
            "headers": {**auth("checker"), **(headers or {})}}


@pytest.mark.parametrize(("verdict", "outcome", "state"), [
    ("approved", None, "approved"), ("approved", "success", "approved"), ("approved", "failure", "failed"),
    ("rejected", None, "rejected")])
def test_a_decision_known_at_once_is_one_write(mock, verdict: str, outcome: str | None, state: str) -> None:
    client, counted = mock
    call = _decide(client, verdict, {"X-Mock-Outcome": outcome} if outcome else None)
    counted.writes = 0
    answer = client.put(f"{BASE}/{TYPE}", json=call["body"], headers=call["headers"])
    assert answer.status_code == 200 and answer.get_json()["data"]["state"] == state
    assert counted.writes == 1


def test_an_approval_that_waits_is_a_claim_then_its_outcome(mock) -> None:
    client, counted = mock
    assert client.post("/__admin/faults", json={"outcome": "success", "latencyMs": 50}).status_code == 201
    call = _decide(client, "approved")
    counted.writes = 0
    answer = client.put(f"{BASE}/{TYPE}", json=call["body"], headers=call["headers"])
    assert answer.status_code == 200 and answer.get_json()["data"]["state"] == "approved"
    assert counted.writes == 2


def test_a_second_approval_of_a_request_decided_in_one_write_is_refused(mock) -> None:
    client, _ = mock
    call = _decide(client, "approved")
    assert client.put(f"{BASE}/{TYPE}", json=call["body"], headers=call["headers"]).status_code == 200
    again = client.put(f"{BASE}/{TYPE}", json=call["body"], headers=call["headers"])
    assert again.status_code == 409
    [error] = again.get_json()["errors"]
    assert error["code"] == 2002 and "already approved" in error["detail"]
