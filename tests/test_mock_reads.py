"""Reading requests back: one by id, and the list with every filter, sort and page parameter."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mock_support import CONTRACT, Client, assert_error, body_for

ENTITY_KEYS = ("conceptId", "zoneId", "storeId", "tillId")


@pytest.fixture
def client(live_mock) -> Client:
    return Client(live_mock.base_url)


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [d["requestId"] for d in answer.json()["data"]]


def _with_entity(url_type: str, suffix: str) -> dict:
    body = body_for(url_type)
    body["entityInfo"] = {key: f"{key}-{suffix}" for key in ENTITY_KEYS}
    return body


@pytest.fixture
def population(client: Client) -> dict[str, str]:
    """Five requests of several types, makers, states and entities; name -> requestId."""
    made = {
        "goodwill-a": client.pending("GOODWILL-POINTS", _with_entity("GOODWILL-POINTS", "a")),
        "badge-a": client.pending("EARN-BADGE", _with_entity("EARN-BADGE", "a")),
        "badge-b": client.pending("EARN-BADGE", _with_entity("EARN-BADGE", "b"), user="supervisor"),
        "issue-b": client.pending("ISSUE-BADGE", _with_entity("ISSUE-BADGE", "b")),
        "status-c": client.pending("CUSTOMER-STATUS-CHANGE", _with_entity("CUSTOMER-STATUS-CHANGE", "c")),
    }
    client.decide("EARN-BADGE", made["badge-a"]["requestId"], "approved")
    client.decide("ISSUE-BADGE", made["issue-b"]["requestId"], "rejected")
    client.decide("GOODWILL-POINTS", made["goodwill-a"]["requestId"], headers={"X-Mock-Outcome": "failure"})
    return {name: doc["requestId"] for name, doc in made.items()}


def _names(population: dict[str, str], ids: list[str]) -> set[str]:
    by_id = {v: k for k, v in population.items()}
    return {by_id[i] for i in ids}


def test_get_one(client: Client, population: dict[str, str]) -> None:
    data = client.get(population["badge-a"], user="checker").json()["data"]
    assert data["state"] == "approved" and data["requestType"] == "earn-badge"


def test_malformed_request_id_is_2007(client: Client) -> None:
    assert_error(client.get("not-a-uuid"), 400, 2007)


def test_list_without_filters_is_newest_first(client: Client, population: dict[str, str]) -> None:
    answer = client.list()
    assert _ids(answer) == list(reversed(population.values()))
    assert answer.json()["pagination"] == {"totalElements": 5, "totalPages": 1, "numberOfElements": 5, "number": 0}


def test_filter_by_maker(client: Client, population: dict[str, str]) -> None:
    assert _names(population, _ids(client.list(userId=240001))) == {"badge-b"}
    assert len(_ids(client.list(userId=232134))) == 4
    assert _ids(client.list(userId=999)) == []


@pytest.mark.parametrize("states, expected", [
    ("AdminTask", {"badge-b", "status-c"}),
    ("approved", {"badge-a"}),
    ("rejected,failed", {"issue-b", "goodwill-a"}),
    ("AdminTask,approved,rejected,failed", {"goodwill-a", "badge-a", "badge-b", "issue-b", "status-c"}),
])
def test_filter_by_states(client: Client, population: dict[str, str], states: str, expected: set[str]) -> None:
    assert _names(population, _ids(client.list(states=states))) == expected


@pytest.mark.parametrize("name", ["EARN-BADGE", "earn-badge"])
def test_filter_by_type_in_either_casing(client: Client, population: dict[str, str], name: str) -> None:
    assert _names(population, _ids(client.list(requestType=name))) == {"badge-a", "badge-b"}


@pytest.mark.parametrize("key", ENTITY_KEYS)
def test_filter_by_entity(client: Client, population: dict[str, str], key: str) -> None:
    assert _names(population, _ids(client.list(**{key: f"{key}-b"}))) == {"badge-b", "issue-b"}
    assert _ids(client.list(**{key: f"{key}-z"})) == []


def test_filters_combine(client: Client, population: dict[str, str]) -> None:
    ids = _ids(client.list(requestType="earn-badge", states="AdminTask", storeId="storeId-b", userId=240001))
    assert _names(population, ids) == {"badge-b"}


def test_filter_by_dates(client: Client, population: dict[str, str]) -> None:
    started = client.get(population["badge-a"]).json()["data"]["startTime"][:10]
    day = datetime.strptime(started, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    before, after = ((day + timedelta(days=d)).strftime("%Y-%m-%d") for d in (-1, 1))
    assert len(_ids(client.list(startDate=started, endDate=started))) == 5
    assert len(_ids(client.list(startDate=before, endDate=after))) == 5
    assert _ids(client.list(startDate=after)) == []
    assert _ids(client.list(endDate=before)) == []


def test_sort_by_start_date(client: Client, population: dict[str, str]) -> None:
    ascending = _ids(client.list(sortBy="startDate", sortOrder="asc"))
    assert ascending == list(population.values())
    assert _ids(client.list(sortBy="startDate", sortOrder="desc")) == list(reversed(ascending))
    assert _ids(client.list(sortBy="startDate")) == list(reversed(ascending))


def test_sort_by_end_date_puts_open_requests_last(client: Client, population: dict[str, str]) -> None:
    for order in ("asc", "desc"):
        names = [_names(population, [i]).pop() for i in _ids(client.list(sortBy="endDate", sortOrder=order))]
        assert set(names[:3]) == {"goodwill-a", "badge-a", "issue-b"}
        assert set(names[3:]) == {"badge-b", "status-c"}


def test_sort_order_alone_orders_by_creation(client: Client, population: dict[str, str]) -> None:
    assert _ids(client.list(sortOrder="asc")) == list(population.values())


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 7])
def test_paging_math(client: Client, population: dict[str, str], limit: int) -> None:
    newest_first = list(reversed(population.values()))
    pages = -(-5 // limit)
    seen: list[str] = []
    for page in range(pages + 1):
        answer = client.list(limit=limit, PageNo=page)
        chunk = _ids(answer)
        assert answer.json()["pagination"] == {"totalElements": 5, "totalPages": pages,
                                               "numberOfElements": len(chunk), "number": page}
        assert chunk == newest_first[page * limit:(page + 1) * limit]
        seen += chunk
    assert seen == newest_first


def test_empty_list_has_zero_pages(client: Client) -> None:
    assert client.list().json() == {"data": [], "pagination": {"totalElements": 0, "totalPages": 0,
                                                               "numberOfElements": 0, "number": 0}}


@pytest.mark.parametrize("params, code", [
    ({"sortBy": "createdOn"}, 2011), ({"sortBy": ""}, 2011), ({"sortOrder": "up"}, 2012), ({"sortOrder": "ASC"}, 2012),
    ({"requestType": "POINTS"}, 2009), ({"states": "pending"}, 2008), ({"limit": 0}, 2008), ({"limit": 101}, 2008),
    ({"limit": "ten"}, 2008), ({"PageNo": -1}, 2008), ({"userId": "me"}, 2008), ({"startDate": "2024-13-01"}, 2008),
    ({"endDate": "yesterday"}, 2008), ({"PageNo": 10**30}, 2008), ({"storeId": ""}, 2008),
])
def test_bad_list_parameters(client: Client, params: dict, code: int) -> None:
    error = assert_error(client.list(**params), 400, code)
    assert error["field"] == next(iter(params))


def test_several_bad_parameters_are_all_named(client: Client) -> None:
    answer = client.list(sortBy="x", sortOrder="y")
    assert answer.status_code == 400
    assert sorted(e["code"] for e in answer.json()["errors"]) == [2011, 2012]
    assert all(e["message"] == CONTRACT.workflow_errors[e["code"]] for e in answer.json()["errors"])
