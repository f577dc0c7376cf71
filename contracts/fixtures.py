"""`contracts fixtures`: deterministic request, lifecycle, event and v1.1 fixtures from openapi.yaml.

The same seed gives byte-identical files (sorted keys, two-space indent, UTF-8, ids and
times from the seed); `fixtures/` in the repository is the default seed's output and a test
regenerates it to prove it has not drifted from the spec. Layout under the output folder:

    index.json                                   manifest: every file, its kind, type, expected outcome
    requests/valid/<TYPE>/<name>.json            create bodies the mock accepts (200, AdminTask)
    requests/invalid/<TYPE>/<field>--<rule>.json create bodies it refuses, with status and code
    lifecycles/<TYPE>/<outcome>.json             pending | approved | rejected | failed transcripts
    events/<TYPE>/<state>.json                   one requestWorkflowEvent per state
    decisions/invalid/<field>--<rule>.json       decision (PUT) bodies it refuses, with status and code
    legacy/valid/<flow>.json                     v1.1 add → approve / reject transcripts, seed approvals
    legacy/invalid/<verb>/<name>.json            v1.1 batches with a broken envelope or item, with the
                                                 HTTP status, batch status code and item codes
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable

from capillary_contract.loader import Contract, load_contract
from contracts.fixtures_bodies import valid_bodies
from contracts.fixtures_invalid import invalid_bodies
from contracts.fixtures_decisions import OPERATION as DECIDE, invalid_decisions
from contracts.fixtures_legacy import valid_scripts
from contracts.fixtures_legacy_invalid import invalid_scripts
from contracts.fixtures_legacy_recorded import LegacyRecorder
from contracts.fixtures_lifecycle import OUTCOMES, synthetic_transcript, transcript_problems

DEFAULT_OUT = Path("fixtures")
DEFAULT_SEED = 0
SUBFOLDERS = ("requests", "lifecycles", "events", "decisions", "legacy")
EVENT_STATE = {"pending": "AdminTask", "approved": "approved", "rejected": "rejected", "failed": "failed"}

# How lifecycle transcripts are made: (contract, type, outcome, body, seed) -> transcript.
# Recorded from the in-process mock when the mock is installed, else built from the spec.
TranscriptMaker = Callable[[Contract, str, str, dict, int], dict]


def _mock_recorder() -> Any:
    try:
        from contracts.fixtures_recorded import MockRecorder
        return MockRecorder()
    except ImportError:
        return None


def dumps(document: Any) -> str:
    """The one serialisation every fixture uses: stable bytes for stable input."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class Writer:
    """Writes fixture files and remembers each one for the manifest."""

    def __init__(self, out: Path):
        self.out = out
        self.entries: list[dict[str, Any]] = []

    def write(self, relative: str, document: Any, **entry: Any) -> None:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(document), encoding="utf-8")
        self.entries.append({"path": relative, **entry})


def _spec_digest(contract: Contract) -> str:
    return hashlib.sha256(Path(contract.source).read_bytes()).hexdigest()


def generate(out: Path | str = DEFAULT_OUT, seed: int = DEFAULT_SEED, contract: Contract | None = None,
             transcripts: TranscriptMaker | None = None) -> list[dict[str, Any]]:
    """Write the whole fixture set for `seed` under `out`; returns the manifest entries."""
    contract = contract or load_contract()
    recorder = _mock_recorder() if transcripts is None else None
    try:
        return _generate(Path(out), seed, contract, transcripts or recorder or synthetic_transcript)
    finally:
        if recorder is not None:
            recorder.close()


def _generate(out: Path, seed: int, contract: Contract, make: TranscriptMaker) -> list[dict[str, Any]]:
    for folder in SUBFOLDERS:
        shutil.rmtree(out / folder, ignore_errors=True)
    writer = Writer(out)
    valid = valid_bodies(contract, seed)
    _write_valid(contract, writer, valid)
    bases = {}
    for body in valid:
        bases.setdefault(body.request_type, body.body)
    _write_invalid(contract, writer, bases)
    _write_lifecycles(contract, writer, bases, seed, make)
    _write_decisions(contract, writer)
    _write_legacy(contract, writer, seed)
    index = {"generator": "contracts fixtures", "seed": seed, "spec": {"path": "openapi.yaml",
             "sha256": _spec_digest(contract)}, "count": len(writer.entries),
             "files": sorted(writer.entries, key=lambda e: e["path"])}
    (out / "index.json").write_text(dumps(index), encoding="utf-8")
    return index["files"]


def _write_valid(contract: Contract, writer: Writer, valid: list) -> None:
    for item in valid:
        info = contract.request_types[item.request_type]
        problems = contract.component_validator(info["schemaName"]).violations(item.body)
        if problems:
            raise ValueError(f"valid fixture {item.request_type}/{item.name} does not validate: {problems}")
        writer.write(f"requests/valid/{item.request_type}/{item.name}.json",
                     {"requestType": item.request_type, "name": item.name, "source": item.source,
                      "request": {"method": "POST", "path": f"/api_gateway/v2/request-workflow/{item.request_type}"},
                      "body": item.body, "expect": {"status": 200, "state": "AdminTask"}},
                     kind="request", type=item.request_type, valid=True, outcome="accepted",
                     expect={"status": 200, "state": "AdminTask"})


def _write_invalid(contract: Contract, writer: Writer, bases: dict[str, Any]) -> None:
    for item in invalid_bodies(contract, bases):
        expect = {"status": item.status, "code": item.code, "message": item.message}
        writer.write(f"requests/invalid/{item.request_type}/{item.name}.json",
                     {"requestType": item.request_type, "name": item.name,
                      "breaks": {"rule": item.rule, "field": item.field, "detail": item.detail},
                      "request": {"method": "POST", "path": f"/api_gateway/v2/request-workflow/{item.request_type}"},
                      "body": item.body, "expect": expect},
                     kind="request", type=item.request_type, valid=False, outcome="refused",
                     rule=item.rule, field=item.field, expect={"status": item.status, "code": item.code})


def _write_lifecycles(contract: Contract, writer: Writer, bases: dict[str, Any], seed: int,
                      make: TranscriptMaker) -> None:
    for rtype, body in bases.items():
        for outcome in OUTCOMES:
            transcript = make(contract, rtype, outcome, body, seed)
            problems = transcript_problems(contract, transcript)
            if problems:
                raise ValueError(f"lifecycle {rtype}/{outcome} disagrees with the spec: {problems}")
            final = transcript["steps"][-1]["response"]["body"]["data"]
            writer.write(f"lifecycles/{rtype}/{outcome}.json", transcript, kind="lifecycle", type=rtype,
                         outcome=outcome, expect={"state": final["state"], "requestId": final["requestId"],
                                                  "events": len(transcript["events"])})
            event = transcript["events"][-1]
            state = EVENT_STATE[outcome]
            writer.write(f"events/{rtype}/{state}.json",
                         {"requestType": rtype, "state": state, "from": f"lifecycles/{rtype}/{outcome}.json",
                          "event": event},
                         kind="event", type=rtype, outcome=state, expect={"state": event["data"]["currentRequestState"]})


def _write_decisions(contract: Contract, writer: Writer) -> None:
    path = contract.operations[DECIDE].path
    for item in invalid_decisions(contract):
        expect = {"status": item.status, "code": item.code, "message": item.message}
        writer.write(f"decisions/invalid/{item.name}.json",
                     {"operationId": DECIDE, "name": item.name,
                      "breaks": {"rule": item.rule, "field": item.field, "detail": item.detail},
                      "request": {"method": "PUT", "path": path.replace("{requestType}", item.request_type)},
                      "body": item.body, "expect": expect},
                     kind="decision", type=DECIDE, valid=False, outcome="refused",
                     rule=item.rule, field=item.field, expect={"status": item.status, "code": item.code})


def _write_legacy(contract: Contract, writer: Writer, seed: int) -> None:
    recorder = LegacyRecorder()
    try:
        for script in [*valid_scripts(contract, seed), *invalid_scripts(contract, seed)]:
            fixture = recorder.record(contract, script)
            valid = script.breaks is None
            entry = {"kind": "legacy", "type": script.operation_id, "valid": valid,
                     "outcome": "accepted" if valid else "partly refused" if script.expect["code"] == 201 else "refused",
                     "expect": script.expect}
            if script.examples:
                entry["mock"] = {"examples": True}
            if not valid:
                entry.update(rule=script.breaks["rule"], field=script.breaks["field"])
            writer.write(f"legacy/{script.folder}/{script.name}.json", fixture, **entry)
    finally:
        recorder.close()
