"""The live mock agrees with the fixtures: it accepts every valid one, refuses every invalid one
with exactly the labelled status and code, plays every lifecycle to its labelled end, and answers
every v1.1 transcript byte for byte as recorded (ids bound as the fixture says)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
import requests

from mockserver import testing
from mockserver.config import MockConfig
from contracts.fixtures.legacy.recorder import Send, outcome, play

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TIMEOUT = 10


def _entries(**match: object) -> list[dict]:
    index = json.loads((FIXTURES / "index.json").read_text(encoding="utf-8"))
    return [e for e in index["files"] if all(e.get(k) == v for k, v in match.items())]


def _load(entry: dict) -> dict:
    return json.loads((FIXTURES / entry["path"]).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    db = tmp_path_factory.mktemp("mock") / "state.db"
    with testing.serve_in_thread(MockConfig(db=str(db), dispatch=False)) as running:
        yield running


def _post(mock: object, fixture: dict) -> requests.Response:
    return requests.post(mock.base_url + fixture["request"]["path"], json=fixture["body"],
                         headers=mock.headers("maker"), timeout=TIMEOUT)


def test_mock_accepts_every_valid_request_fixture(mock: object) -> None:
    wrong = []
    for entry in _entries(kind="request", valid=True):
        answer = _post(mock, _load(entry))
        if answer.status_code != 200 or answer.json()["data"]["state"] != entry["expect"]["state"]:
            wrong.append((entry["path"], answer.status_code, answer.text[:200]))
    assert not wrong


def test_mock_refuses_every_invalid_request_fixture_with_the_labelled_answer(mock: object) -> None:
    wrong = []
    for entry in _entries(kind="request", valid=False):
        fixture = _load(entry)
        answer = _post(mock, fixture)
        codes = {e.get("code") for e in answer.json().get("errors", [])} if answer.headers.get(
            "Content-Type", "").startswith("application/json") else set()
        if answer.status_code != fixture["expect"]["status"] or codes != {fixture["expect"]["code"]}:
            wrong.append((entry["path"], answer.status_code, sorted(codes)))
    assert not wrong


def test_mock_plays_every_lifecycle_to_its_labelled_end(mock: object) -> None:
    for entry in _entries(kind="lifecycle"):
        transcript = _load(entry)
        request_id = None
        for step in transcript["steps"]:
            sent = step["request"]
            path, body = sent["path"], sent["body"]
            if request_id is not None:
                path = path.replace(transcript["steps"][0]["response"]["body"]["data"]["requestId"], request_id)
                if isinstance(body, dict) and "requestId" in body:
                    body = {**body, "requestId": request_id}
            answer = requests.request(sent["method"], mock.base_url + path, json=body,
                                      headers=sent["headers"], timeout=TIMEOUT)
            assert answer.status_code == step["response"]["status"], (entry["path"], step["step"], answer.text[:300])
            data = answer.json()["data"]
            request_id = request_id or data["requestId"]
            assert data["state"] == step["response"]["body"]["data"]["state"], (entry["path"], step["step"])


def test_mock_refuses_every_invalid_decision_fixture_with_the_labelled_answer(mock: object) -> None:
    wrong = []
    for entry in _entries(kind="decision", valid=False):
        fixture = _load(entry)
        answer = requests.put(mock.base_url + fixture["request"]["path"], json=fixture["body"],
                              headers=mock.headers("checker"), timeout=TIMEOUT)
        codes = {e.get("code") for e in answer.json().get("errors", [])}
        if answer.status_code != fixture["expect"]["status"] or codes != {fixture["expect"]["code"]}:
            wrong.append((entry["path"], answer.status_code, sorted(codes)))
    assert not wrong


def _sender(base_url: str) -> Send:
    def send(method: str, path: str, query: dict, headers: dict, body: object) -> tuple[int, object]:
        answer = requests.request(method, base_url + path, params=query, headers=headers, json=body, timeout=TIMEOUT)
        return answer.status_code, answer.json()
    return send


def _replayed(base_url: str, fixture: dict) -> list[tuple[int, object]]:
    return play(fixture["steps"], fixture["ids"], _sender(base_url))


def _recorded(fixture: dict) -> list[tuple[int, object]]:
    return [(s["response"]["status"], s["response"]["body"]) for s in fixture["steps"]]


def test_live_mock_answers_every_legacy_fixture_exactly(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each v1.1 fixture on a mock with no v1.1 requests: one served mock, reset before each."""
    wrong = []
    db = tmp_path_factory.mktemp("legacy") / "state.db"
    with testing.serve_in_thread(MockConfig(db=str(db), dispatch=False)) as running:
        for entry in _entries(kind="legacy"):
            if entry.get("mock", {}).get("examples"):
                continue
            assert requests.post(running.base_url + "/__admin/reset", timeout=TIMEOUT).status_code == 200
            fixture = _load(entry)
            got = _replayed(running.base_url, fixture)
            if got != _recorded(fixture) or outcome(got[-1]) != entry["expect"]:
                wrong.append((entry["path"], [outcome(a) for a in got]))
    assert not wrong


def test_live_examples_mock_answers_the_seed_approvals_as_documented(tmp_path: Path) -> None:
    """The seed's approvals decide the documents' requests: each on a mock started with them."""
    seeded = [e for e in _entries(kind="legacy") if e.get("mock", {}).get("examples")]
    assert seeded
    for number, entry in enumerate(seeded):
        fixture = _load(entry)
        config = MockConfig(db=str(tmp_path / f"seed-{number}.db"), dispatch=False, examples=True)
        with testing.serve_in_thread(config) as running:
            got = _replayed(running.base_url, fixture)
        assert got == _recorded(fixture), entry["path"]
        assert outcome(got[-1]) == entry["expect"], entry["path"]
