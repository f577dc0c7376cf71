"""The proxy in front of deliberately broken servers: each fault is reported with its rule, exit 1.

Each server is a small Flask app (tests/broken_servers.py) on 127.0.0.1; the same traffic
through the same app without its fault is conformant, so what is reported is the fault.
"""
from __future__ import annotations

import json

import pytest
import requests

from broken_servers import FAULTS, workflow_app, serve_app
from contracts.proxy.app import ProxyOptions
from contracts.proxy.testing import serve_in_thread
from mock_support import Client, auth, body_for

# fault -> the rule it must be reported under
EXPECTED = {
    "renamed_state": "allowed_transition",
    "second_approval": "decided_once",
    "cross_org_read": "org_isolation",
    "wrong_message": "error_catalogue",
    "accepts_invalid": "invalid_request_refused",
    "wrong_code": "documented_error_code",
    "legacy_second_approval": "decided_once",
}


def traffic(client: Client) -> None:
    """Create (and a body the schema refuses), read, approve, approve again, the maker deciding their own,
    an outsider's read."""
    invalid = body_for("GOODWILL-POINTS")
    del invalid["payload"]["IntouchAPITask-Payload"]["path"]
    client.create("GOODWILL-POINTS", invalid)
    created = client.create("GOODWILL-POINTS", body_for("GOODWILL-POINTS"))
    request_id = created.json()["data"]["requestId"]
    client.get(request_id, "checker")
    client.decide("GOODWILL-POINTS", client.create("EARN-BADGE", body_for("EARN-BADGE")).json()["data"]["requestId"],
                  "approved", user="maker")
    client.decide("GOODWILL-POINTS", request_id, "approved")
    client.decide("GOODWILL-POINTS", request_id, "approved")
    client.get(request_id, "outsider", org="51251")
    added = legacy(client, "add", [{"type": "GOODWILL", "base_type": "POINTS", "mobile": "1", "points": "5"}], "maker")
    decision = [{"id": added["id"], "type": "GOODWILL", "base_type": "POINTS"}]
    legacy(client, "approve", decision, "maker")
    legacy(client, "approve", decision, "checker")
    legacy(client, "approve", decision, "checker")


def legacy(client: Client, verb: str, items: list[dict], user: str) -> dict:
    answer = client.session.post(f"{client.base_url}/v1.1/request/{verb}", params={"format": "json"},
                                 json={"root": {"request": items}}, headers=auth(user, org=None), timeout=30)
    return answer.json()["response"]["requests"]["request"][0]


def run_through_proxy(fault: str | None, tmp_path, capsys) -> tuple[int, dict, str]:
    report, junit = tmp_path / "proxy.json", tmp_path / "proxy.xml"
    with serve_app(workflow_app(fault)) as upstream:
        options = ProxyOptions(upstream=upstream, port=0, report=str(report), junit_xml=str(junit))
        with serve_in_thread(options) as proxy:
            traffic(Client(proxy.base_url))
            live = requests.get(proxy.base_url + "/__proxy/violations", timeout=10).json()
    assert proxy.exit_code is not None
    written = json.loads(report.read_text())
    assert written["violationCount"] == live["violationCount"]
    return proxy.exit_code, written, capsys.readouterr().out


def broken_rules(report: dict) -> set[str]:
    return {r["rule"] for r in report["rules"] if r["violations"]}


def test_the_same_traffic_to_the_unbroken_app_is_conformant(tmp_path, capsys):
    code, report, out = run_through_proxy(None, tmp_path, capsys)
    assert report["violations"] == [] and out == ""
    assert code == 0
    checked = {r["rule"]: r["checked"] for r in report["rules"]}
    for rule in EXPECTED.values():
        assert checked[rule] > 0, f"{rule} never applied to the traffic"


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_reported_under_its_rule(fault, tmp_path, capsys):
    code, report, out = run_through_proxy(fault, tmp_path, capsys)
    assert code == 1
    assert EXPECTED[fault] in broken_rules(report), report["rules"]
    lines = [line for line in out.splitlines() if line.startswith(f"VIOLATION {EXPECTED[fault]}:")]
    assert lines, out
    assert "reproduce: curl" in lines[0]
    junit = (tmp_path / "proxy.xml").read_text()
    assert f'name="{EXPECTED[fault]}"' in junit and "<failure" in junit


def test_a_violation_never_shows_a_credential(tmp_path, capsys):
    code, report, out = run_through_proxy("wrong_message", tmp_path, capsys)
    written = (tmp_path / "proxy.json").read_text() + (tmp_path / "proxy.xml").read_text() + out
    for secret in ("bWFrZXI6bWFrZXI=", "Basic bWFr", "maker:maker"):  # maker's Basic credentials
        assert secret not in written
    wrapped = body_for("GOODWILL-POINTS")["payload"]["IntouchAPITask-Payload"]["headers"]["Authorization"]
    assert wrapped.split(" ", 1)[1] not in written  # the wrapped call's own credentials neither
    assert "<redacted>" in written
