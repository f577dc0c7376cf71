"""The sharp edges a frontend developer hit in a day's work with the mock (issue 15, items 3-9):
each is what a browser app does, answered as the developer needs it."""
from __future__ import annotations

import requests

WORKFLOW = "/api_gateway/v2/request-workflow"


def test_a_repeated_query_parameter_is_refused_not_last_wins(live_mock):
    # URLSearchParams.append("states", …) twice; the contract takes one comma-separated value.
    answer = requests.get(live_mock.base_url + WORKFLOW + "/requests?states=AdminTask&states=approved",
                          headers=live_mock.headers("maker"), timeout=10)
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert error["field"] == "states"
    assert error["detail"] == "given 2 times; send it once, with the values comma-separated"
    once = requests.get(live_mock.base_url + WORKFLOW + "/requests?states=AdminTask,approved",
                        headers=live_mock.headers("maker"), timeout=10)
    assert once.status_code == 200


def test_a_type_spelt_as_in_responses_or_events_names_the_url_form(live_mock):
    decision = {"requestId": "113cff87-62a5-11ee-aa6d-0aaee4e533d2", "actionName": "AdminTask",
                "payload": {"AdminTask-Payload": {"actionDecision": "approved", "actionMessage": "ok"}}}
    for spelling in ("goodwill-points", "GOODWILL_POINTS"):
        answer = requests.put(live_mock.base_url + WORKFLOW + f"/{spelling}", json=decision,
                              headers=live_mock.headers("checker"), timeout=10)
        assert answer.status_code == 400
        [error] = answer.json()["errors"]
        assert (error["code"], error["field"]) == (2009, "requestType")
        assert error["detail"] == f"'{spelling}' is spelt 'GOODWILL-POINTS' in the URL"
    unknown = requests.put(live_mock.base_url + WORKFLOW + "/NO-SUCH-TYPE", json=decision,
                           headers=live_mock.headers("checker"), timeout=10)
    assert unknown.json()["errors"][0]["code"] == 2009
    assert "spelt" not in unknown.json()["errors"][0]["detail"]
