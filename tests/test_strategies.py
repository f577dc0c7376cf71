"""The public strategies of `capillary_contract.strategies`, drawn and sent to a live mock: valid
bodies are accepted, each invalid one earns exactly the status and code it is labelled with,
decisions decide, v1.1 batches go through; and building a strategy costs nothing until drawn."""
from __future__ import annotations

import time
from typing import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from capillary_contract import strategies
from capillary_contract.loader import load_contract
from mockserver.config import MockConfig
from mockserver.testing import RunningMock, serve_in_thread

CONTRACT = load_contract()
TYPES = sorted(CONTRACT.request_types)
TIMEOUT = 10
FEW = settings(max_examples=8, database=None, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMock]:
    with serve_in_thread(MockConfig(db=str(tmp_path_factory.mktemp("mock") / "state.db"), dispatch=False)) as running:
        yield running


def _create(mock: RunningMock, url_name: str, body: object) -> requests.Response:
    return requests.post(mock.base_url + CONTRACT.create_path(url_name), json=body,
                         headers=mock.headers("maker"), timeout=TIMEOUT)


def test_building_strategies_draws_nothing():
    started = time.perf_counter()
    built = [strategies.create_bodies(t) for t in TYPES] + [strategies.invalid_create_bodies(t) for t in TYPES]
    built += [strategies.decisions(), strategies.invalid_decisions(), strategies.legacy_batches("add")]
    assert len(built) == 2 * len(TYPES) + 3
    assert time.perf_counter() - started < 1.0  # deferred: the contract is read at the first draw, not here


def test_every_type_has_a_documented_body_its_schema_accepts():
    bodies = strategies.documented_bodies(CONTRACT)
    assert sorted(bodies) == TYPES
    for url_name, body in bodies.items():
        assert CONTRACT.component_validator(CONTRACT.request_types[url_name]["schemaName"]).is_valid(body)


@pytest.mark.parametrize("url_name", TYPES)
def test_valid_create_bodies_are_accepted(mock: RunningMock, url_name: str):
    answers = []

    @FEW
    @given(body=strategies.create_bodies(url_name))
    def send(body: dict) -> None:
        answers.append(_create(mock, url_name, body))

    send()
    assert answers and all(a.status_code == 200 and a.json()["data"]["state"] == "AdminTask" for a in answers), \
        [(a.status_code, a.text[:200]) for a in answers if a.status_code != 200]


@pytest.mark.parametrize("url_name", TYPES)
def test_invalid_create_bodies_earn_their_labelled_answer(mock: RunningMock, url_name: str):
    seen = []

    @FEW
    @given(case=strategies.invalid_create_bodies(url_name))
    def send(case) -> None:
        answer = _create(mock, url_name, case.body)
        codes = {e["code"] for e in answer.json()["errors"]}
        assert (answer.status_code, codes) == (case.status, {case.code}), (case.name, answer.text[:300])
        assert CONTRACT.workflow_errors[case.code] == case.message and case.rule and case.field
        seen.append(case.name)

    send()
    assert seen


def test_decisions_decide_a_pending_request(mock: RunningMock):
    body = strategies.documented_bodies(CONTRACT)["GOODWILL-POINTS"]
    states = []

    @FEW
    @given(data=st.data())
    def decide(data: st.DataObject) -> None:
        request_id = _create(mock, "GOODWILL-POINTS", body).json()["data"]["requestId"]
        decision = data.draw(strategies.decisions(st.just(request_id)))
        answer = requests.put(mock.base_url + CONTRACT.create_path("GOODWILL-POINTS"), json=decision,
                              headers=mock.headers("checker"), timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text[:300]
        states.append(answer.json()["data"]["state"])

    decide()
    assert states and set(states) <= {"approved", "rejected", "failed"}


def test_invalid_decisions_earn_their_labelled_answer(mock: RunningMock):
    seen = []

    @FEW
    @given(case=strategies.invalid_decisions())
    def send(case) -> None:
        answer = requests.put(mock.base_url + CONTRACT.create_path(case.request_type), json=case.body,
                              headers=mock.headers("checker"), timeout=TIMEOUT)
        assert (answer.status_code, {e["code"] for e in answer.json()["errors"]}) == (case.status, {case.code})
        seen.append(case.name)

    send()
    assert seen


def test_legacy_add_batches_fit_the_batch_schema_and_are_answered_as_documented(mock: RunningMock):
    op = CONTRACT.operations["addLegacyRequests"]
    answers = []

    @FEW
    @given(batch=strategies.legacy_batches("add"))
    def send(batch: dict) -> None:
        assert op.body.is_valid(batch)
        answer = requests.post(mock.base_url + op.path, params={"format": "json"}, json=batch,
                               headers={"Authorization": mock.headers("maker")["Authorization"]}, timeout=TIMEOUT)
        validator = op.response_validator(answer.status_code)
        assert validator is not None and validator.is_valid(answer.json()), answer.text[:300]
        answers.append(answer.status_code)

    send()
    assert answers
