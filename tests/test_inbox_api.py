"""What the browser inbox stands on, over HTTP: the page and its files, the users without their
passwords, tokens for a chosen user, and a reset back to the preloaded data."""
from __future__ import annotations

import json
from pathlib import Path

import requests

from mockserver.config import MockConfig
from mockserver.identity import DEFAULT_USERS
from mockserver.testing import serve_in_thread
from mock_support import assert_admin_error

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LIST = "/api_gateway/v2/request-workflow/requests"


def test_users_are_listed_without_passwords(live_mock):
    answer = requests.get(live_mock.base_url + "/__admin/users", timeout=10)
    assert answer.status_code == 200
    users = answer.json()["users"]
    assert [u["username"] for u in users] == [u.username for u in DEFAULT_USERS]
    assert all("password" not in u for u in users)
    checker = next(u for u in users if u["username"] == "checker")
    assert checker["permissions"] == ["CanCheckRequest"] and checker["org"] == 51250


def test_a_token_acts_as_the_chosen_user_on_the_workflow_api(live_mock):
    issued = requests.post(live_mock.base_url + "/__admin/tokens", json={"username": "outsider"}, timeout=10)
    assert issued.status_code == 201, issued.text
    token = issued.json()
    assert token["header"] == "X-CAP-UI-AUTH-TOKEN" and token["user"]["org"] == 51251
    headers = {token["header"]: token["token"], "X-CAP-API-AUTH-ORG-ID": str(token["user"]["org"])}
    assert requests.get(live_mock.base_url + LIST, headers=headers, timeout=10).status_code == 200
    headers["X-CAP-API-AUTH-ORG-ID"] = "51250"  # the token is the outsider's, not another org's
    assert requests.get(live_mock.base_url + LIST, headers=headers, timeout=10).status_code == 400


def test_a_token_for_an_unknown_user_or_a_bad_body_is_refused_in_the_admin_envelope(live_mock):
    unknown = requests.post(live_mock.base_url + "/__admin/tokens", json={"username": "nobody"}, timeout=10)
    assert assert_admin_error(unknown, 404) == ["username: no such user"]
    assert unknown.json()["errors"][0]["message"] == "not found"
    extra = requests.post(live_mock.base_url + "/__admin/tokens", json={"username": "maker", "x": 1}, timeout=10)
    assert_admin_error(extra, 400)


def test_reset_with_preload_loads_the_start_up_data_again(tmp_path):
    with serve_in_thread(MockConfig(db=str(tmp_path / "s.db"), strict=True, dispatch=False,
                                    fixtures_dir=FIXTURES)) as mock:
        preloaded = requests.get(mock.base_url + "/__admin/health", timeout=10).json()["requests"]
        lifecycles = [e for e in json.loads((FIXTURES / "index.json").read_text())["files"] if e["kind"] == "lifecycle"]
        assert preloaded == len(lifecycles) > 0
        assert requests.post(mock.base_url + "/__admin/reset", timeout=10).json() == {"reset": True}
        assert requests.get(mock.base_url + "/__admin/health", timeout=10).json()["requests"] == 0
        assert requests.post(mock.base_url + "/__admin/reset?preload=true", timeout=10).json() == {"reset": True}
        assert requests.get(mock.base_url + "/__admin/health", timeout=10).json()["requests"] == preloaded
        assert requests.post(mock.base_url + "/__admin/reset?preload=maybe", timeout=10).status_code == 400


def test_the_page_embeds_what_it_needs_and_its_files_are_served(live_mock):
    page = requests.get(live_mock.base_url + "/__admin/ui", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    model = json.loads(page.text.split('<script id="model" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert [t["url"] for t in model["types"]] == list(live_mock.app.extensions["mockserver"].types)
    assert model["states"][0] == model["pending"] == "AdminTask"
    assert model["preloaded"] is False
    for name, kind in (("inbox.js", "javascript"), ("inbox.css", "text/css")):
        asset = requests.get(f"{live_mock.base_url}/__admin/ui/static/{name}", timeout=10)
        assert asset.status_code == 200 and kind in asset.headers["Content-Type"]
