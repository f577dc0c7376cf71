"""Lifecycle transcripts (pending, approved, rejected, failed) built from the spec.

Each transcript is the calls a maker and a checker make, the answers, and the webhook events
the state changes raise. Answers reuse the spec's own examples where the spec has one for
that type and outcome (the wrapped call's output); ids and times come from the seed, never
from the clock. Every answer and event is validated against the spec before it is written.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from capillary_contract.loader import Contract
from mockserver.identity import basic_authorization
from contracts.fixtures_schema import resolve

ORG_ID = 51250
MAKER = {"user": "maker", "password": "maker", "id": 232134}
CHECKER = {"user": "checker", "password": "checker", "id": 233253}
BASE_PATH = "/api_gateway/v2/request-workflow"
EPOCH = datetime(2024, 1, 15, 9, 0, 0, tzinfo=timezone.utc)
OUTCOMES = ("pending", "approved", "rejected", "failed")
DECISION = {"approved": "approved", "failed": "approved", "rejected": "rejected"}
# How a transcript asks the mock for a failed wrapped call (documented on adminAddFault).
FORCE_FAILURE = {"X-Mock-Outcome": "failure"}


def basic(identity: dict[str, Any]) -> str:
    return basic_authorization(identity["user"], identity["password"])


def headers(identity: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Authorization": basic(identity), "Content-Type": "application/json",
            "X-CAP-API-AUTH-ORG-ID": str(ORG_ID), **(extra or {})}


def decision_body(request_id: str, outcome: str, rtype: str) -> dict[str, Any]:
    verb = "approving" if DECISION[outcome] == "approved" else "rejecting"
    return {"requestId": request_id, "actionName": "AdminTask",
            "payload": {"AdminTask-Payload": {"actionDecision": DECISION[outcome],
                                              "actionMessage": f"{verb} the {rtype.lower()} request"}}}


class Clock:
    """Seeded ids and a clock that only moves forward, a few seconds per step."""

    def __init__(self, seed: int, rtype: str, outcome: str):
        self.rng = random.Random(f"{seed}:{rtype}:{outcome}:lifecycle")
        self.now = EPOCH + timedelta(minutes=self.rng.randrange(60 * 24 * 30))

    def uuid(self, version: int = 4) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=version))

    def hex(self) -> str:
        return "%032x" % self.rng.getrandbits(128)

    def tick(self) -> None:
        self.now += timedelta(seconds=self.rng.randrange(2, 600))

    def local(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%S")

    def millis(self) -> int:
        return int(self.now.timestamp() * 1000)

    def http_date(self) -> str:
        return self.now.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _spec_outputs(contract: Contract) -> dict[tuple[str, str], dict[str, Any]]:
    """The spec's IntouchAPITask_Output examples by (response type name, state)."""
    content = resolve(contract, contract.operations["decideRequest"].raw["responses"]["200"])["content"]
    out = {}
    for _, example in sorted(content["application/json"].get("examples", {}).items()):
        data = example["value"]["data"]
        if "IntouchAPITask_Output" in data["details"]:
            out.setdefault((data["requestType"], data["state"]), data["details"]["IntouchAPITask_Output"])
    return out


def _output(contract: Contract, info: dict[str, Any], state: str, clock: Clock) -> dict[str, Any]:
    spec = _spec_outputs(contract).get((info["responseName"], state))
    ok = state == "approved"
    body = spec["body"] if spec else ({"warnings": []} if ok else {
        "errors": [{"status": False, "code": 500, "message": "Request failed"}], "warnings": []})
    status = int(spec["status"]) if spec else (200 if ok else 500)
    request_id = clock.hex()
    return {"status": status, "body": body, "headers": {
        "Date": [clock.http_date()], "Content-Type": ["application/json; charset=UTF-8"],
        "X-CAP-REQUEST-ID": [request_id], "X-Cap-RequestID": [request_id],
        "success": ["1" if ok else "0"], "fail": ["0" if ok else "1"]}}


def _event(document: dict[str, Any], info: dict[str, Any], previous: str | None,
           comment: str | None, clock: Clock) -> dict[str, Any]:
    call = document["details"]["IntouchAPITask-Payload"]
    attributes = {"queryParams": call["queryParams"]} if call.get("queryParams") else {}
    data: dict[str, Any] = {"requestId": document["requestId"], "requestType": info["eventName"],
                            "requesterId": document["userId"], "currentRequestState": document["state"],
                            "updateTime": clock.millis(), "requestAttributes": {**attributes, "body": call["body"]}}
    if previous is not None:
        data.update(previousRequestState=previous, checkerId=CHECKER["id"], comment=comment)
    return {"eventName": "requestWorkflowEvent", "eventId": clock.uuid(), "orgId": ORG_ID,
            "refId": f"{ORG_ID}_{document['requestId']}", "apiRequestId": clock.hex(),
            "createdAt": clock.millis(), "data": data, "loyaltyEventId": None}


def synthetic_transcript(contract: Contract, rtype: str, outcome: str, body: dict[str, Any],
                         seed: int) -> dict[str, Any]:
    """One lifecycle of `rtype` ending in `outcome`, built from the spec alone."""
    info = contract.request_types[rtype]
    clock = Clock(seed, rtype, outcome)
    request_id = clock.uuid(version=1)
    document = {"requestId": request_id, "userId": MAKER["id"], "userName": MAKER["user"],
                "requestType": info["responseName"], "state": "AdminTask", "startTime": clock.local(),
                "endTime": None, "details": {"IntouchAPITask-Payload": body["payload"]["IntouchAPITask-Payload"],
                                             "ValidateMakerAccess_Output": True, "ValidatePayload_Output": True}}
    steps = [{"step": "create", "as": "maker",
              "request": {"method": "POST", "path": f"{BASE_PATH}/{rtype}", "headers": headers(MAKER), "body": body},
              "response": {"status": 200, "body": {"data": document}}}]
    events = [_event(document, info, None, None, clock)]
    if outcome != "pending":
        clock.tick()
        decision = decision_body(request_id, outcome, rtype)
        admin = decision["payload"]["AdminTask-Payload"]
        decided = {**document, "state": outcome, "endTime": clock.local(),
                   "details": {**document["details"], "AdminTask-Payload": admin,
                               "AdminTask_Output": admin["actionDecision"], "ValidateCheckerAccess_Output": True}}
        if outcome != "rejected":
            decided["details"]["IntouchAPITask_Output"] = _output(contract, info, outcome, clock)
        extra = FORCE_FAILURE if outcome == "failed" else None
        steps.append({"step": "decide", "as": "checker",
                      "request": {"method": "PUT", "path": f"{BASE_PATH}/{rtype}",
                                  "headers": headers(CHECKER, extra), "body": decision},
                      "response": {"status": 200, "body": {"data": decided}}})
        events.append(_event(decided, info, "AdminTask", admin["actionMessage"], clock))
        document = decided
    steps.append({"step": "get", "as": "checker",
                  "request": {"method": "GET", "path": f"{BASE_PATH}/requests/{request_id}",
                              "headers": headers(CHECKER), "body": None},
                  "response": {"status": 200, "body": {"data": document}}})
    return {"requestType": rtype, "outcome": outcome, "orgId": ORG_ID, "source": "spec",
            "steps": steps, "events": events}


def transcript_problems(contract: Contract, transcript: dict[str, Any]) -> list[str]:
    """Every way a transcript's answers or events disagree with the spec (empty when none)."""
    ops = {("POST", "create"): "createRequest", ("PUT", "decide"): "decideRequest", ("GET", "get"): "getRequest"}
    problems = []
    for step in transcript["steps"]:
        op = contract.operations[ops[(step["request"]["method"], step["step"])]]
        if step["request"]["body"] is not None and op.body is not None:
            problems += [f"{step['step']} request {v.field}: {v.detail}" for v in op.body.violations(step["request"]["body"])]
        validator = op.response_validator(step["response"]["status"])
        if validator is not None:
            problems += [f"{step['step']} response {v.field}: {v.detail}"
                         for v in validator.violations(step["response"]["body"])]
    event_validator = contract.webhook().body
    for event in transcript["events"]:
        problems += [f"event {v.field}: {v.detail}" for v in event_validator.violations(event)]
    return problems
