"""The committed fixtures are the default seed's output, and each one says the truth about the spec."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import fixtures_cli
from contracts.fixtures import DEFAULT_SEED, generate
from contracts.fixtures_lifecycle import transcript_problems
from contracts.fixtures_invalid import DEFAULT_CODE
from mockserver.contract import load_contract

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
        assert contract.operations["createRequest"].body.is_valid(fixture["body"]), entry["path"]


def test_invalid_request_fixtures_fail_with_their_labelled_code() -> None:
    contract = load_contract()
    create = contract.operations["createRequest"]
    for entry in _entries(kind="request", valid=False):
        fixture = _load(entry)
        schema = contract.request_types[entry["type"]]["schemaName"]
        found = contract.component_validator(schema).violations(fixture["body"])
        assert found, entry["path"]
        assert {v.code or DEFAULT_CODE for v in found} == {fixture["expect"]["code"]}, entry["path"]
        assert fixture["expect"]["message"] == contract.workflow_errors[fixture["expect"]["code"]]
        error = {"errors": [{"status": False, "code": fixture["expect"]["code"], "message": fixture["expect"]["message"]}]}
        assert create.response_validator(fixture["expect"]["status"]).is_valid(error), entry["path"]


def test_lifecycles_events_and_legacy_answers_validate() -> None:
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
    for entry in _entries(kind="legacy"):
        fixture = _load(entry)
        op = contract.operations[fixture["operationId"]]
        assert op.body.violations(fixture["request"]["body"]) == [], entry["path"]
        assert op.response_validator(fixture["response"]["status"]).violations(fixture["response"]["body"]) == []


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
