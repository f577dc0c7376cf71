"""The legacy v1.1 API over real HTTP: a strict mock on 127.0.0.1 with a real SQLite file.

Strict means every answer is checked against openapi.yaml on the way out (an answer
outside the contract would come back as a 500), so each test also proves its answers fit.
Codes and messages are read from the spec, never written here.
"""
from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from mockserver.api_legacy import SERIES_ENV, preload_seed_requests
from capillary_contract.loader import load_contract

CONTRACT = load_contract()
MESSAGES = CONTRACT.legacy_item_errors
OPS = {op: CONTRACT.operations[op].raw for op in ("addLegacyRequests", "approveLegacyRequests", "rejectLegacyRequests")}
ITEMS = {verb: CONTRACT.component_validator(f"Legacy{verb.title()}Item") for verb in ("add", "approve", "reject")}
# openapi.yaml: a batch refused, item by item, for a business reason answers its first code's `x-batch-status`.
REFUSED = {b["properties"]["code"]["const"]: b["x-batch-status"]
           for b in CONTRACT.components["schemas"]["LegacyItemFailure"]["oneOf"] if "x-batch-status" in b}


def refused_status(verb: str, item: Any, code: int) -> int:
    """The HTTP status of a one-item batch refused with `code`: 400 when the item is malformed."""
    return REFUSED.get(code, 400) if ITEMS[verb].is_valid(item) else 400
PATHS = {"add": "/v1.1/request/add", "approve": "/v1.1/request/approve", "reject": "/v1.1/request/reject"}
TIMEOUT = 10
WIDE = {"start_date": "2000-01-01", "end_date": "2999-12-31"}


def _examples(node: dict[str, Any]) -> dict[str, Any]:
    return node["content"]["application/json"]["examples"]


ADD_EXAMPLES = {name: ex["value"]["root"]["request"][0] for name, ex in _examples(OPS["addLegacyRequests"]["requestBody"]).items()}
SEED_APPROVALS = sorted(name for name, ex in _examples(OPS["approveLegacyRequests"]["requestBody"]).items() if "x-seed" in ex)


def send(mock, verb: str, items: list[Any], user: str = "maker", password: str | None = None, **query: Any):
    return requests.post(mock.base_url + PATHS[verb], params={"format": "json", **query}, json={"root": {"request": items}},
                         headers=mock.headers(user, password), timeout=TIMEOUT)


def read(mock, what: str, user: str = "checker", **params: Any):
    return requests.get(f"{mock.base_url}/v1.1/request/{what}", params=params, headers=mock.headers(user), timeout=TIMEOUT)


def items_of(response) -> list[dict[str, Any]]:
    return response.json()["response"]["requests"]["request"]


def codes(response) -> list[int]:
    return [i["item_status"]["code"] for i in items_of(response)]


def one(mock, verb: str, item: dict[str, Any], user: str, expect_code: int, **query: Any) -> dict[str, Any]:
    """Send a one-item batch; check the HTTP status, the batch status and the item code and message."""
    answer = send(mock, verb, [item], user, **query)
    ok = expect_code == 9000
    assert answer.status_code == (200 if ok else refused_status(verb, item, expect_code)), answer.text
    assert answer.json()["response"]["status"]["code"] == (200 if ok else 500)
    got = items_of(answer)[0]
    assert got["item_status"]["code"] == expect_code, got
    if not ok:
        assert got["item_status"] == {"success": "false", "code": expect_code, "message": MESSAGES[expect_code]}
    return got


def added(mock, item: dict[str, Any], user: str = "maker", **query: Any) -> dict[str, Any]:
    return one(mock, "add", item, user, 9000, **query)


def goodwill(points: str = "30", **extra: Any) -> dict[str, Any]:
    return {"reference_id": "gw", "mobile": "9000000001", "type": "GOODWILL", "base_type": "POINTS", "points": points,
            **extra}


def mobile_change(old: str = "9000000001", new: str = "9000000002", **extra: Any) -> dict[str, Any]:
    return {"reference_id": "mc", "mobile": old, "type": "CHANGE_IDENTIFIER", "base_type": "MOBILE", "old_value": old,
            "new_value": new, **extra}


def decision(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": item["id"], "type": item["type"], "base_type": item["base_type"], **extra}


# --------------------------------------------------------------------------- the seed
@pytest.mark.parametrize("name", SEED_APPROVALS)
def test_seed_approval_answers_exactly_the_seed_response(live_mock, name):
    preload_seed_requests(live_mock.app.extensions["mockserver"].store)
    body = _examples(OPS["approveLegacyRequests"]["requestBody"])[name]["value"]
    expected = _examples(OPS["approveLegacyRequests"]["responses"]["200"])[name]["value"]
    answer = requests.post(live_mock.base_url + PATHS["approve"], params={"format": "json"}, json=body,
                           headers=live_mock.headers("checker"), timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected


def test_seed_requests_are_pending_and_preloading_again_changes_nothing(live_mock):
    store = live_mock.app.extensions["mockserver"].store
    ids = preload_seed_requests(store)
    assert len(ids) == len(SEED_APPROVALS)
    body = _examples(OPS["approveLegacyRequests"]["requestBody"])[SEED_APPROVALS[0]]["value"]
    item = body["root"]["request"][0]
    records = read(live_mock, "get", status="PENDING").json()["response"]["requests"]["request"]
    assert sorted(r["id"] for r in records) == sorted(ids)
    assert {r["added_by"] for r in records} == {"maker"}
    one(live_mock, "approve", item, "checker", 9000)
    one(live_mock, "approve", item, "checker", 9052)
    assert preload_seed_requests(store) == []
    one(live_mock, "approve", item, "checker", 9052)
    assert read(live_mock, "get").json()["response"]["requests"]["count"] == len(ids)


# --------------------------------------------------------------------------- add
@pytest.mark.parametrize("name", sorted(ADD_EXAMPLES))
def test_add_example_is_added_pending_with_a_numeric_id(live_mock, name):
    item = ADD_EXAMPLES[name]
    got = added(live_mock, item)
    assert got["id"].isdigit() and int(got["id"]) >= 32600000
    assert got["status"] == "PENDING"
    assert (got["type"], got["base_type"], got["reference_id"]) == (item["type"], item["base_type"], item["reference_id"])
    assert got["customer"] == {"mobile": item["mobile"]}
    assert got["item_status"]["message"] == "Request added successfully"


def test_ids_follow_each_other_and_customer_is_echoed_as_given(live_mock):
    first = added(live_mock, goodwill(id=77, email="a@example.com"))
    second = added(live_mock, goodwill(external_id="ext-1"))
    assert int(second["id"]) == int(first["id"]) + 1
    assert first["customer"] == {"mobile": "9000000001", "email": "a@example.com", "id": "77"}
    assert second["customer"] == {"mobile": "9000000001", "external_id": "ext-1"}


def test_a_partial_batch_answers_201_and_keeps_only_the_good_items(live_mock):
    answer = send(live_mock, "add", [goodwill(), {"type": "GOODWILL", "base_type": "POINTS"}, mobile_change()])
    assert answer.status_code == 200
    assert answer.json()["response"]["status"] == {"success": "true", "code": 201,
                                                   "message": "Some requests have failed due to errors"}
    assert codes(answer) == [9000, 9019, 9000]
    assert read(live_mock, "get").json()["response"]["requests"]["count"] == 2


def test_a_batch_where_every_item_fails_is_http_400_with_status_500(live_mock):
    answer = send(live_mock, "add", [{"type": "NOPE", "base_type": "POINTS", "mobile": "1"}, mobile_change(new="9000000001")])
    assert answer.status_code == 400
    assert answer.json()["response"]["status"] == {"success": "false", "code": 500,
                                                   "message": "All requests have failed due to errors"}
    assert codes(answer) == [9006, 9031]
    assert read(live_mock, "get").json()["response"]["requests"]["count"] == 0


@pytest.mark.parametrize("item, code", [
    ({"type": "REFUND", "base_type": "POINTS", "mobile": "1"}, 9006),
    ({"base_type": "POINTS", "mobile": "1"}, 9006),
    ({"type": "GOODWILL", "base_type": "CASH", "mobile": "1"}, 9008),
    ({"type": "GOODWILL", "mobile": "1"}, 9008),
    ({"type": "GOODWILL", "base_type": "MOBILE", "mobile": "1", "new_value": "2"}, 9040),
    ({"type": "TRANSACTION_UPDATE", "base_type": "POINTS", "mobile": "1"}, 9040),
    ({"type": "GOODWILL", "base_type": "POINTS", "points": "5"}, 9019),
    ({"type": "CHANGE_IDENTIFIER", "base_type": "EMAIL", "mobile": "1"}, 9024),
    ({"type": "GOODWILL", "base_type": "POINTS", "mobile": "1", "points": "0"}, 9024),
    ({"type": "GOODWILL", "base_type": "COUPONS", "mobile": "1", "series_id": "abc"}, 9017),
    ({"type": "GOODWILL", "base_type": "COUPONS", "mobile": "1", "series_id": "123"}, 9017),
    ({"type": "CHANGE_IDENTIFIER", "base_type": "EXTERNAL_ID", "mobile": "1", "old_value": "x", "new_value": "x"}, 9031),
    ({"type": "GOODWILL", "base_type": "POINTS", "mobile": "1", "points": "5", "requested_on": "2999-01-01"}, 9021),
    ({"type": "CHANGE_IDENTIFIER", "base_type": "MERGE", "mobile": "1"}, 9007),
    ({"type": "GOODWILL", "base_type": "POINTS", "mobile": "1", "reason": 5}, 9009),
], ids=lambda v: str(v) if isinstance(v, int) else "")
def test_an_invalid_add_item_fails_with_its_documented_code(live_mock, item, code):
    got = one(live_mock, "add", item, "maker", code)
    assert "id" not in got and "status" not in got


def test_a_pending_change_to_the_same_new_value_is_refused_even_in_one_batch(live_mock):
    answer = send(live_mock, "add", [mobile_change(), mobile_change()])
    assert codes(answer) == [9000, 9028]
    one(live_mock, "add", mobile_change(), "maker", 9028)
    added(live_mock, mobile_change(new="9000000003"))
    same_transaction = goodwill(transaction_id="555")
    assert codes(send(live_mock, "add", [same_transaction, same_transaction])) == [9000, 9000]


def test_client_auto_approve_approves_at_once_and_logs_both_steps(live_mock):
    got = added(live_mock, goodwill(), client_auto_approve="true")
    assert got["status"] == "APPROVED"
    record = read(live_mock, "get", start_id=got["id"], end_id=got["id"]).json()["response"]["requests"]["request"][0]
    assert (record["status"], record["approved_value"], record["assoc_id"]) == ("APPROVED", "30", "0")
    logs = read(live_mock, "logs", type="GOODWILL", base_type="POINTS", **WIDE).json()["response"]["logs"]["log"]
    assert [(e["request_id"], e.get("old_status"), e["status"]) for e in logs] == [
        (got["id"], None, "PENDING"), (got["id"], "PENDING", "APPROVED")]
    coupon = {"type": "GOODWILL", "base_type": "COUPON", "mobile": "1"}
    one(live_mock, "add", coupon, "maker", 9017, client_auto_approve="true")
    assert added(live_mock, {**coupon, "series_id": "912345"}, client_auto_approve="true")["status"] == "APPROVED"


# --------------------------------------------------------------------------- approve / reject
def test_approving_goodwill_points_answers_the_points_and_assoc_id_zero(live_mock):
    item = added(live_mock, goodwill(points="40", reason="late delivery"))
    got = one(live_mock, "approve", decision(item, updated_comments="ok"), "checker", 9000)
    assert got == {"id": item["id"], "type": "GOODWILL", "base_type": "POINTS", "status": "APPROVED",
                   "approved_value": "40", "assoc_id": "0", "reason": "late delivery", "updated_comments": "ok",
                   "item_status": {"success": "true", "code": 9000, "message": "Request updated successfully"}}
    later = added(live_mock, goodwill(points="10"))
    assert one(live_mock, "approve", decision(later, points=25), "checker", 9000)["approved_value"] == "25"


def test_approving_an_identifier_change_answers_old_and_new_values(live_mock):
    item = added(live_mock, mobile_change())
    got = one(live_mock, "approve", decision(item), "checker", 9000)
    assert (got["status"], got["old_value"], got["new_value"], got["reason"], got["updated_comments"]) == (
        "APPROVED", "9000000001", "9000000002", "", "")
    assert "assoc_id" not in got


def test_rejecting_answers_rejected_with_assoc_id_minus_one(live_mock):
    item = added(live_mock, mobile_change())
    got = one(live_mock, "reject", decision(item, updated_comments="not verified"), "checker", 9000)
    assert got == {"id": item["id"], "type": "CHANGE_IDENTIFIER", "base_type": "MOBILE", "status": "REJECTED",
                   "approved_value": "", "assoc_id": "-1", "reason": "", "updated_comments": "not verified",
                   "item_status": {"success": "true", "code": 9000, "message": "Request updated successfully"}}
    one(live_mock, "approve", decision(item), "checker", 9052)
    one(live_mock, "reject", decision(item), "checker", 9052)


def test_the_user_who_added_a_request_cannot_decide_it(live_mock):
    item = added(live_mock, goodwill(), user="supervisor")
    one(live_mock, "approve", decision(item), "supervisor", 9056)
    one(live_mock, "reject", decision(item), "supervisor", 9056)
    one(live_mock, "approve", decision(item), "checker", 9000)


def test_a_coupon_approval_needs_a_known_series(live_mock):
    item = added(live_mock, {"type": "GOODWILL", "base_type": "COUPON", "mobile": "1"})
    one(live_mock, "approve", decision(item), "checker", 9017)
    one(live_mock, "approve", decision(item, series_id="123456"), "checker", 9017)
    one(live_mock, "approve", decision(item, series_id="12x"), "checker", 9017)
    assert one(live_mock, "approve", decision(item, series_id=981966), "checker", 9000)["approved_value"] == "981966"


def test_known_coupon_series_can_be_configured(live_mock, monkeypatch):
    monkeypatch.setenv(SERIES_ENV, "123, 456")
    item = added(live_mock, {"type": "GOODWILL", "base_type": "COUPONS", "mobile": "1"})
    one(live_mock, "approve", decision(item, series_id="981965"), "checker", 9017)
    one(live_mock, "approve", decision(item, series_id="456"), "checker", 9000)


@pytest.mark.parametrize("change", [{"id": "99999999"}, {"id": 999999999999999999999}, {"id": "abc"},
                                    {"type": "CHANGE_IDENTIFIER", "base_type": "MOBILE"}],
                         ids=["unknown", "huge", "not-a-number", "other-type"])
def test_an_unknown_request_is_9050(live_mock, change):
    item = added(live_mock, goodwill())
    one(live_mock, "approve", {**decision(item), **change}, "checker", 9050)


def test_a_decision_item_without_id_is_9043_and_bad_types_are_their_codes(live_mock):
    answer = send(live_mock, "approve", [{"type": "GOODWILL", "base_type": "POINTS"},
                                          {"id": "1", "type": "X", "base_type": "POINTS"},
                                          {"id": "1", "type": "GOODWILL", "base_type": "X"},
                                          {"id": "1", "type": "GOODWILL", "base_type": "MOBILE"}], "checker")
    assert codes(answer) == [9043, 9006, 9008, 9040]


def test_a_points_approval_needs_points_from_the_request_or_the_approval(live_mock):
    item = added(live_mock, {"type": "GOODWILL", "base_type": "POINTS", "mobile": "1"})
    one(live_mock, "approve", decision(item), "checker", 9024)
    one(live_mock, "approve", decision(item, points="12"), "checker", 9000)


@pytest.mark.parametrize("base_type, code", [("MOBILE", 9005), ("EMAIL", 9002), ("EXTERNAL_ID", 9003)])
def test_a_new_identifier_already_given_to_someone_is_refused(live_mock, base_type, code):
    change = {"type": "CHANGE_IDENTIFIER", "base_type": base_type, "new_value": "taken"}
    first, second = added(live_mock, {**change, "mobile": "1"}), added(live_mock, {**change, "mobile": "2"})
    one(live_mock, "approve", decision(first), "checker", 9000)
    one(live_mock, "approve", decision(second), "checker", code)
    one(live_mock, "add", {**change, "mobile": "3"}, "maker", code)


def test_a_transaction_marked_retro_cannot_be_marked_again(live_mock):
    retro = {"type": "TRANSACTION_UPDATE", "base_type": "RETRO", "mobile": "1", "transaction_id": 555,
             "old_type": "NOT_INTERESTED", "new_type": "REGULAR", "reason": "missed"}
    first = added(live_mock, retro)
    one(live_mock, "add", retro, "maker", 9028)
    one(live_mock, "approve", decision(first), "checker", 9000)
    one(live_mock, "add", retro, "maker", 1627)
    assert added(live_mock, {**retro, "transaction_id": "556"})["status"] == "PENDING"


def test_a_mixed_decision_batch_answers_201(live_mock):
    good, taken = added(live_mock, goodwill()), added(live_mock, goodwill(points="9"))
    one(live_mock, "approve", decision(taken), "checker", 9000)
    answer = send(live_mock, "approve", [decision(good), decision(taken), {**decision(good), "id": "1"}], "checker")
    assert answer.status_code == 200 and answer.json()["response"]["status"]["code"] == 201
    assert codes(answer) == [9000, 9052, 9050]
    assert items_of(answer)[2] == {"id": "1", "type": "GOODWILL", "base_type": "POINTS", "item_status": {
        "success": "false", "code": 9050, "message": MESSAGES[9050]}}


def test_concurrent_approvals_of_one_request_let_exactly_one_win(live_mock):
    item = added(live_mock, goodwill())
    results: list[int] = []
    lock = threading.Lock()

    def approve() -> None:
        code = codes(send(live_mock, "approve", [decision(item)], "checker"))[0]
        with lock:
            results.append(code)

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [9000] + [9052] * 7


# --------------------------------------------------------------------------- organisations and credentials
def test_one_org_never_sees_or_decides_another_orgs_requests(live_mock):
    mine = added(live_mock, goodwill())
    theirs = added(live_mock, goodwill(), user="outsider")
    assert [r["id"] for r in read(live_mock, "get").json()["response"]["requests"]["request"]] == [mine["id"]]
    assert [r["id"] for r in read(live_mock, "get", user="outsider").json()["response"]["requests"]["request"]] == [theirs["id"]]
    one(live_mock, "approve", decision(mine), "outsider", 9050)
    one(live_mock, "reject", decision(theirs), "checker", 9050)
    logs = read(live_mock, "logs", user="outsider", type="GOODWILL", base_type="POINTS", **WIDE).json()["response"]["logs"]
    assert [e["request_id"] for e in logs["log"]] == [theirs["id"]]


@pytest.mark.parametrize("verb", sorted(PATHS))
def test_bad_credentials_get_401_in_the_v11_envelope(live_mock, verb):
    answer = send(live_mock, verb, [goodwill()], "maker", password="wrong")
    assert answer.status_code == 401
    assert answer.json() == {"response": {"status": {"success": "false", "code": 401, "message": "Unauthorized"}}}
    bare = requests.get(live_mock.base_url + "/v1.1/request/get", timeout=TIMEOUT)
    assert bare.status_code == 401


def test_a_user_without_the_permission_gets_403(live_mock):
    for answer in (send(live_mock, "add", [goodwill()], "checker"), send(live_mock, "approve", [goodwill()], "maker"),
                   read(live_mock, "get", user="viewer"), read(live_mock, "logs", user="viewer")):
        assert answer.status_code == 403
        assert answer.json()["response"]["status"] == {"success": "false", "code": 403, "message": "No permissions"}


def test_a_body_that_is_not_the_envelope_is_400(live_mock):
    answer = requests.post(live_mock.base_url + PATHS["add"], json={"request": []}, headers=live_mock.headers("maker"),
                           timeout=TIMEOUT)
    assert answer.status_code == 400
    assert answer.json()["response"]["status"]["code"] == 400


# --------------------------------------------------------------------------- reads
def test_get_filters_by_customer_status_type_ids_dates_and_limit(live_mock):
    a = added(live_mock, goodwill(email="a@example.com"))
    b = added(live_mock, mobile_change(old="9000000009", new="9000000010", external_id="ext-9"))
    c = added(live_mock, {"type": "GOODWILL", "base_type": "COUPON", "id": "42"})
    one(live_mock, "reject", decision(a), "checker", 9000)

    def ids(**params: Any) -> list[str]:
        body = read(live_mock, "get", **params).json()["response"]["requests"]
        assert body["count"] == len(body["request"])
        return [r["id"] for r in body["request"]]

    assert ids() == [a["id"], b["id"], c["id"]]
    assert ids(mobile="9000000001") == [a["id"]]
    assert ids(email="a@example.com") == [a["id"]]
    assert ids(external_id="ext-9") == [b["id"]]
    assert ids(id="42") == [c["id"]]
    assert ids(card_number="123") == []
    assert ids(status="REJECTED") == [a["id"]]
    assert ids(status="PENDING", type="GOODWILL") == [c["id"]]
    assert ids(base_type="MOBILE") == [b["id"]]
    assert ids(start_id=b["id"]) == [b["id"], c["id"]]
    assert ids(end_id=b["id"]) == [a["id"], b["id"]]
    assert ids(limit=2) == [a["id"], b["id"]]
    assert ids(**WIDE) == [a["id"], b["id"], c["id"]]
    assert ids(start_date="2999-01-01") == []
    assert ids(end_date="2000-01-01 00:00:00") == []


def test_get_refuses_bad_filters_with_400(live_mock):
    for params in ({"limit": 51}, {"status": "DONE"}, {"start_date": "yesterday"}, {"start_id": 0}):
        answer = read(live_mock, "get", **params)
        assert answer.status_code == 400, params
        assert answer.json()["response"]["status"]["code"] == 400


def test_a_record_carries_what_was_asked_and_decided(live_mock):
    item = added(live_mock, goodwill(reason="late", comments="called twice"))
    one(live_mock, "approve", decision(item, updated_comments="fine"), "checker", 9000)
    record = read(live_mock, "get").json()["response"]["requests"]["request"][0]
    assert {k: record[k] for k in ("id", "reference_id", "status", "points", "approved_value", "assoc_id", "reason",
                                   "comments", "updated_comments", "added_by", "updated_by")} == {
        "id": item["id"], "reference_id": "gw", "status": "APPROVED", "points": "30", "approved_value": "30",
        "assoc_id": "0", "reason": "late", "comments": "called twice", "updated_comments": "fine",
        "added_by": "maker", "updated_by": "checker"}
    assert record["requested_on"] <= record["updated_on"]


def test_logs_have_one_entry_per_status_change_and_page_with_limit_and_offset(live_mock):
    first, second = added(live_mock, goodwill()), added(live_mock, goodwill(mobile="9000000077"))
    one(live_mock, "approve", decision(first, updated_comments="yes"), "checker", 9000)
    one(live_mock, "reject", decision(second), "checker", 9000)

    def entries(**params: Any) -> list[tuple[str, str]]:
        body = read(live_mock, "logs", type="GOODWILL", base_type="POINTS", **WIDE, **params).json()["response"]["logs"]
        assert body["count"] == len(body["log"])
        return [(e["request_id"], e["status"]) for e in body["log"]]

    everything = [(first["id"], "PENDING"), (second["id"], "PENDING"), (first["id"], "APPROVED"),
                  (second["id"], "REJECTED")]
    assert entries() == everything
    assert entries(limit=2) == everything[:2]
    assert entries(limit=2, offset=3) == everything[3:]
    assert entries(status="APPROVED") == [(first["id"], "APPROVED")]
    assert entries(mobile="9000000077") == [(second["id"], "PENDING"), (second["id"], "REJECTED")]
    assert entries(source="API") == everything
    assert entries(source="INSTORE") == []
    approved = read(live_mock, "logs", type="GOODWILL", base_type="POINTS", status="APPROVED", **WIDE).json()
    entry = approved["response"]["logs"]["log"][0]
    assert (entry["old_status"], entry["updated_by"], entry["updated_comments"]) == ("PENDING", "checker", "yes")
    assert read(live_mock, "logs", type="GOODWILL", base_type="COUPON", **WIDE).json()["response"]["logs"]["log"] == []


def test_logs_need_type_base_type_and_dates(live_mock):
    answer = read(live_mock, "logs", type="GOODWILL", base_type="POINTS", start_date="2000-01-01")
    assert answer.status_code == 400
    assert answer.json()["response"]["status"]["code"] == 400


def test_admin_reset_empties_the_v11_requests(live_mock):
    added(live_mock, goodwill())
    assert requests.post(live_mock.base_url + "/__admin/reset", timeout=TIMEOUT).status_code == 200
    assert read(live_mock, "get").json()["response"]["requests"]["count"] == 0
    assert read(live_mock, "logs", type="GOODWILL", base_type="POINTS", **WIDE).json()["response"]["logs"]["count"] == 0


# --------------------------------------------------------------------------- gunicorn, several workers
def test_workers_share_one_sequence_and_one_decision(tmp_path):
    """Under `mockserver serve --workers 2`, concurrent batches get distinct ids and one approval wins."""
    from concurrent.futures import ThreadPoolExecutor

    from mock_support import auth, served_mock

    with served_mock(tmp_path, "--workers", "2", "--strict") as served:
        def post(verb: str, items: list[dict[str, Any]], user: str):
            return requests.post(served.base_url + PATHS[verb], json={"root": {"request": items}}, headers=auth(user),
                                 timeout=30)

        with ThreadPoolExecutor(16) as pool:
            batches = list(pool.map(lambda n: post("add", [goodwill(points=str(n + 1))] * 5, "maker"), range(16)))
        ids = [int(i["id"]) for answer in batches for i in items_of(answer)]
        assert len(set(ids)) == 80 and max(ids) - min(ids) == 79
        target = {"id": str(min(ids)), "type": "GOODWILL", "base_type": "POINTS"}
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: post("approve", [target], "checker"), range(16)))
        assert sorted(codes(a)[0] for a in answers) == [9000] + [9052] * 15
