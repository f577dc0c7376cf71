"""The committed fixtures are the default seed's output, and each one says the truth about the spec."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.fixtures import command as fixtures_cli
from contracts.fixtures.generate import DEFAULT_SEED, generate
from contracts.fixtures.lifecycle import transcript_problems
from capillary_contract.catalogue import DEFAULT_CODE
from capillary_contract.loader import load_contract

COMMITTED = Path(__file__).resolve().parent.parent / "fixtures"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _index() -> dict:
    return json.loads((COMMITTED / "index.json").read_text(encoding="utf-8"))


def _entries(**match: object) -> list[dict]:
    return [e for e in _index()["files"] if all(e.get(k) == v for k, v in match.items())]


def _load(entry: dict) -> dict:
    return json.loads((COMMITTED / entry["path"]).read_text(encoding="utf-8"))


def test_committed_fixtures_are_the_default_seeds_output(tmp_path: Path) -> None:
    generate(tmp_path, DEFAULT_SEED)
    fresh, committed = _files(tmp_path), _files(COMMITTED)
    assert sorted(fresh) == sorted(committed), "run `contracts fixtures` and commit fixtures/"
    drifted = [name for name in fresh if fresh[name] != committed[name]]
    assert not drifted, f"fixtures drifted from openapi.yaml, regenerate: {drifted[:5]}"


def test_index_lists_every_file_once() -> None:
    listed = [e["path"] for e in _index()["files"]]
    on_disk = sorted(p for p in _files(COMMITTED) if p != "index.json")
    assert sorted(listed) == on_disk
    assert len(set(listed)) == len(listed)
    for entry in _index()["files"]:
        assert {"kind", "type", "outcome", "expect"} <= set(entry)


def test_each_type_has_valid_invalid_lifecycles_and_events() -> None:
    contract = load_contract()
    for rtype in contract.request_types:
        assert len(_entries(kind="request", type=rtype, valid=True)) >= 5
        assert len(_entries(kind="request", type=rtype, valid=False)) >= 10
        assert {e["outcome"] for e in _entries(kind="lifecycle", type=rtype)} == {"pending", "approved", "rejected", "failed"}
        assert {e["outcome"] for e in _entries(kind="event", type=rtype)} == {"AdminTask", "approved", "rejected", "failed"}
    assert {e["path"].split("/")[2] for e in _entries(kind="request", valid=True)} == set(contract.request_types)
    assert all("/valid/" in e["path"] for e in _entries(valid=True))
    assert all("/invalid/" in e["path"] for e in _entries(valid=False))


def test_valid_request_fixtures_validate() -> None:
    contract = load_contract()
    for entry in _entries(kind="request", valid=True):
        fixture = _load(entry)
        schema = contract.request_types[entry["type"]]["schemaName"]
        assert contract.component_validator(schema).violations(fixture["body"]) == [], entry["path"]
        assert contract.create_operation(entry["type"]).body.is_valid(fixture["body"]), entry["path"]


def test_invalid_request_fixtures_fail_with_their_labelled_code() -> None:
    contract = load_contract()
    for entry in _entries(kind="request", valid=False):
        fixture = _load(entry)
        create = contract.create_operation(entry["type"])
        schema = contract.request_types[entry["type"]]["schemaName"]
        found = contract.component_validator(schema).violations(fixture["body"])
        assert found, entry["path"]
        assert {v.code or DEFAULT_CODE for v in found} == {fixture["expect"]["code"]}, entry["path"]
        assert fixture["expect"]["message"] == contract.workflow_errors[fixture["expect"]["code"]]
        error = {"errors": [{"status": False, "code": fixture["expect"]["code"], "message": fixture["expect"]["message"]}]}
        assert create.response_validator(fixture["expect"]["status"]).is_valid(error), entry["path"]


def test_lifecycles_and_events_validate() -> None:
    contract = load_contract()
    for entry in _entries(kind="lifecycle"):
        transcript = _load(entry)
        assert transcript_problems(contract, transcript) == [], entry["path"]
        assert transcript["steps"][-1]["response"]["body"]["data"]["state"] == entry["expect"]["state"]
    event_schema = contract.webhook().body
    for entry in _entries(kind="event"):
        event = _load(entry)["event"]
        assert event_schema.violations(event) == [], entry["path"]
        assert event["data"]["currentRequestState"] == entry["outcome"]


def test_legacy_fixtures_validate_and_carry_their_labels() -> None:
    contract = load_contract()
    for entry in _entries(kind="legacy"):
        fixture = _load(entry)
        assert fixture["expect"] == entry["expect"], entry["path"]
        for index, step in enumerate(fixture["steps"]):
            op = contract.operations[step["operationId"]]
            broken = op.body.violations(step["request"]["body"])
            last = index == len(fixture["steps"]) - 1
            assert bool(broken) == (last and not entry["valid"]), (entry["path"], step["step"], broken)
            answer = step["response"]
            assert op.response_validator(answer["status"]).violations(answer["body"]) == [], entry["path"]
        answer = fixture["steps"][-1]["response"]
        items = answer["body"]["response"].get("requests", {}).get("request", [])
        assert {"status": answer["status"], "code": answer["body"]["response"]["status"]["code"],
                "items": [i["item_status"]["code"] for i in items]} == entry["expect"], entry["path"]


def test_legacy_fixtures_cover_every_batch_answer_and_item_code() -> None:
    contract = load_contract()
    valid = _entries(kind="legacy", valid=True)
    assert {e["type"] for e in valid} == {"addLegacyRequests", "approveLegacyRequests", "rejectLegacyRequests"}
    assert any(e.get("mock") == {"examples": True} for e in valid)
    invalid = _entries(kind="legacy", valid=False)
    assert {(e["expect"]["status"], e["expect"]["code"]) for e in invalid} == {(400, 400), (400, 500), (200, 201)}
    codes = {c for e in invalid for c in e["expect"]["items"]}
    assert {9006, 9008, 9009, 9017, 9019, 9040, 9043, 9050} <= codes
    assert codes <= set(contract.legacy_item_errors) | {9000}
    for entry in invalid:
        assert entry["path"].startswith(f"legacy/invalid/{entry['type'][:-len('LegacyRequests')]}/"), entry["path"]


def test_invalid_decision_fixtures_fail_with_their_labelled_code() -> None:
    contract = load_contract()
    entries = _entries(kind="decision")
    assert len(entries) >= 10 and all(e["path"].startswith("decisions/invalid/") for e in entries)
    for entry in entries:
        fixture = _load(entry)
        decide = contract.operations[fixture["operationId"]]
        assert contract.workflow_role(decide.operation_id)[0] == "decide"
        found = decide.body.violations(fixture["body"])
        assert {v.code or DEFAULT_CODE for v in found} == {fixture["expect"]["code"]}, entry["path"]
        assert fixture["expect"]["message"] == contract.workflow_errors[fixture["expect"]["code"]]
        error = {"errors": [{"status": False, "code": fixture["expect"]["code"], "message": fixture["expect"]["message"]}]}
        assert decide.response_validator(fixture["expect"]["status"]).is_valid(error), entry["path"]


def test_cli_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert fixtures_cli.main(["--out", str(tmp_path / "a"), "--seed", "7"]) == 0
    assert fixtures_cli.main(["--out", str(tmp_path / "b"), "--seed", "7"]) == 0
    assert fixtures_cli.main(["--out", str(tmp_path / "c"), "--seed", "8"]) == 0
    assert "wrote" in capsys.readouterr().out
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c


def test_cli_refuses_a_negative_seed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert fixtures_cli.main(["--out", str(tmp_path), "--seed", "-1"]) == 2
    assert "--seed" in capsys.readouterr().err
