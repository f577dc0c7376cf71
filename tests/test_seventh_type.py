"""A new request type is data only (issue 9): a seventh type added to a copy of openapi.yaml is
served, decided, announced and written as fixtures with no code change.

The three entries (`x-request-types`, the type's path with its create and decide operations, its
create schema) are tests/seventh_type.yaml; the mock runs on the copy with `--spec` (and
`--strict`, so every answer is checked against that copy), and `contracts fixtures --spec` writes
the copy's fixture set.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from capillary_contract.loader import load_contract
from capillary_contract.receiver import Receiver
from mock_support import REPO, auth, decision, served_mock

NEW_TYPE = "POINTS-TRANSFER"
FRAGMENT = Path(__file__).with_name("seventh_type.yaml")


@pytest.fixture(scope="module")
def spec_copy(tmp_path_factory) -> Path:
    spec = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
    added = yaml.safe_load(FRAGMENT.read_text(encoding="utf-8"))
    assert set(added) == {"x-request-types", "paths", "components"}
    spec["x-request-types"].update(added["x-request-types"])
    spec["paths"].update(added["paths"])
    spec["components"]["schemas"].update(added["components"]["schemas"])
    path = tmp_path_factory.mktemp("seventh") / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_the_copy_is_a_contract_with_seven_types(spec_copy: Path) -> None:
    contract = load_contract(spec_copy)
    assert list(contract.request_types)[-1] == NEW_TYPE and len(contract.request_types) == 7
    listed = contract.spec["components"]["schemas"]["RequestTypeName"]["enum"]  # restated, derived at load
    assert listed[-1] == "points-transfer"
    assert all(NEW_TYPE in derived or "points-transfer" in derived or "POINTS_TRANSFER" in derived
               for _, _, derived in contract.restated_enums)


@pytest.mark.timeout(300)
def test_a_seventh_type_is_created_approved_and_announced_with_no_code_change(spec_copy: Path, tmp_path: Path) -> None:
    contract = load_contract(spec_copy)
    path = contract.create_path(NEW_TYPE)
    body = next(iter(contract.examples(contract.create_operation(NEW_TYPE).operation_id).values()))["value"]
    documented = next(iter(contract.examples(contract.decide_operation(NEW_TYPE).operation_id, "200").values()))
    documented_answer = documented["value"]["data"]["details"]["IntouchAPITask_Output"]["body"]
    call = dict(body["payload"]["IntouchAPITask-Payload"])
    call["body"] = {**call["body"], "fromCustomerId": 1001, "points": 7}  # not the documented call
    sent = {**body, "payload": {"IntouchAPITask-Payload": call}}
    with Receiver() as hook, served_mock(tmp_path, "--spec", str(spec_copy), "--strict", "--webhook", hook.url) as mock:
        created = requests.post(mock.base_url + path, json=sent, headers=auth("maker"), timeout=30)
        assert created.status_code == 200, created.text
        document = created.json()["data"]
        assert (document["requestType"], document["state"]) == ("points-transfer", "AdminTask")

        approved = requests.put(mock.base_url + path, json=decision(document["requestId"]), headers=auth("checker"),
                                timeout=30)
        assert approved.status_code == 200, approved.text
        data = approved.json()["data"]
        assert data["state"] == "approved", data
        output = data["details"]["IntouchAPITask_Output"]
        # The documented answer fitted to this call: echoes follow the call, the made-up id is new.
        assert output["status"] == 200
        assert output["body"]["fromCustomerId"] == 1001 and output["body"]["points"] == 7
        assert output["body"]["toCustomerId"] == call["body"]["toCustomerId"]
        assert len(str(output["body"]["transferId"])) == len(str(documented_answer["transferId"]))
        assert set(output["body"]) == set(documented_answer)

        wrong = requests.post(mock.base_url + contract.create_path("GOODWILL-POINTS"), json=sent,
                              headers=auth("maker"), timeout=30)
        assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == 2008

        assert hook.wait_for(2, timeout_s=30), hook.arrivals()
        events = [b["data"] for b in hook.accepted() if b["data"]["requestId"] == document["requestId"]]
        assert [(e["requestType"], e["currentRequestState"]) for e in events] == [
            ("POINTS_TRANSFER", "AdminTask"), ("POINTS_TRANSFER", "approved")]
        assert "outside the contract" not in mock.log.read_text()


@pytest.mark.timeout(300)
def test_contracts_fixtures_writes_the_seventh_types_fixtures(spec_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixtures"
    done = subprocess.run([str(Path(sys.executable).with_name("contracts")), "fixtures", "--spec", str(spec_copy),
                           "--out", str(out)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))["files"]
    ours = [e for e in index if e["type"] == NEW_TYPE]
    kinds = {e["kind"] for e in ours}
    assert {"request", "lifecycle", "event"} <= kinds, sorted(kinds)
    valid = [e for e in ours if e["kind"] == "request" and e.get("valid")]
    invalid = [e for e in ours if e["kind"] == "request" and not e.get("valid")]
    assert valid and invalid, ours[:5]
    contract = load_contract(spec_copy)
    validator = contract.component_validator(contract.request_types[NEW_TYPE]["schemaName"])
    for entry in valid:
        assert validator.is_valid(json.loads((out / entry["path"]).read_text(encoding="utf-8"))["body"])
    assert {e["outcome"] for e in ours if e["kind"] == "lifecycle"} >= {"approved", "rejected", "failed"}
