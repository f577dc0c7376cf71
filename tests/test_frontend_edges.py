"""The sharp edges a frontend developer hit in a day's work with the mock (issue 15, items 3-9):
each is what a browser app does, answered as the developer needs it."""
from __future__ import annotations

import requests

from contracts.run import checks as rules
from mock_support import assert_admin_error

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


def test_the_default_list_order_is_newest_first_with_preloaded_fixtures(tmp_path):
    from pathlib import Path

    from mockserver.config import MockConfig
    from mockserver.testing import serve_in_thread
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    with serve_in_thread(MockConfig(db=str(tmp_path / "s.db"), strict=True, dispatch=False,
                                    fixtures_dir=fixtures)) as mock:
        answer = requests.get(mock.base_url + WORKFLOW + "/requests", params={"limit": 100},
                              headers=mock.headers("checker"), timeout=10)
        starts = [d["startTime"] for d in answer.json()["data"]]
        assert len(starts) > 10 and len(set(starts)) > 1
        assert starts == sorted(starts, reverse=True)
        assert rules.default_order_problem(answer.json()["data"]) is None


def test_the_contract_suite_flags_a_page_that_is_not_newest_first():
    page = [{"requestId": "a", "startTime": "2024-02-01T10:00:00"}, {"requestId": "b", "startTime": "2024-02-03T10:00:00"}]
    assert rules.default_order_problem(page) == ("b (started 2024-02-03T10:00:00) is listed after one started "
                                                 "2024-02-01T10:00:00: without sortBy the newest comes first")
    assert rules.default_order_problem(list(reversed(page))) is None


def test_token_failures_say_what_is_wrong(live_mock):
    import time

    import jwt
    directory = live_mock.app.extensions["mockserver"].directory
    good = directory.issue_token("checker")
    foreign = jwt.encode({"sub": "checker", "uid": 233253, "exp": time.time() + 60}, "x" * 40, algorithm="HS256")
    cases = {
        directory.issue_token("checker", ttl_s=1, now=time.time() - 60): "the token has expired",
        "not-a-token": "not a JWT",
        foreign: "not signed with this mock's secret",
        "Bearer " + good: "without 'Bearer '",
    }
    for token, says in cases.items():
        answer = requests.get(live_mock.base_url + WORKFLOW + "/requests", timeout=10,
                              headers={"X-CAP-UI-AUTH-TOKEN": token, "X-CAP-API-AUTH-ORG-ID": "51250"})
        assert answer.status_code == 401
        [error] = answer.json()["errors"]
        assert error["code"] == 2013 and error["field"] == "X-CAP-UI-AUTH-TOKEN" and says in error["detail"]
    bearer = requests.get(live_mock.base_url + WORKFLOW + "/requests", timeout=10,
                          headers={"Authorization": "Bearer " + good, "X-CAP-API-AUTH-ORG-ID": "51250"})
    assert "X-CAP-UI-AUTH-TOKEN" in bearer.json()["errors"][0]["detail"]


def test_the_token_endpoint_is_a_login_for_browser_apps(live_mock):
    url = live_mock.base_url + "/__admin/tokens"
    wrong = requests.post(url, json={"username": "checker", "password": "guess"}, timeout=10)
    assert assert_admin_error(wrong, 401) == ["password: wrong password"]
    issued = requests.post(url, json={"username": "checker", "password": "checker"}, timeout=10)
    assert issued.status_code == 201
    token = issued.json()
    answer = requests.get(live_mock.base_url + WORKFLOW + "/requests", timeout=10,
                          headers={token["header"]: token["token"], "X-CAP-API-AUTH-ORG-ID": "51250"})
    assert answer.status_code == 200


def test_pending_preload_fills_more_than_a_page_per_type_from_several_makers(tmp_path):
    from mockserver.config import MockConfig
    from mockserver.testing import serve_in_thread
    config = MockConfig(db=str(tmp_path / "s.db"), strict=True, dispatch=False, pending_per_type=4)
    with serve_in_thread(config) as mock:
        types = mock.app.extensions["mockserver"].types
        page = requests.get(mock.base_url + WORKFLOW + "/requests", params={"states": "AdminTask", "limit": 100},
                            headers=mock.headers("checker"), timeout=10).json()
        assert page["pagination"]["totalElements"] == 4 * len(types) > 10  # the default page is 10
        for rtype in types.values():
            mine = [d for d in page["data"] if d["requestType"] == rtype.response_name]
            assert len(mine) == 4 and len({d["userId"] for d in mine}) > 1, rtype.url_name
        first = page["data"][-1]
        decision = {"requestId": first["requestId"], "actionName": "AdminTask",
                    "payload": {"AdminTask-Payload": {"actionDecision": "approved", "actionMessage": "ok"}}}
        url_type = next(t.url_name for t in types.values() if t.response_name == first["requestType"])
        decided = requests.put(mock.base_url + WORKFLOW + f"/{url_type}", json=decision,
                               headers=mock.headers("checker"), timeout=10)
        assert decided.status_code == 200 and decided.json()["data"]["state"] in ("approved", "failed")
    with serve_in_thread(config) as again:  # a restart (or another worker) adds nothing twice
        assert requests.get(again.base_url + "/__admin/health", timeout=10).json()["requests"] == 4 * len(types)


def test_times_are_written_in_the_configured_zone_ist_by_default(tmp_path):
    from datetime import datetime, timedelta, timezone

    from mockserver.config import MockConfig, zone_of
    from mockserver.testing import serve_in_thread
    assert MockConfig().timezone == "+05:30"
    assert zone_of("Asia/Kolkata").utcoffset(datetime(2024, 1, 1)) == timedelta(hours=5, minutes=30)
    for zone, offset in (("+05:30", timedelta(hours=5, minutes=30)), ("UTC", timedelta(0))):
        config = MockConfig(db=str(tmp_path / f"{offset.seconds}.db"), strict=True, dispatch=False,
                            timezone=zone, pending_per_type=1)
        with serve_in_thread(config) as mock:
            page = requests.get(mock.base_url + WORKFLOW + "/requests", headers=mock.headers("checker"),
                                timeout=10).json()
            written = datetime.strptime(page["data"][0]["startTime"], "%Y-%m-%dT%H:%M:%S")
            expected = datetime.now(timezone.utc).replace(tzinfo=None) + offset
            assert abs(written - expected) < timedelta(minutes=10), (zone, written, expected)
    import pytest
    with pytest.raises(ValueError):
        zone_of("Mars/Olympus")


def test_a_wrong_route_says_no_such_route_and_hints_at_a_trailing_slash(live_mock):
    slash = requests.get(live_mock.base_url + WORKFLOW + "/requests/", headers=live_mock.headers("maker"), timeout=10)
    assert slash.status_code == 404
    assert slash.json()["errors"][0]["detail"] == "no such route: drop the trailing slash"
    nowhere = requests.get(live_mock.base_url + WORKFLOW + "/nothing/here", headers=live_mock.headers("maker"), timeout=10)
    assert nowhere.status_code == 404 and nowhere.json()["errors"][0]["detail"].startswith("no such route (")


def test_every_answer_is_access_logged_with_method_path_status_ms_and_user(live_mock, caplog):
    import logging
    import re
    with caplog.at_level(logging.INFO, logger="mockserver.access"):
        requests.get(live_mock.base_url + WORKFLOW + "/requests?limit=1", headers=live_mock.headers("checker"), timeout=10)
        requests.get(live_mock.base_url + "/__admin/health", timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "mockserver.access"]
    assert any(re.fullmatch(r"GET /api_gateway/v2/request-workflow/requests\?limit=1 200 \d+\.\dms checker", line)
               for line in lines), lines
    assert any(re.fullmatch(r"GET /__admin/health 200 \d+\.\dms -", line) for line in lines), lines


def test_the_readme_gives_an_accepted_create_body_for_every_type(live_mock):
    import json
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For frontend developers", 1)[1].split("\n## ", 1)[0]
    bodies = dict(re.findall(r"- `([A-Z-]+)` \(`[^`]+`\):\n  ```json\n  (.+)\n  ```", section))
    types = live_mock.app.extensions["mockserver"].types
    assert sorted(bodies) == sorted(types)
    for url_type, text in bodies.items():
        answer = requests.post(live_mock.base_url + WORKFLOW + f"/{url_type}", json=json.loads(text),
                               headers=live_mock.headers("maker"), timeout=10)
        assert answer.status_code == 200, (url_type, answer.text)


def test_a_subscription_can_be_removed(live_mock):
    url = live_mock.base_url + "/__admin/subscriptions"
    added = requests.post(url, json={"url": "http://127.0.0.1:9/hooks"}, timeout=10).json()
    removed = requests.delete(f"{url}/{added['id']}", timeout=10)
    assert removed.status_code == 200 and removed.json() == added
    assert requests.get(url, timeout=10).json()["subscriptions"] == []
    again = requests.delete(f"{url}/{added['id']}", timeout=10)
    assert assert_admin_error(again, 404) == ["subscriptionId: no such subscription"]
