"""A read that runs long on the front's loop hands its request over to a thread (waiting.py).

Before, a filtered list of an organisation with 100,000 requests ran inline for 0.1-0.5 s, and
four clients looping on it held every create on a kept-alive connection behind them (create p50
464 ms; bench/bench_availability.py has the figure). Now each inline read may take
`INLINE_READ_BUDGET_S`; the store stops one that runs past it (`ReadOverBudget`), the app answers
the hand-over marker, and the front runs the request again in a pool thread. A request that has
written is never stopped: it must not run twice. On a real SQLite file throughout.
"""
from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from capillary_contract.users import DEFAULT_ORG
from mock_support import BASE, auth, body_for, served_mock
from mockserver import waiting
from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.store import READ_BUDGET, ListQuery, ReadOverBudget
from mockserver.waiting import HANDED_OVER, INLINE

PER_TYPE = 200  # 1,200 waiting requests: a list over them is many more of SQLite's steps than PROGRESS_STEPS
TYPES = 6
LIST = f"{BASE}/requests"
# A list that reads every request of the org (a JSON member of entityInfo is compared row by row).
SLOW_LIST = {"limit": "10", "storeId": "50682288"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    app = create_app(MockConfig(db=str(tmp_path / "state.db"), dispatch=False, pending_per_type=PER_TYPE))
    yield app
    app.extensions["mockserver"].store.close()


def _list(app: Any, inline: bool, **params: str) -> Any:
    return app.test_client().get(LIST, query_string=params or SLOW_LIST, headers=auth("checker"),
                                 environ_overrides={INLINE: True} if inline else {})


def test_an_inline_read_past_its_budget_answers_the_hand_over_marker_and_in_a_thread_the_list(app, monkeypatch):
    monkeypatch.setattr(waiting, "INLINE_READ_BUDGET_S", 0.0)
    inline = _list(app, inline=True)
    assert inline.status_code == 503 and inline.headers.get(HANDED_OVER) == "1", inline.get_data(as_text=True)
    threaded = _list(app, inline=False)  # how the front runs it again: no budget
    assert threaded.status_code == 200, threaded.get_json()
    assert threaded.get_json()["pagination"]["totalElements"] == PER_TYPE * TYPES


def test_the_hand_over_marker_is_not_journalled(app, monkeypatch):
    monkeypatch.setattr(waiting, "INLINE_READ_BUDGET_S", 0.0)
    state = app.extensions["mockserver"]
    assert _list(app, inline=True).status_code == 503
    assert _list(app, inline=False).status_code == 200
    state.journal.flush()
    with state.store.read() as reader:
        lists = [e for e in reader.list_journal(50, None) if e["path"] == LIST]
    assert [e["status"] for e in lists] == [200]


def test_an_inline_read_within_its_budget_is_answered_inline(app):
    # 10 of the org's requests, newest first: far fewer steps than PROGRESS_STEPS, never looked at
    answer = _list(app, inline=True, limit="10")
    assert answer.status_code == 200 and HANDED_OVER not in answer.headers
    assert len(answer.get_json()["data"]) == 10


def test_the_next_request_on_the_same_context_starts_without_a_budget(app, monkeypatch):
    monkeypatch.setattr(waiting, "INLINE_READ_BUDGET_S", 0.0)
    assert _list(app, inline=True).status_code == 503
    assert READ_BUDGET.get() is None  # teardown lifted it: a request not on the loop is never stopped


def _count_matching(store: Any) -> int:
    """How many of the org's requests have the seed's store: a read of every one of them."""
    with store.read() as reader:
        _, pagination = reader.list_requests(ListQuery(org_id=DEFAULT_ORG, entity=(("storeId", SLOW_LIST["storeId"]),)))
    return pagination["totalElements"]


def test_a_store_read_past_the_budget_of_its_context_is_stopped(app):
    store = app.extensions["mockserver"].store

    def under_budget() -> None:
        READ_BUDGET.set(0.0)
        with pytest.raises(ReadOverBudget):
            _count_matching(store)
        READ_BUDGET.set(None)
        assert _count_matching(store) == PER_TYPE * TYPES  # the stopped read left the connection usable

    contextvars.copy_context().run(under_budget)
    assert _count_matching(store) == PER_TYPE * TYPES  # other contexts have no budget


def test_after_a_write_the_reads_of_its_context_run_to_their_end(app):
    store = app.extensions["mockserver"].store

    def write_then_read() -> int:
        READ_BUDGET.set(0.0)
        with store.transaction() as tx:
            tx.add_journal_entries([])
        return _count_matching(store)

    assert contextvars.copy_context().run(write_then_read) == PER_TYPE * TYPES


def test_a_long_list_on_the_served_mock_is_answered_whole(tmp_path):
    """Through the real front: 24,000 requests, lists that read all of them (tens of ms each here,
    past the 10 ms budget) answer 200 with every match counted, and never the marker."""
    per_type = 4000
    with served_mock(tmp_path, "--pending", str(per_type)) as mock:
        session = requests.Session()
        for params, expected in ((SLOW_LIST, per_type * TYPES),
                                 ({"limit": "5", "states": "AdminTask", "requestType": "GOODWILL-POINTS"}, per_type)):
            answer = session.get(mock.base_url + LIST, params=params, headers=auth("checker"), timeout=60)
            assert answer.status_code == 200 and HANDED_OVER not in answer.headers, answer.text[:300]
            assert answer.json()["pagination"]["totalElements"] == expected
        created = session.post(mock.base_url + f"{BASE}/GOODWILL-POINTS", json=body_for("GOODWILL-POINTS"),
                               headers=auth("maker"), timeout=30)
        assert created.status_code == 200, created.text[:300]
