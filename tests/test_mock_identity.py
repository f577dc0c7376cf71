"""Who may do what: Basic and JWT credentials, permissions, maker != checker, organisations."""
from __future__ import annotations

import hashlib
import subprocess
import time

import jwt
import pytest

from mock_support import (BASE, OTHER_ORG, Client, assert_error, auth, basic, body_for, mockserver_command,
                          served_mock)
from mockserver.config import DEFAULT_JWT_SECRET


@pytest.fixture
def client(live_mock) -> Client:
    return Client(live_mock.base_url)


def token(user: str, *args: str) -> str:
    """`mockserver token USER` as a user runs it."""
    done = subprocess.run([*mockserver_command(), "token", user, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def token_headers(value: str, org: str = "51250") -> dict[str, str]:
    return {"X-CAP-UI-AUTH-TOKEN": value, "X-CAP-API-AUTH-ORG-ID": org}


def test_basic_with_the_password(client: Client) -> None:
    assert client.create("EARN-BADGE", body_for("EARN-BADGE"), headers=auth("maker")).status_code == 200


def test_basic_with_the_md5_of_the_password(client: Client) -> None:
    digest = hashlib.md5(b"maker").hexdigest()
    answer = client.create("EARN-BADGE", body_for("EARN-BADGE"), headers=auth("maker", password=digest))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("authorization", [
    basic("maker", "wrong"), basic("nobody", "nobody"), "Basic !!!not-base64", "Bearer abc", ""])
def test_bad_basic_credentials_are_401(client: Client, authorization: str) -> None:
    answer = client.create("EARN-BADGE", body_for("EARN-BADGE"),
                           headers={"Authorization": authorization, "X-CAP-API-AUTH-ORG-ID": "51250"})
    assert_error(answer, 401, 2013)


def test_token_from_the_cli_is_accepted(client: Client) -> None:
    maker = token("maker")
    checker = token("checker")
    created = client.session.post(f"{client.base_url}{BASE}/GOODWILL-POINTS", json=body_for("GOODWILL-POINTS"),
                                  headers=token_headers(maker))
    assert created.status_code == 200, created.text
    assert created.json()["data"]["userId"] == 232134
    request_id = created.json()["data"]["requestId"]
    decided = client.decide("GOODWILL-POINTS", request_id, headers={**token_headers(checker), "Authorization": ""})
    assert decided.json()["data"]["state"] == "approved"


def test_token_for_an_unknown_user_is_refused_by_the_cli() -> None:
    done = subprocess.run([*mockserver_command(), "token", "nobody"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "nobody" in done.stderr


@pytest.mark.parametrize("password", ["pässword", "パスワード", "checker\u00e9"])
def test_non_ascii_basic_password_is_401_not_500(client: Client, password: str) -> None:
    answer = client.create("EARN-BADGE", body_for("EARN-BADGE"), headers=auth("maker", password=password))
    assert_error(answer, 401, 2013)
    listed = client.session.get(f"{client.base_url}{BASE}/requests", headers=auth("checker", password=password))
    assert_error(listed, 401, 2013)


def test_configured_non_ascii_password_works(tmp_path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  - {username: jürgen, password: pässword, id: 7001, permissions: [CanMakeRequest]}\n",
                     encoding="utf-8")
    with served_mock(tmp_path, "--config", str(users), "--workers", "1") as served:
        client = served.client()
        created = client.create("ISSUE-BADGE", body_for("ISSUE-BADGE"), headers=auth("jürgen", password="pässword"))
        assert created.status_code == 200, created.text
        digest = hashlib.md5("pässword".encode()).hexdigest()
        assert client.create("ISSUE-BADGE", body_for("ISSUE-BADGE"),
                             headers=auth("jürgen", password=digest)).status_code == 200
        assert_error(client.create("ISSUE-BADGE", body_for("ISSUE-BADGE"),
                                   headers=auth("jürgen", password="passwort")), 401, 2013)


def _claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "maker", "uid": 232134, "org": 51250, "perms": ["CanMakeRequest"], "iat": now, "exp": now + 600,
            **over}


@pytest.mark.parametrize("forged", [
    jwt.encode(_claims(), "not-the-mock-secret-though-as-long-as-one", algorithm="HS256"),
    jwt.encode(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), DEFAULT_JWT_SECRET,
               algorithm="HS256"),
    jwt.encode(_claims(uid=233253), DEFAULT_JWT_SECRET, algorithm="HS256"),
    jwt.encode(_claims(sub="nobody"), DEFAULT_JWT_SECRET, algorithm="HS256"),
    jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, DEFAULT_JWT_SECRET, algorithm="HS256"),
    jwt.encode(_claims(exp=str(int(time.time()) + 600)), DEFAULT_JWT_SECRET, algorithm="HS256"),
    jwt.encode(_claims(iat=str(int(time.time()))), DEFAULT_JWT_SECRET, algorithm="HS256"),
    jwt.encode(_claims(exp=True), DEFAULT_JWT_SECRET, algorithm="HS256"),
    "not.a.jwt",
], ids=["bad-signature", "expired", "wrong-uid", "unknown-user", "no-expiry", "string-exp", "string-iat",
        "boolean-exp", "garbage"])
def test_bad_tokens_are_401(client: Client, forged: str) -> None:
    answer = client.session.post(f"{client.base_url}{BASE}/EARN-BADGE", json=body_for("EARN-BADGE"),
                                 headers=token_headers(forged))
    assert_error(answer, 401, 2013)


def test_expired_cli_token_is_401(client: Client) -> None:
    short = token("maker", "--ttl", "1")
    time.sleep(2.1)  # a token from the CLI outlives 1 s only by clock skew; wait past it
    answer = client.session.get(f"{client.base_url}{BASE}/requests", headers=token_headers(short))
    assert_error(answer, 401, 2013)


def test_viewer_can_do_nothing(client: Client) -> None:
    pending = client.pending("EARN-BADGE")
    assert_error(client.create("EARN-BADGE", body_for("EARN-BADGE"), user="viewer"), 403, 2001)
    assert_error(client.decide("EARN-BADGE", pending["requestId"], user="viewer"), 403, 2001)
    assert_error(client.get(pending["requestId"], user="viewer"), 403, 2001)
    assert_error(client.list(user="viewer"), 403, 2001)


def test_maker_cannot_decide_and_checker_cannot_create(client: Client) -> None:
    pending = client.pending("EARN-BADGE")
    assert_error(client.decide("EARN-BADGE", pending["requestId"], user="maker"), 403, 2001)
    assert_error(client.create("EARN-BADGE", body_for("EARN-BADGE"), user="checker"), 403, 2001)


def test_maker_cannot_approve_their_own_request(client: Client) -> None:
    pending = client.pending("EARN-BADGE", user="supervisor")
    assert_error(client.decide("EARN-BADGE", pending["requestId"], user="supervisor"), 403, 2001)
    assert_error(client.decide("EARN-BADGE", pending["requestId"], "rejected", user="supervisor"), 403, 2001)
    assert client.get(pending["requestId"]).json()["data"]["state"] == "AdminTask"
    assert client.decide("EARN-BADGE", pending["requestId"], user="checker").json()["data"]["state"] == "approved"


def test_supervisor_may_approve_someone_elses_request(client: Client) -> None:
    pending = client.pending("EARN-BADGE")
    assert client.decide("EARN-BADGE", pending["requestId"], user="supervisor").json()["data"]["state"] == "approved"


def test_missing_org_header_is_2026(client: Client) -> None:
    answer = client.session.post(f"{client.base_url}{BASE}/EARN-BADGE", json=body_for("EARN-BADGE"),
                                 headers=auth("maker", org=None))
    assert_error(answer, 400, 2026)
    answer = client.session.get(f"{client.base_url}{BASE}/requests", headers=auth("maker", org=None))
    assert_error(answer, 400, 2026)


@pytest.mark.parametrize("org", [OTHER_ORG, "abc", "51250x", "-1", "9" * 19])
def test_other_or_invalid_org_header_is_2005(client: Client, org: str) -> None:
    answer = client.session.post(f"{client.base_url}{BASE}/EARN-BADGE", json=body_for("EARN-BADGE"),
                                 headers=auth("maker", org=org))
    assert_error(answer, 400, 2005)


def test_outsider_never_sees_nor_decides_another_orgs_request(client: Client) -> None:
    pending = client.pending("EARN-BADGE")
    assert_error(client.get(pending["requestId"], user="outsider", org=OTHER_ORG), 404, 2007)
    assert_error(client.decide("EARN-BADGE", pending["requestId"], user="outsider",
                               headers={"X-CAP-API-AUTH-ORG-ID": OTHER_ORG}), 404, 2007)
    listed = client.session.get(f"{client.base_url}{BASE}/requests", headers=auth("outsider", org=OTHER_ORG))
    assert listed.json()["data"] == []
    assert client.get(pending["requestId"]).json()["data"]["state"] == "AdminTask"


def test_config_file_replaces_the_users(tmp_path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text("users:\n"
                     "  - {username: alice, password: wonder, id: 7001, org: 777, permissions: [CanMakeRequest]}\n"
                     "  - {username: bob, password: builder, id: 7002, org: 777, permissions: [CanCheckRequest]}\n")
    body = body_for("ISSUE-BADGE")
    with served_mock(tmp_path, "--config", str(users), "--workers", "1") as served:
        client = served.client()
        gone = client.create("ISSUE-BADGE", body, headers=auth("maker"))
        assert_error(gone, 401, 2013)
        created = client.create("ISSUE-BADGE", body, headers=auth("alice", org="777", password="wonder"))
        assert created.status_code == 200, created.text
        assert created.json()["data"]["userId"] == 7001
        bob = token("bob", "--config", str(users))
        decided = client.decide("ISSUE-BADGE", created.json()["data"]["requestId"],
                                headers={"Authorization": "", **token_headers(bob, org="777")})
        assert decided.json()["data"]["state"] == "approved"
