"""Rule-based outcomes: what the wrapped API would answer, and what creation refuses up front."""
from __future__ import annotations

import pytest

from mock_support import CONTRACT, OTHER_ORG, TYPES, Client, assert_error, auth, body_for, call_of
from mockserver.config import MockConfig
from mockserver.testing import serve_in_thread


@pytest.fixture
def client(live_mock) -> Client:
    return Client(live_mock.base_url)


def _approve(client: Client, url_type: str, body: dict) -> dict:
    pending = client.pending(url_type, body)
    answer = client.decide(url_type, pending["requestId"])
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_reused_reference_number_fails_with_744_as_the_seed(client: Client) -> None:
    body = body_for("POINTS-REDEMPTION")
    assert _approve(client, "POINTS-REDEMPTION", body)["state"] == "approved"
    failed = _approve(client, "POINTS-REDEMPTION", body)
    assert failed["state"] == "failed"
    output = failed["details"]["IntouchAPITask_Output"]
    item = output["body"]["response"]["responses"]["points"]["item_status"]
    assert (item["code"], item["message"]) == (744, "Reference number already exists")
    assert item["message"] == CONTRACT.wrapped_errors.get(744, CONTRACT.legacy_item_errors.get(744))
    assert output["headers"]["status_code"] == ["744"]
    assert output["body"]["response"]["status"]["message"] == "All requests have failed due to errors"


def test_reference_number_is_per_organisation(tmp_path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users:\n"
                     "  - {username: maker, password: maker, id: 1, org: 51250, permissions: [CanMakeRequest]}\n"
                     "  - {username: checker, password: checker, id: 2, org: 51250, permissions: [CanCheckRequest]}\n"
                     "  - {username: other-maker, password: x, id: 3, org: 51251, permissions: [CanMakeRequest]}\n"
                     "  - {username: other-checker, password: x, id: 4, org: 51251, permissions: [CanCheckRequest]}\n")
    config = MockConfig(db=str(tmp_path / "state.db"), strict=True, dispatch=False, users_file=users)
    body = body_for("POINTS-REDEMPTION")
    with serve_in_thread(config) as mock:
        client = Client(mock.base_url)
        assert _approve(client, "POINTS-REDEMPTION", body)["state"] == "approved"
        other = {**auth("other-maker", OTHER_ORG, "x")}
        created = client.create("POINTS-REDEMPTION", body, headers=other)
        request_id = created.json()["data"]["requestId"]
        decided = client.decide("POINTS-REDEMPTION", request_id, headers=auth("other-checker", OTHER_ORG, "x"))
        assert decided.json()["data"]["state"] == "approved"


def test_new_reference_number_is_approved(client: Client) -> None:
    body = body_for("POINTS-REDEMPTION")
    assert _approve(client, "POINTS-REDEMPTION", body)["state"] == "approved"
    call_of(body)["body"]["root"]["redeem"]["external_reference_number"] = "ACR-another-one"
    assert _approve(client, "POINTS-REDEMPTION", body)["state"] == "approved"


def test_rejected_redemption_does_not_use_up_its_reference(client: Client) -> None:
    body = body_for("POINTS-REDEMPTION")
    pending = client.pending("POINTS-REDEMPTION", body)
    client.decide("POINTS-REDEMPTION", pending["requestId"], "rejected")
    assert _approve(client, "POINTS-REDEMPTION", body)["state"] == "approved"


@pytest.mark.parametrize("force", ["header", "fault"])
def test_a_forced_success_uses_up_its_reference_number(client: Client, force: str) -> None:
    """Issue 11, item 19: `X-Mock-Outcome: success` or a queued success fault is a success like any
    other, so the next approval with the same external_reference_number fails with 744."""
    body = body_for("POINTS-REDEMPTION")
    pending = client.pending("POINTS-REDEMPTION", body)
    if force == "fault":
        assert client.admin("POST", "faults", json={"outcome": "success"}).status_code == 201
    forced = client.decide("POINTS-REDEMPTION", pending["requestId"],
                           headers={"X-Mock-Outcome": "success"} if force == "header" else None)
    assert forced.json()["data"]["state"] == "approved", forced.text
    failed = _approve(client, "POINTS-REDEMPTION", body)
    assert failed["state"] == "failed"
    item = failed["details"]["IntouchAPITask_Output"]["body"]["response"]["responses"]["points"]["item_status"]
    assert item["code"] == 744


def test_a_forced_success_marks_its_retro_transaction_used(client: Client) -> None:
    body = body_for("RETRO-TRANSACTION")
    pending = client.pending("RETRO-TRANSACTION", body)
    forced = client.decide("RETRO-TRANSACTION", pending["requestId"], headers={"X-Mock-Outcome": "success"})
    assert forced.json()["data"]["state"] == "approved", forced.text
    failed = _approve(client, "RETRO-TRANSACTION", body)
    assert failed["state"] == "failed"
    assert failed["details"]["IntouchAPITask_Output"]["body"]["errors"][0]["code"] == 1627


def test_unsupported_identifier_name_fails_with_8013(client: Client) -> None:
    body = body_for("CUSTOMER-STATUS-CHANGE")
    call_of(body)["queryParams"]["identifierName"] = "passport"
    failed = _approve(client, "CUSTOMER-STATUS-CHANGE", body)
    assert failed["state"] == "failed"
    errors = failed["details"]["IntouchAPITask_Output"]["body"]["errors"]
    assert errors[0]["code"] == 8013
    assert errors[0]["message"] == CONTRACT.wrapped_errors[8013]


@pytest.mark.parametrize("points", [0, -5, -0.5])
def test_goodwill_points_not_above_zero_are_refused(client: Client, points: float) -> None:
    body = body_for("GOODWILL-POINTS")
    call_of(body)["body"]["points"] = points
    error = assert_error(client.create("GOODWILL-POINTS", body), 400, 2015)
    assert error["field"] == "/payload/IntouchAPITask-Payload/body/points"


def test_missing_earning_entity_is_refused(client: Client) -> None:
    body = body_for("GOODWILL-POINTS")
    del call_of(body)["body"]["earningEntityId"]
    assert_error(client.create("GOODWILL-POINTS", body), 400, 2014)


def test_invalid_earning_entity_is_refused(client: Client) -> None:
    body = body_for("GOODWILL-POINTS")
    call_of(body)["body"]["earningEntityId"] = "someone"
    assert_error(client.create("GOODWILL-POINTS", body), 400, 2014)


@pytest.mark.parametrize("url_type", TYPES)
def test_payload_of_another_type_is_refused(client: Client, url_type: str) -> None:
    other = TYPES[(TYPES.index(url_type) + 1) % len(TYPES)]
    assert_error(client.create(url_type, body_for(other)), 400, 2008)
    assert client.list().json()["pagination"]["totalElements"] == 0


def test_unsupported_type_in_the_url_is_2009(client: Client) -> None:
    assert_error(client.create("POINTS", body_for("GOODWILL-POINTS")), 400, 2009)


@pytest.mark.parametrize("key, code", [("hostname", 2027), ("path", 2028), ("method", 2029)])
def test_missing_wrapped_call_parts(client: Client, key: str, code: int) -> None:
    body = body_for("EARN-BADGE")
    del call_of(body)[key]
    assert_error(client.create("EARN-BADGE", body), 400, code)


def test_wrapped_headers_that_are_not_a_map_are_2023(client: Client) -> None:
    body = body_for("EARN-BADGE")
    call_of(body)["headers"] = "Authorization: Basic x"
    assert_error(client.create("EARN-BADGE", body), 400, 2023)


def test_wrapped_header_values_that_are_not_strings_are_2023(client: Client) -> None:
    body = body_for("EARN-BADGE")
    call_of(body)["headers"] = {"X-Count": 3}
    assert_error(client.create("EARN-BADGE", body), 400, 2023)


def test_hostname_that_cannot_form_a_uri_is_2022(client: Client) -> None:
    body = body_for("EARN-BADGE")
    call_of(body)["hostname"] = "not a host"
    assert_error(client.create("EARN-BADGE", body), 400, 2022)


def test_every_violation_is_named(client: Client) -> None:
    body = body_for("GOODWILL-POINTS")
    call_of(body)["body"]["points"] = 0
    del call_of(body)["body"]["earningEntityId"]
    answer = client.create("GOODWILL-POINTS", body)
    assert answer.status_code == 400
    assert {e["code"] for e in answer.json()["errors"]} >= {2014, 2015}
