"""Unit tests of the contract suite's pieces that need no target: auth flags, rate limits,
the derived per-type create operations, the domain rules, the report outputs and exit code 2."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from contracts.run import checks as rules
from contracts.cli import main
from contracts.run.identities import AuthError, build_cast, parse_auth
from contracts.run.findings import Finding
from contracts.run.junit import write_junit
from contracts.run.report import Report
from contracts.run.reproduction import BodyFiles, Exchange
from capillary_contract.strategies import openapi_schema
from contracts.run.spec import fuzzed_operations, operation_id
from contracts.run.transport import is_loopback, parse_rate
from capillary_contract.loader import load_contract


def test_auth_flags():
    basic = parse_auth("maker", "basic:maker:s3:cret", "51250")
    assert basic.headers["Authorization"].startswith("Basic ") and basic.login == "maker"
    token = parse_auth("checker", "token:abc.def.ghi", "51250")
    assert token.headers == {"X-CAP-UI-AUTH-TOKEN": "abc.def.ghi"}
    assert token.request_headers["X-CAP-API-AUTH-ORG-ID"] == "51250"
    with pytest.raises(AuthError):
        parse_auth("maker", "bearer:x", "1")


def test_default_cast_knows_the_mock_users_only_without_flags():
    assert set(build_cast(None, None, None).extras) == {"supervisor", "viewer", "outsider", "integration"}
    assert build_cast(None, None, None).mock
    assert build_cast(None, "basic:a:b", None).extras == {}
    given = build_cast("7", "basic:a:b", "basic:c:d", supervisor_auth="token:x.y.z", viewer_auth="basic:v:w",
                       outsider_auth="basic:o:p", outsider_org="8")
    assert not given.mock and given.get("outsider").org == "8" and given.get("supervisor").org == "7"
    with pytest.raises(AuthError):
        build_cast("7", outsider_auth="basic:o:p")  # the outsider's organisation must be named


def test_rate_and_loopback():
    assert parse_rate("10/s") == 10 and parse_rate("120/m") == 2 and parse_rate(None) is None
    with pytest.raises(ValueError):
        parse_rate("5/week")
    assert is_loopback("http://127.0.0.1:4010") and is_loopback("http://localhost:1")
    assert not is_loopback("http://10.1.2.3")


def test_create_is_one_operation_per_request_type_with_that_types_body():
    contract = load_contract()
    schema = openapi_schema(contract)
    ids = {operation_id(op) for op in fuzzed_operations(schema)}
    assert {contract.create_operation(t).operation_id for t in contract.request_types} <= ids
    assert not any(i.startswith("admin") for i in ids)
    op = schema[contract.create_path("GOODWILL-POINTS")]["POST"]
    assert op.definition.raw["requestBody"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/GoodwillPointsCreate"}


def test_catalogue_rule_uses_the_documented_messages():
    contract = load_contract()
    good = {"errors": [{"status": False, "code": 2002, "message": contract.workflow_errors[2002]}]}
    assert rules.catalogue_problems(contract, good) == []
    bad = {"errors": [{"status": False, "code": 2002, "message": "Already done."}]}
    assert "2002" in rules.catalogue_problems(contract, bad)[0]
    assert rules.catalogue_problems(contract, {"errors": [{"code": 1234, "message": "x"}]})


def test_details_growth_rule():
    sent = {"payload": {"IntouchAPITask-Payload": {"hostname": "http://h", "path": "/p"}}}
    created = {"state": "AdminTask", "details": {"IntouchAPITask-Payload": sent["payload"]["IntouchAPITask-Payload"],
                                                 "ValidateMakerAccess_Output": True, "ValidatePayload_Output": True}}
    assert rules.details_on_create(created, sent) == []
    rejected = {"state": "rejected", "details": {**created["details"], "AdminTask-Payload": {
        "actionDecision": "rejected", "actionMessage": "m"}, "AdminTask_Output": "rejected",
        "ValidateCheckerAccess_Output": True}}
    assert rules.details_on_decision(created, rejected, "rejected", "m") == []
    dropped = {**rejected, "details": {k: v for k, v in rejected["details"].items() if k != "ValidatePayload_Output"}}
    assert rules.details_on_decision(created, dropped, "rejected", "m")


def test_report_outputs(tmp_path):
    from contracts.run.console import summary

    report = Report(live=False, files=BodyFiles(str(tmp_path / "files")))
    report.count("probes", 3)
    exchange = Exchange("PUT", "http://127.0.0.1/x", {"A": "b"}, '{"k": 1}', 200, "{}")
    assert report.add(Finding("probes", "decided_once", "rule", "PUT /x", "again accepted", exchange))
    assert not report.add(Finding("probes", "decided_once", "rule", "PUT /x", "again accepted"))
    report.write_json(str(tmp_path / "r.json"), {"seed": 1})
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["conformant"] is False and data["failures"][0]["reproduction"]["curl"].startswith("curl -X PUT")
    assert data["problems"][0]["count"] == 2 and data["findingCount"] == 2
    write_junit(report, str(tmp_path / "j.xml"))
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert root.find(".//failure").get("type") == "decided_once"
    assert "decided_once" in summary(report, "1 PROBLEM")


@pytest.mark.parametrize("argv", [
    ["run", "--base-url", "http://127.0.0.1:9", "--maker-auth", "nonsense"],
    ["run", "--base-url", "http://127.0.0.1:9"],  # nothing listens on the discard port
    ["run", "--base-url", "ftp://127.0.0.1:9"],
    ["run", "--base-url", "http://127.0.0.1:9", "--rate-limit", "fast"],
    ["run"],
])
def test_unusable_arguments_or_target_exit_2(argv):
    try:
        assert main(argv) == 2
    except SystemExit as exc:
        assert exc.code == 2


def test_a_negative_case_is_judged_as_it_was_sent():
    """Auth put back by the suite, or a null query value dropped by the client, leaves a valid
    request: it must not be held against a server that accepts it. A broken one still counts."""
    import requests as http

    from contracts.run.checks import valid_as_sent
    from capillary_contract.loader import load_contract

    contract = load_contract()
    auth = {"Authorization": "Basic bWFrZXI6bWFrZXI=", "X-CAP-API-AUTH-ORG-ID": "51250"}
    sent = http.Request("GET", "http://127.0.0.1:1/v1.1/request/get",
                        params={"format": "json", "dropped": None}, headers=auth).prepare()
    assert valid_as_sent(contract, sent)
    unknown = http.Request("GET", "http://127.0.0.1:1/v1.1/request/get", params={"nope": "1"}, headers=auth).prepare()
    assert not valid_as_sent(contract, unknown)
    broken = http.Request("POST", "http://127.0.0.1:1/api_gateway/v2/request-workflow/GOODWILL-POINTS",
                          json={"entityInfo": {}}, headers=auth).prepare()
    assert not valid_as_sent(contract, broken)
    no_org = http.Request("GET", "http://127.0.0.1:1/api_gateway/v2/request-workflow/requests").prepare()
    assert not valid_as_sent(contract, no_org)


def test_generated_cases_never_carry_made_up_transport_headers():
    """`Content-Length: )` breaks HTTP framing: the server's parser answers, not the API."""
    from types import SimpleNamespace

    from contracts.run.fuzz import _drop_transport_headers

    case = SimpleNamespace(headers={"Content-Length": ")", "transfer-encoding": "x", "Host": "h", "a": "b"})
    _drop_transport_headers(case)
    assert case.headers == {"a": "b"}


def test_a_generated_case_crosses_to_the_sending_process_whole():
    """A generator hands its cases over pickled, each operation by its label: the case that arrives is
    the case drawn (same parts, same generation metadata) on the receiving process's own operation."""
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    from contracts.run.generation import dumps, loads

    ops = fuzzed_operations(openapi_schema(load_contract()))
    drawn = []
    for op in ops[:3]:
        @settings(max_examples=3, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        def draw(case):
            drawn.append(case)

        draw()
    labels = {id(op): f"{op.method} {op.path}" for op in ops}
    operations = {f"{op.method} {op.path}": op for op in ops}
    for case in drawn:
        back = loads(dumps(case, labels), operations)
        assert back == case and back.operation is case.operation and back.body == case.body
        assert back.meta.generation.mode == case.meta.generation.mode
        assert back.meta.components.keys() == case.meta.components.keys()
    assert drawn and len(dumps(drawn[0], labels)) < 64 * 1024  # the schema stays behind


def test_event_rules_from_the_contracts_description():
    """requestAttributes are the wrapped call's queryParams and body; checkerId and comment once a checker acted."""
    from contracts.run.webhooks import event_problems

    wrapped = {"body": {"points": 20}, "queryParams": {"format": "json"}}
    sent = {"wrapped": wrapped, "comment": "approved by the lifecycle machine"}
    created = {"requestId": "r", "currentRequestState": "AdminTask",
               "requestAttributes": {"body": {"points": 20}, "queryParams": {"format": "json"}}}
    decided = {**created, "currentRequestState": "approved", "checkerId": 233253, "comment": sent["comment"]}
    assert event_problems(created, sent) == [] and event_problems(decided, sent) == []
    assert event_problems({**created, "requestAttributes": {"body": {}}}, sent)      # body and queryParams lost
    assert event_problems({k: v for k, v in decided.items() if k != "checkerId"}, sent)
    assert event_problems({**decided, "comment": "something else"}, sent)


def test_sort_order_rule():
    items = [{"requestId": "a", "startTime": "2026-01-01T00:00:01"}, {"requestId": "b", "startTime": "2026-01-01T00:00:02"}]
    assert rules.sort_order_problem(items, "startDate", "asc") is None
    assert "sortOrder=desc" in rules.sort_order_problem(items, "startDate", "desc")
    assert rules.default_order_problem(items)  # without sortBy the newest comes first
    assert rules.sort_order_problem(items, "endDate", "asc") is None  # undecided requests are not compared
